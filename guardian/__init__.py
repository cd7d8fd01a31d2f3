"""CloudTrail Guardian runtime: heals tampered CloudTrail trails, alerts, and keeps evidence.

This package is the Lambda asset. It depends on the standard library and boto3 only, and never on the CDK.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
