"""Which addresses the crawler may connect to, enforced where the socket is opened.

Link-local and cloud-metadata addresses are always refused; ``crawl.deny_networks`` adds
more. The check runs on the resolved address inside the connection itself, so a DNS name
or a redirect that leads to a forbidden address is refused too, and the address checked is
the address connected to (no second lookup an attacker could answer differently).

An IPv6 address can carry an IPv4 one (``::ffff:a.b.c.d``, ``::a.b.c.d``, NAT64
``64:ff9b::a.b.c.d``, 6to4, Teredo), and a NAT64 gateway or a dual-stack host turns it into
a connection to that IPv4 address: the embedded address is checked as well.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

from bot.errors import ForbiddenAddress

__all__ = ["ForbiddenAddress", "AddressPolicy", "GuardedBackend", "ALWAYS_DENIED", "embedded_ipv4"]

ALWAYS_DENIED = (
    "169.254.0.0/16",  # link-local: AWS, GCP, Azure IMDS, OpenStack metadata at 169.254.169.254
    "fe80::/10",  # IPv6 link-local
    "fd00:ec2::254/128",  # AWS IMDS over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",  # Azure wire server (platform agent, DNS, health probes)
    "192.0.0.192/32",  # Oracle Cloud metadata
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: prefix length chosen by the operator
_RFC6052_LENGTHS = (48, 56, 64, 96)  # the lengths RFC 6052 allows that fit inside 64:ff9b:1::/48
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address that connecting to ``address`` may reach instead."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # ::a.b.c.d, not :: or ::1
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _NAT64_LOCAL:
        found += [_rfc6052_ipv4(address, length) for length in _RFC6052_LENGTHS]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.append(address.teredo[1])
    return found


def _rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address after a NAT64 prefix of ``prefix_length`` bits (bits 64-71 are skipped)."""
    bits = f"{int(address):0128b}"
    if prefix_length == 96:
        return ipaddress.IPv4Address(int(bits[96:], 2))
    without_u = bits[:64] + bits[72:]
    return ipaddress.IPv4Address(int(without_u[prefix_length : prefix_length + 32], 2))


class AddressPolicy:
    def __init__(self, deny_networks: Iterable[str] = ()) -> None:
        self.denied = [ipaddress.ip_network(net, strict=False) for net in (*ALWAYS_DENIED, *deny_networks)]

    def is_denied(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            candidates += embedded_ipv4(address)  # ::ffff:169.254.169.254 is 169.254.169.254
        return any(a.version == net.version and a in net for a in candidates for net in self.denied)

    def resolve(self, host: str, port: int) -> str:
        """An allowed address for ``host``; ForbiddenAddress if any of its addresses is denied."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        denied = [str(a) for a in addresses if self.is_denied(a)]
        if denied:
            raise ForbiddenAddress(f"{host} resolves to {denied[0]}, a link-local, metadata or denied address")
        return str(addresses[0])


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self.policy.resolve(host, port)
        # TLS still uses the host name: httpcore passes it to start_tls() separately.
        return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise ForbiddenAddress("unix sockets are not crawled")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)
