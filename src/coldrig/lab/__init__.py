"""The lab: local QEMU nodes and a real authoritative DNS server.

The lab is coldrig's embedded default provider. It needs no cloud account:
nodes are QEMU virtual machines booted from a Debian 12 image that the lab
builds with debootstrap and caches, and the DNS provider is a Knot DNS server
on 127.0.0.1 that accepts TSIG-signed RFC 2136 updates.
"""

from coldrig.lab.errors import LabError

__all__ = ["LabError"]
