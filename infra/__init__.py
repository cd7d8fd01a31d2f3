"""CDK constructs and stacks for CloudTrail Guardian. Ships ``guardian/`` as a Lambda asset; never imports it."""
