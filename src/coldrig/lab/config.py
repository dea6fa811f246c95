"""Where the lab keeps its files and what a node looks like by default.

Two directories matter:

* the lab directory (``COLDRIG_LAB_DIR``, default
  ``$XDG_STATE_HOME/coldrig/lab``): one running lab, its state file, keys,
  overlays, logs, the DNS server's data and the ACME server's files.
  ``coldrig lab down`` empties it.
* the cache directory (``COLDRIG_CACHE_DIR``, default
  ``$XDG_CACHE_HOME/coldrig``): prepared images, shared by every lab on the
  machine (the demo lab, each molecule scenario), so a new lab costs seconds.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

DEFAULT_DOMAIN = "lab.coldrig.test"
# Each node gets its own loopback address in this /24; it plays the part of
# the node's public IPv4 address, so its PTR lives in the matching reverse zone.
NODE_NET_PREFIX = "127.0.100."
# Ports forwarded from <node address>:<host port> to the guest's port. ssh_alt is
# forwarded to the same port on both sides, so that an SSH port change (the harden
# role's harden_ssh_port) can be made and followed in the lab as on a real server.
FORWARDS = {
    "ssh": (2222, 22),
    "ssh_alt": (2022, 2022),
    "smtp": (2525, 25),
    "submissions": (4465, 465),
    "submission": (5587, 587),
    "imaps": (9993, 993),
    "http": (8080, 80),
    "https": (8443, 443),
}
DNS_PORT_FIRST = 10053
# The lab's ACME server (pebble): its ACME API and its management API, each on the
# first free port from these.
ACME_PORT_FIRST = 14000
ACME_MANAGEMENT_PORT_FIRST = 15000
# QEMU user networking: from inside a node, the host's loopback (where the lab's DNS
# and ACME servers listen) is this address.
HOST_FROM_NODE = "10.0.2.2"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_lab_dir() -> Path:
    env = os.environ.get("COLDRIG_LAB_DIR")
    if env:
        return Path(env)
    return _xdg("XDG_STATE_HOME", ".local/state") / "coldrig" / "lab"


def default_cache_dir() -> Path:
    env = os.environ.get("COLDRIG_CACHE_DIR")
    if env:
        return Path(env)
    return _xdg("XDG_CACHE_HOME", ".cache") / "coldrig"


def reverse_zone() -> str:
    """The reverse zone that holds the PTR records of the node addresses."""
    octets = NODE_NET_PREFIX.rstrip(".").split(".")
    return ".".join(reversed(octets)) + ".in-addr.arpa"


@dataclasses.dataclass
class LabConfig:
    """What ``coldrig lab up`` builds. Every field has a command-line flag."""

    lab_dir: Path = dataclasses.field(default_factory=default_lab_dir)
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    domain: str = DEFAULT_DOMAIN
    memory_mb: int = 1024
    cpus: int = 2
    accel: str = os.environ.get("COLDRIG_LAB_ACCEL", "auto")
    # The image flavour of new nodes: "base" (bare Debian 12) or "mail" (the roles' packages
    # already installed, for the tests); COLDRIG_LAB_IMAGE sets it for every command.
    image: str = os.environ.get("COLDRIG_LAB_IMAGE", "base")
    extra_zones: tuple[str, ...] = ()
    dns_port: int | None = None  # None: the first free port from DNS_PORT_FIRST
    boot_timeout: float = 240.0

    @property
    def zones(self) -> list[str]:
        seen: list[str] = []
        for zone in (self.domain, reverse_zone(), *self.extra_zones):
            zone = zone.rstrip(".").lower()
            if zone not in seen:
                seen.append(zone)
        return seen
