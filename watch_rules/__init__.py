"""Watch rules: API calls to alert on, kept in a file outside the code (``rules/watch.json``), in EventBridge's
pattern vocabulary.

Read by the CDK app at synth (compiled to EventBridge rules, a compiled copy shipped in the function's asset) and
by the console (``guardian rules check`` and ``test``). Standard library only; never imports ``guardian`` or
``infra``, which both import it.
"""
