"""Local simulation of a guardian deployment: moto_server on 127.0.0.1, the real synthesized template, an attacker.

Not shipped to Lambda. Used by ``make demo``, the end-to-end test and the benchmark.
"""
