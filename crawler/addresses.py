"""Which IP addresses count as public: the rule of the private-network guard.

Apart from `crawler.netguard` (httpx) so that the spider child can use it
without importing httpx.
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: Address) -> bool:
    """True for a globally routable unicast address.

    Loopback, private, link-local, shared (100.64/10), reserved, unspecified
    and multicast addresses are not; an IPv4-mapped IPv6 address is judged
    as its IPv4 address.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal(host: str) -> Address | None:
    """The address `host` spells (brackets and an IPv6 zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
