"""Fixtures of the channel tests: the real SMTP servers and Alertmanager from `servers.py`."""

from tests.alerts.channels.servers import alertmanager, inbox, tls_inbox  # noqa: F401  (fixtures)
