"""The pure model: events, the decision table and the decision, baselines and their comparisons, alerts and evidence
records. No boto3, no environment, no I/O: every module here is tested over plain data."""
