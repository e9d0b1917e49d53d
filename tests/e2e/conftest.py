"""Fixtures of the end-to-end tests: the real SMTP server and Alertmanager the channel tests use."""

from tests.alerts.channels.servers import alertmanager, inbox  # noqa: F401  (fixtures)
