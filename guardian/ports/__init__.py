"""The ports: the narrow interfaces the flows call, and what one run brings (the clock, a way to wait, who it is).

Each flow names the few interfaces it uses; the adapters in :mod:`guardian.adapters` implement them all. Nothing
here talks to AWS: a test hands a flow a small fake with just the methods its interfaces name.
"""
