"""moto_server in a process of its own, with the simulation's bridges to AWS's answers applied
(:func:`simulation.moto_server.cloudtrail_as_aws`, :func:`~simulation.moto_server.s3_versions_by_prefix`):
``python -m simulation.serve -H 127.0.0.1 -p PORT``.

The benchmark serves from here so the server's CPU is not the client's, and the guardian sends the requests it
sends in AWS. One cost remains that AWS does not have: werkzeug, which moto_server runs on, closes the connection
after every response, so each request opens a TCP connection (botocore keeps its connections to AWS).
"""

from __future__ import annotations

import sys

from moto.server import main

from simulation.moto_server import cloudtrail_as_aws, s3_versions_by_prefix

if __name__ == "__main__":
    with cloudtrail_as_aws(), s3_versions_by_prefix():
        main(sys.argv[1:])
