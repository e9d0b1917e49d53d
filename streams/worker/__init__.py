"""The worker: the Faust app's stages and the Kafka plumbing that only the worker needs."""
