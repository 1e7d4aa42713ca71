"""Which addresses the crawler may connect to, enforced where the socket is opened.

Link-local and cloud-metadata addresses are always refused; ``crawl.deny_networks`` adds
more. The check runs on the resolved address inside the connection itself, so a DNS name
or a redirect that leads to a forbidden address is refused too, and the address checked is
the address connected to (no second lookup an attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

__all__ = ["ForbiddenAddress", "AddressPolicy", "GuardedTransport", "ALWAYS_DENIED"]

ALWAYS_DENIED = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(Exception):
    """The crawler refused to connect: the host resolves to a denied network."""


class AddressPolicy:
    def __init__(self, deny_networks: Iterable[str] = ()) -> None:
        self.denied = [ipaddress.ip_network(net, strict=False) for net in (*ALWAYS_DENIED, *deny_networks)]

    def is_denied(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        return any(address.version == net.version and address in net for net in self.denied)

    def resolve(self, host: str, port: int) -> str:
        """An allowed address for ``host``; ForbiddenAddress if any of its addresses is denied."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        denied = [str(a) for a in addresses if self.is_denied(a)]
        if denied:
            raise ForbiddenAddress(f"{host} resolves to {denied[0]}, a link-local, metadata or denied address")
        return str(addresses[0])


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        address = self.policy.resolve(host, port)
        # TLS still uses the host name: httpcore passes it to start_tls() separately.
        return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # type: ignore[no-untyped-def]
        raise ForbiddenAddress("unix sockets are not crawled")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the address check in its connection pool.

    httpx has no public hook for the network backend, so the pool is rebuilt here with
    httpcore's public constructor; no proxy is used (a proxy would hide the real target).
    """

    def __init__(self, policy: AddressPolicy, max_connections: int = 8) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )
