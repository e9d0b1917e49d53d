"""Tests of alerts/egress.py: hostile targets refused at registration and at connect, redirects never followed.

Nothing here connects anywhere but loopback: every other address in the table is refused before a socket is
opened, which is the point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from alerts.channels.base import ChannelError, Envelope
from alerts.channels.webhook import WebhookChannel, WebhookConfig
from alerts.egress import TargetPolicy, TargetRefused, egress_client
from schemas.delivery import FailureReason
from streams.broker import LOOPBACK_NETWORKS
from tests.alerts.channels.fixtures import Receiver
from tests.alerts.conftest import T0, make_alert, make_subscription

DEFAULT = TargetPolicy()
LOCAL = TargetPolicy.from_setting(LOOPBACK_NETWORKS)

# (target URL, the reason it is refused by default): 60 forms of the addresses an attacker would try.
HOSTILE: list[tuple[str, str]] = [
    ("http://169.254.169.254/latest/meta-data/", "metadata service"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata service"),
    ("http://METADATA.GOOGLE.INTERNAL./x", "metadata service"),
    ("http://metadata/computeMetadata/v1/", "metadata service"),
    ("http://metadata.goog/", "metadata service"),
    ("http://instance-data.ec2.internal/", "metadata service"),
    ("http://[fd00:ec2::254]/latest/", "metadata service"),
    ("http://169.254.170.2/v2/credentials", "metadata service"),
    ("http://100.100.100.200/latest/meta-data", "metadata service"),
    ("http://2852039166/latest/", "metadata service"),
    ("http://0xa9fea9fe/latest/", "metadata service"),
    ("http://0251.0376.0251.0376/", "metadata service"),
    ("http://[::ffff:169.254.169.254]/", "metadata service"),
    ("http://127.0.0.1:22/", "loopback"),
    ("http://127.0.0.1:6066/api/subscriptions", "loopback"),  # the worker's own API
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.000.000.001/", "loopback"),
    ("http://127.255.255.254/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:8080/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback (127.0.0.1 inside ::ffff:7f00:1)"),
    ("http://[::ffff:7f00:1]/", "loopback (127.0.0.1 inside"),
    ("http://[::127.0.0.1]/", "loopback (127.0.0.1 inside"),
    ("http://[64:ff9b::7f00:1]/", "loopback (127.0.0.1 inside"),
    ("http://[2002:7f00:1::]/", "loopback (127.0.0.1 inside"),
    ("http://localhost/", "resolves to"),
    ("http://LocalHost:6066/", "resolves to"),
    ("http://10.0.0.1/", "private"),
    ("http://10.1/", "private"),
    ("http://012.0.0.1/", "private"),
    ("http://167772161/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://172.31.255.254/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://0xc0a80101/", "private"),
    ("http://[::ffff:10.0.0.1]/", "private (10.0.0.1 inside"),
    ("http://[::ffff:192.168.0.1]/", "private (192.168.0.1 inside"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "unique-local"),
    ("http://[fd12:3456:789a::1]/", "unique-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250:1900/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://100.64.0.1/", "not a public address"),
    ("http://192.0.2.10/", "private"),
    ("http://198.18.0.1/", "private"),
    ("https://hooks.slack.com@127.0.0.1/services/T/B/x", "loopback"),
    ("http://user:pass@10.0.0.1/", "private"),
    ("http://127.0.0.1.:8080/", "loopback"),
]


@pytest.mark.parametrize(("url", "reason"), HOSTILE, ids=[url for url, _ in HOSTILE])
async def test_hostile_targets_are_refused_at_registration_with_their_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        await DEFAULT.vet(make_subscription(url=url))
    assert reason in refused.value.reason, refused.value


def test_the_table_is_large_and_every_address_kind_is_in_it() -> None:
    reasons = {reason.split(" (")[0] for _, reason in HOSTILE}
    assert len(HOSTILE) >= 40
    assert {"metadata service", "loopback", "private", "link-local", "unique-local", "multicast",
            "unspecified", "reserved", "not a public address"} <= reasons  # fmt: skip


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T0/B0/x", "https://93.184.215.14/hook",
                                 "https://[2606:4700::6810:84e5]/hook"])  # fmt: skip
async def test_public_targets_pass_registration(url: str) -> None:
    await DEFAULT.vet(make_subscription(url=url))  # a name that does not resolve now is left to connect time


async def test_the_allowlist_opens_named_networks_only_and_never_metadata() -> None:
    policy = TargetPolicy.from_setting("10.1.2.0/24, 169.254.0.0/16 ,127.0.0.1/32")
    await policy.vet(make_subscription(url="http://10.1.2.3/hook"))
    await policy.vet(make_subscription(url="http://127.0.0.1:9093/"))
    await policy.vet(make_subscription(url="http://localhost:9093/"))
    for url, reason in [("http://10.1.3.1/", "private"), ("http://169.254.169.254/", "metadata service"),
                        ("http://127.0.0.2/", "loopback")]:  # fmt: skip
        with pytest.raises(TargetRefused, match=reason):
            await policy.vet(make_subscription(url=url))
    with pytest.raises(ValueError, match="'10.1.2.0/33' is not a network"):
        TargetPolicy.from_setting("10.1.2.0/33")


@pytest.mark.parametrize(
    "host", ["localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "127.0.0.1"]
)
async def test_the_send_checks_the_address_it_connects_to(receiver: Receiver, host: str) -> None:
    """A subscription read from the topic is not trusted: a name that passed registration and resolves to
    loopback now (DNS rebinding, here `localhost`), or any spelling of loopback, reaches nothing."""
    sub = make_subscription(url=f"http://{host}:{receiver.port}/hook")
    async with egress_client(DEFAULT) as client:
        with pytest.raises(ChannelError) as caught:
            await WebhookChannel(WebhookConfig(), client=client).send(Envelope(make_alert(), sub, "k", T0))
    assert caught.value.reason is FailureReason.CLIENT and not caught.value.retryable
    assert "target refused" in str(caught.value) and "loopback" in str(caught.value)
    assert receiver.received == []
    async with egress_client(LOCAL) as client:  # the same send, with loopback opened by the operator
        await WebhookChannel(WebhookConfig(), client=client).send(Envelope(make_alert(), sub, "k", T0))
    assert len(receiver.received) == 1


@pytest.fixture
async def redirecting(receiver: Receiver) -> AsyncIterator[str]:
    """A real server whose every answer is a redirect to the receiver."""

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(receiver.url)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


async def test_no_redirect_is_followed(redirecting: str, receiver: Receiver) -> None:
    sub = make_subscription(url=redirecting)
    async with egress_client(LOCAL) as client:
        with pytest.raises(ChannelError) as caught:
            await WebhookChannel(WebhookConfig(), client=client).send(Envelope(make_alert(), sub, "k", T0))
    assert str(caught.value) == "post webhook: HTTP 307" and caught.value.reason is FailureReason.CLIENT
    assert receiver.received == []
