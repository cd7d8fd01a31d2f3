"""The AWS adapters: the only boto3 code. Clients come from a provider that creates them lazily, so tests hand in
stubs or moto clients."""
