"""The lab: local QEMU nodes, a real authoritative DNS server and an ACME server.

The lab is coldrig's embedded default provider. It needs no cloud account:
nodes are QEMU virtual machines booted from a Debian 12 image that the lab
builds with debootstrap and caches, the DNS provider is a Knot DNS server
on 127.0.0.1 that accepts TSIG-signed RFC 2136 updates, and certificates come
from pebble, Let's Encrypt's ACME test server, through the real http-01 path.
"""

from coldrig.lab.errors import LabError

__all__ = ["LabError"]
