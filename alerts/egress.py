"""Egress: the hosts Salvo may send to on a subscriber's behalf, checked at registration and at every connect.

Anyone with the API token can add a target URL, so a target is a request Salvo makes for a stranger. By
default no HTTP target may be, or resolve to, an address that is loopback, link-local, private, unique-local,
multicast, unspecified, reserved or otherwise not public, nor a cloud metadata service. Every textual form of
an address counts (decimal `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`, short dotted `127.1`,
IPv4-mapped `[::ffff:127.0.0.1]`), because resolvers accept them all. The operator opens named networks with
`SALVO_ALLOWED_TARGET_NETWORKS` (a local Alertmanager, a test receiver); metadata services stay closed even
inside an opened network.

The check runs twice. `TargetPolicy.vet` at registration refuses what is already known to be bad. The client
from `egress_client` checks again when it connects: it resolves the name itself, checks every address, and
connects to a checked one, so a name that resolves elsewhere after registration (DNS rebinding) still gets
nowhere. That client follows no redirect and reads no proxy from the environment (a proxy would make the
checked address the proxy's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from schemas.errors import SalvoError
from schemas.secrets import mask_url
from schemas.subscription import AlertmanagerTarget, SlackTarget, Subscription, WebhookTarget

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names and addresses of cloud instance metadata services (AWS, GCP, Azure, Alibaba, Oracle, ECS tasks).
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# The loggers of the HTTP client: httpx logs every request's URL at INFO, httpcore traces at DEBUG.
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
                "httpcore.socks")  # fmt: skip
_URL = re.compile(r"https?://[^\s\"'<>]+")
# What glibc's inet_aton reads as IPv4: digits, dots and hex; anything else is a name for DNS.
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fA-FxX.]*")


class TargetRefused(SalvoError, ValueError):
    """A target host is, or resolves to, an address Salvo does not send to. Use a public address, or ask the
    operator to open its network with SALVO_ALLOWED_TARGET_NETWORKS."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"target host {host!r} refused: {reason}")
        self.host = host
        self.reason = reason


def literal_address(host: str) -> Address | None:
    """The address `host` names literally, in any form a resolver accepts, or None for a DNS name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = address.packed
    if address in _NAT64 or (packed[:12] == bytes(12) and int(address) > 1):
        return ipaddress.IPv4Address(packed[12:])
    return None


def _category(address: Address) -> str | None:
    """Why an address is not a place to send to, or None for a public one."""
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _UNIQUE_LOCAL, "unique-local"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


def parse_networks(text: str) -> tuple[Network, ...]:
    """`127.0.0.1/32,10.1.2.0/24` as networks; a ValueError names the entry that is not one."""
    networks = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ValueError(f"SALVO_ALLOWED_TARGET_NETWORKS: {entry!r} is not a network: {error}") from None
    return tuple(networks)


@dataclass(frozen=True)
class TargetPolicy:
    """Deny by default; `allowed` networks are opened by the operator (never metadata services)."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_setting(cls, text: str) -> TargetPolicy:
        """The policy of a `SALVO_ALLOWED_TARGET_NETWORKS` value (empty: nothing opened)."""
        return cls(parse_networks(text))

    def refusal(self, address: Address) -> str | None:
        """Why `address` is refused, or None if Salvo may connect to it."""
        inner = _embedded_ipv4(address)
        candidates = [address] if inner is None else [address, inner]
        if any(a in METADATA_ADDRESSES for a in candidates):
            return "metadata service"
        if any(a in network for a in candidates for network in self.allowed):
            return None
        for candidate in reversed(candidates):
            if (why := _category(candidate)) is not None:
                return why if candidate is address else f"{why} ({candidate} inside {address})"
        return None

    def check_host(self, host: str) -> Address | None:
        """Refuse a metadata name or a refused literal address; the literal address, or None for a name."""
        name = host.rstrip(".").lower()
        if name in METADATA_NAMES:
            raise TargetRefused(host, "metadata service")
        address = literal_address(name)
        if address is not None and (why := self.refusal(address)) is not None:
            raise TargetRefused(host, why)
        return address

    async def resolve(self, host: str, port: int) -> str:
        """The address to connect to for `host`: every address it resolves to must pass, or none is used.

        Raises `TargetRefused`, or `socket.gaierror` when the name does not resolve.
        """
        literal = self.check_host(host)
        if literal is not None:
            return str(literal)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for address in addresses:
            if (why := self.refusal(address)) is not None:
                raise TargetRefused(host, f"resolves to {address}: {why}")
        return str(addresses[0])

    def check_url(self, url: str) -> tuple[str, int]:
        """Refuse a URL that is not http(s) or names a refused host; its host and port."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetRefused(parts.hostname or url[:40], "only http and https URLs with a host are targets")
        self.check_host(parts.hostname)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    async def vet(self, subscription: Subscription) -> None:
        """The registration check: refuse a target whose host is, or now resolves to, a refused address.

        A name that does not resolve now is accepted: the check at connect time decides when it does.
        """
        url = target_url(subscription)
        if url is None:
            return
        host, port = self.check_url(url)
        try:
            await self.resolve(host, port)
        except socket.gaierror:
            return


def target_url(subscription: Subscription) -> str | None:
    """The URL an HTTP target sends to (secrets included), or None for e-mail and Kafka targets."""
    target = subscription.target
    if isinstance(target, WebhookTarget | SlackTarget):
        return target.url.get_secret_value()
    if isinstance(target, AlertmanagerTarget):
        return str(target.url)
    return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with every TCP connect resolved and checked by the policy first.

    TLS still verifies the certificate against the URL's host name: httpcore passes that name, not the
    address connected to, as the server name.
    """

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await asyncio.wait_for(self._policy.resolve(host, port), timeout)
        except (socket.gaierror, TimeoutError) as error:
            raise httpcore.ConnectError(f"resolve {host}: {error or 'timed out'}") from None
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused(path, "unix sockets are not targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a connection pool whose connects go through the policy.

    httpx takes no network backend, so the pool it built is replaced; `tests/alerts/test_egress.py`
    connects to `localhost` through it and fails if a later httpx stops using this pool.
    """

    def __init__(self, policy: TargetPolicy) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )


class RedactUrls(logging.Filter):
    """Masks every URL in a record (`mask_url`): a target URL is a credential, at every log level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _URL.sub(lambda found: mask_url(found.group()), message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def redact_http_logs() -> None:
    """Put `RedactUrls` on each HTTP client logger, once (a logger's filters see only its own records)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactUrls) for existing in logger.filters):
            logger.addFilter(RedactUrls())


def egress_client(policy: TargetPolicy) -> httpx.AsyncClient:
    """The HTTP client every channel sends with: policy-checked connects, no redirects, no env proxies, and
    URLs masked in the client's logs."""
    redact_http_logs()
    return httpx.AsyncClient(transport=_GuardedTransport(policy), follow_redirects=False, trust_env=False)
