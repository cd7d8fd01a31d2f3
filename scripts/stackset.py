"""``make stackset``: write the self-contained StackSet template (inline code, no bootstrap) and say how to roll it
out. Options from cdk.json's context apply (`-c key=value` pairs may be passed after ``--``).

    python scripts/stackset.py [--output build/stackset] [-c centralTopicArn=arn:...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.stackset import STACK_ID, build_stackset_app  # noqa: E402

TEMPLATE_BODY_LIMIT = 51_200  # bytes: above this a StackSet takes the template from S3 (--template-url, up to 1 MB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "stackset")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    context = json.loads((ROOT / "cdk.json").read_text()).get("context", {})
    for item in args.context:
        key, _, value = item.partition("=")
        context[key] = value
    with tempfile.TemporaryDirectory(prefix="guardian-stackset-") as outdir:
        assembly = build_stackset_app(context, outdir).synth()  # cdk-nag runs here
        template = assembly.get_stack_artifact(STACK_ID).template
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{STACK_ID}.template.json"
    path.write_text(json.dumps(template, separators=(",", ":")))
    size = path.stat().st_size
    print(f"{path} ({size / 1024:.0f} KiB; parameters: {', '.join(template.get('Parameters', {}))})")
    print(
        f"""
Roll it out (service-managed permissions, from the management account or a StackSets delegated administrator):

  # {size} bytes: {"from S3 (above the" if size > TEMPLATE_BODY_LIMIT else "S3 or inline (within the"} \
{TEMPLATE_BODY_LIMIT}-byte inline limit)
  aws s3 cp {path} s3://<your-template-bucket>/cloudtrail-guardian/{path.name}
  aws cloudformation create-stack-set --stack-set-name CloudTrailGuardian \\
      --template-url https://<your-template-bucket>.s3.amazonaws.com/cloudtrail-guardian/{path.name} \\
      --permission-model SERVICE_MANAGED --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false \\
      --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \\
      --parameters ParameterKey=HomeRegion,ParameterValue=eu-west-1 \\
          ParameterKey=Regions,ParameterValue='eu-west-1,us-east-1' \\
          ParameterKey=AlertEmail,ParameterValue=soc@example.com
  aws cloudformation create-stack-instances --stack-set-name CloudTrailGuardian \\
      --deployment-targets OrganizationalUnitIds=<ou-or-root-id> --regions eu-west-1 us-east-1 \\
      --operation-preferences MaxConcurrentPercentage=25,FailureTolerancePercentage=10
"""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
