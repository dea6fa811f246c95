"""A local simulator of the documented Hetzner Cloud API v1 -- NOT Hetzner.

A stdlib-only HTTP server on 127.0.0.1 for tests and benchmarks. It answers the way
the public API reference (https://docs.hetzner.cloud/) describes: resource roots
(``{"server": ...}``, ``{"servers": [...], "meta": {"pagination": ...}}``), the error
envelope ``{"error": {"code", "message", "details"}}`` with the documented codes,
``Authorization: Bearer <token>``, ``RateLimit-Limit``/``-Remaining``/``-Reset`` on every
answer (3600 requests an hour per token, refilled one a second; exhausted -> 429
``rate_limit_exceeded``), a ``Link`` header and ``meta.pagination`` on lists (``page``,
``per_page`` default 25, maximum 50), and Actions that run asynchronously. The real
``hcloud`` Python library, and hetzner.hcloud's inventory plugin built on it, work
against it unchanged. Covered, under ``/v1``:

* ``GET /servers`` (``name``, ``label_selector``, ``status`` repeatable, ``sort``
  ``id|name|created[:asc|:desc]`` repeatable, ``page``, ``per_page``), ``GET|PUT|DELETE
  /servers/{id}`` (PUT changes ``name``/``labels``; DELETE answers a ``delete_server``
  Action and the server is ``deleting`` until it finishes), ``POST /servers``
  (``name`` unique -> 409 ``uniqueness_error``, ``server_type``, ``image``, ``location``,
  ``ssh_keys``, ``labels``, ``user_data`` up to 32 KiB, ``networks``,
  ``start_after_create``, ``public_net.enable_ipv4/enable_ipv6``): a ``create_server``
  Action (status ``initializing``) and a ``start_server`` next Action (``starting``),
  then ``running``; ``root_password`` only when no SSH key was given;
* ``POST /servers/{id}/actions/{poweron,poweroff,shutdown,reboot,reset,change_dns_ptr}``,
  ``GET /servers/{id}/actions`` and ``/servers/{id}/actions/{action_id}``;
  ``change_dns_ptr`` takes ``ip`` (the server's IPv4, or any address in its IPv6 /64)
  and ``dns_ptr`` (a hostname, or null to reset: the default PTR for IPv4, no PTR for
  IPv6). A second Action on a server whose Action is still running -> 423 ``locked``;
* ``GET /actions?id=...`` and ``GET /actions/{id}``: ``running`` with ``progress``,
  then ``success`` (or ``error``, see ``fail_next_action``) after a configurable time or
  number of polls (``set_action_duration``);
* ``GET|POST /ssh_keys`` (``name``, ``fingerprint``, ``label_selector``, ``sort``; the
  fingerprint is the MD5 of the key blob, colon-separated, as Hetzner computes it;
  duplicate name or key -> 409 ``uniqueness_error``), ``GET|PUT|DELETE /ssh_keys/{id}``;
* ``GET /primary_ips`` (``name``, ``ip``, ``label_selector``, ``sort``), ``GET
  /primary_ips/{id}``, ``POST /primary_ips/{id}/actions/change_dns_ptr`` and its actions:
  every server's public addresses are Primary IPs (``auto_delete``), and a PTR changed
  through either endpoint shows in both;
* ``GET /server_types``, ``/locations``, ``/images`` (``name``, ``architecture``,
  ``type``), ``/networks`` (``name``, ``label_selector``) and each ``/{id}``: a fixed
  catalogue (server types ``cx22 cx23 cx32 cpx11 cpx21 cpx22 cax11 ccx13``, locations
  ``fsn1 nbg1 hel1 ash hil sin``, images ``debian-12 debian-13 ubuntu-22.04 ubuntu-24.04
  rocky-9`` for x86 and arm) plus networks seeded with ``add_network``.

Errors: 401 ``unauthorized``, 404 ``not_found``, 400 ``invalid_input`` (message
``invalid input in field '<field>': <reason>``, ``details.fields``), 400 ``json_error``,
409 ``uniqueness_error``, 423 ``locked``, 429 ``rate_limit_exceeded``; ``fail_next``
injects 429 and 5xx answers (502/504 as a gateway's plain-text page, the others in the
JSON envelope), ``fail_after_next`` a 5xx given after the request was served (a server made,
its answer lost).

Simplified on purpose:

* Addresses come from ranges reserved for testing: IPv4 from 198.18.0.0/15 (RFC 2544),
  IPv6 /64s from 2001:db8::/32 (RFC 3849), private IPs from the network's first subnet.
  ``ipv4_pool`` gives another IPv4 range, e.g. ``127.0.201.0/24``, so that a test can listen
  on the addresses its servers get (the loopback range answers on this machine).
  The default IPv4 PTR is ``static.<reversed octets>.clients.your-server.de``.
* Servers still carry the ``datacenter`` property (and Primary IPs theirs) next to
  ``location``: Hetzner removed it from the API in July 2026, but clients of that era
  (hetzner.hcloud 5.x) read it. ``HcloudSimulator(datacenter_property=False)`` answers
  as the API does after the removal. ``/datacenters`` itself is not served.
* No firewalls, volumes, placement groups, floating IPs, load balancers, ISOs or
  metrics: ids given for them on create are "not found"; Primary IPs cannot be created,
  assigned or deleted on their own; no server type changes, rebuilds or rescue mode.
* ``per_page`` above 50 is capped at 50; ``page``/``per_page`` that are not positive
  integers are ``invalid_input``. A method a known path does not take is 404
  ``not_found`` as well. ``!=`` and ``notin`` match resources without the key, as in
  Kubernetes, whose selector language Hetzner's follows.
* Action timing is per Action (``set_action_duration``), not per kind; ``shutdown``
  always succeeds and the server is ``off`` when it finishes (a real guest may ignore
  the ACPI request).
"""
from __future__ import annotations

import base64
import collections
import hashlib
import ipaddress
import json
import math
import re
import secrets
import sys
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

try:
    from tests.support.http_api import ApiSimulator, cli_parser, serve_until_signalled
except ImportError:  # run as a script, python tests/support/hcloud_sim.py: its folder is on sys.path
    from http_api import ApiSimulator, cli_parser, serve_until_signalled  # type: ignore[no-redef]

API_PREFIX = "/v1"
PAGING = (25, 50)  # default and maximum per_page, as documented for every list
RATE_LIMIT = 3600  # requests per hour and project (token), refilled gradually
USER_DATA_MAX = 32 * 1024
SERVER_STATUSES = ("initializing", "starting", "running", "stopping", "off", "deleting",
                   "migrating", "rebuilding", "unknown")
SERVER_SORT = ("id", "name", "created")
SSH_KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
DEFAULT_LOCATION = "fsn1"
HTTP_STATUS = {  # documented error code -> HTTP status
    "unauthorized": 401, "forbidden": 403, "token_readonly": 403, "resource_limit_exceeded": 403,
    "invalid_input": 400, "json_error": 400, "not_found": 404, "uniqueness_error": 409, "conflict": 409,
    "locked": 423, "protected": 423, "unsupported_error": 422, "rate_limit_exceeded": 429,
    "server_error": 500, "service_error": 503, "unavailable": 503, "maintenance": 503,
    "resource_unavailable": 503, "timeout": 504,
}

# Label rules from the "Labels" section: optional DNS-subdomain prefix + "/", a name of at
# most 63 characters, alphanumeric at both ends with "-_." inside; values likewise or empty.
_LABEL_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = re.compile(r"^(?:(?P<prefix>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)/)?(?P<name>%s)$" % _LABEL_NAME)
_LABEL_VALUE = re.compile(r"^(?:%s)?$" % _LABEL_NAME)
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SELECTOR_KEY = r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/)?%s" % _LABEL_NAME
_SEL_EQ = re.compile(r"^(%s)\s*(==|=|!=)\s*(%s)?$" % (_SELECTOR_KEY, _LABEL_NAME))
_SEL_SET = re.compile(r"^(%s)\s+(in|notin)\s*\((.*)\)$" % _SELECTOR_KEY)
_SEL_EXISTS = re.compile(r"^(!?)\s*(%s)$" % _SELECTOR_KEY)

Body = dict[str, Any]


class ApiError(Exception):
    """An error answered with Hetzner's ``{"error": {...}}`` envelope."""

    def __init__(self, code: str, message: str, details: Any = None, status: int | None = None,
                 headers: Mapping[str, str] | None = None, raw: str | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.details = details if details is not None else {}
        self.status = status or HTTP_STATUS.get(code, 400)
        self.headers = dict(headers or {})
        self.raw = raw  # a plain-text body instead of the envelope (a gateway's error page)


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError("invalid_input", "invalid input in field '%s': %s" % (field, reason),
                    {"fields": [{"name": field, "messages": [reason]}]})


def _not_found(kind: str, ident: Any) -> ApiError:
    return ApiError("not_found", "%s with ID '%s' not found" % (kind, ident))


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _public_key_fingerprint(public_key: Any) -> str:
    """Hetzner's fingerprint of an OpenSSH public key: MD5 of the key blob, colon-separated hex."""
    if not isinstance(public_key, str):
        raise _invalid("public_key", "must be a string")
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise _invalid("public_key", "invalid public key")
    try:
        blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise _invalid("public_key", "invalid public key") from None
    # the blob starts with its own type as an SSH string: uint32 length + name
    if len(blob) < 4 or blob[4:4 + int.from_bytes(blob[:4], "big")].decode("ascii", "replace") != parts[0]:
        raise _invalid("public_key", "invalid public key")
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - the documented fingerprint, not security
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _check_labels(labels: Any, field: str = "labels") -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise _invalid(field, "must be an object of string keys and values")
    for key, value in labels.items():
        match = _LABEL_KEY.match(key) if isinstance(key, str) else None
        if not match or (match.group("prefix") and len(match.group("prefix")) > 253):
            raise _invalid(field, "label key '%s' is invalid" % (key,))
        if match.group("prefix") == "hetzner.cloud" or key.startswith("hetzner.cloud/"):
            raise _invalid(field, "label key '%s' uses the reserved prefix hetzner.cloud/" % key)
        if not isinstance(value, str) or not _LABEL_VALUE.match(value):
            raise _invalid(field, "label value '%s' of key '%s' is invalid" % (value, key))
    return dict(labels)


def _valid_hostname(name: Any) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 253 at most."""
    return (isinstance(name, str) and 0 < len(name) <= 253 and not name.endswith(".")
            and all(_HOST_LABEL.match(label) for label in name.split(".")))


# ------------------------------------------------------------ label selector
def _split_selector(text: str) -> list[str]:
    """Split on commas that are not inside the parentheses of an ``in``/``notin`` set."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced ')'")
        elif char == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError("unbalanced '('")
    terms.append(text[start:])
    return terms


def parse_label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate on a label dict from Hetzner's label selector language; ValueError when invalid."""
    preds: list[Callable[[Mapping[str, str]], bool]] = []
    for raw in _split_selector(text):
        term = raw.strip()
        if not term:
            raise ValueError("empty requirement")
        match = _SEL_SET.match(term)
        if match:
            key, op = match.group(1), match.group(2)
            values = {v.strip() for v in match.group(3).split(",")}
            if not values or not all(v and _LABEL_VALUE.match(v) for v in values):
                raise ValueError("invalid value set in %r" % term)
            if op == "in":
                preds.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                preds.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        match = _SEL_EQ.match(term)
        if match:
            key, op, value = match.group(1), match.group(2), match.group(3) or ""
            if op == "!=":
                preds.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                preds.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        match = _SEL_EXISTS.match(term)
        if match:
            negate, key = match.group(1) == "!", match.group(2)
            preds.append(lambda labels, k=key, n=negate: (k in labels) != n)
            continue
        raise ValueError("cannot parse %r" % term)
    return lambda labels: all(pred(labels) for pred in preds)


# ------------------------------------------------------------- the catalogue
def _price(net: float, location: str, traffic_tb: int) -> dict[str, Any]:
    gross = round(net * 1.19, 4)
    return {"location": location,
            "price_hourly": {"net": "%.4f" % (net / 730), "gross": "%.4f" % (gross / 730)},
            "price_monthly": {"net": "%.4f" % net, "gross": "%.4f" % gross},
            "included_traffic": traffic_tb * 1024 ** 4,
            "price_per_tb_traffic": {"net": "1.0000", "gross": "1.1900"}}


LOCATIONS = [  # id, name, description, country, city, latitude, longitude, network zone, datacenter
    (1, "fsn1", "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central", "fsn1-dc14"),
    (2, "nbg1", "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central", "nbg1-dc3"),
    (3, "hel1", "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central", "hel1-dc2"),
    (4, "ash", "Ashburn, VA", "US", "Ashburn, VA", 39.043757, -77.487442, "us-east", "ash-dc1"),
    (5, "hil", "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.951924, "us-west", "hil-dc1"),
    (6, "sin", "Singapore", "SG", "Singapore", 1.283333, 103.833333, "ap-southeast", "sin-dc1"),
]
EU = ("fsn1", "nbg1", "hel1")
ALL_LOCATIONS = tuple(row[1] for row in LOCATIONS)
SERVER_TYPES = [  # id, name, category, cores, memory GB, disk GB, cpu type, architecture, EUR/month, TB traffic, locations
    (104, "cx22", "cost_optimized", 2, 4.0, 40, "shared", "x86", 3.79, 20, EU),
    (114, "cx23", "cost_optimized", 2, 4.0, 40, "shared", "x86", 3.49, 20, EU),
    (105, "cx32", "cost_optimized", 4, 8.0, 80, "shared", "x86", 6.80, 20, EU),
    (22, "cpx11", "regular_purpose", 2, 2.0, 40, "shared", "x86", 4.35, 20, ALL_LOCATIONS),
    (23, "cpx21", "regular_purpose", 3, 4.0, 80, "shared", "x86", 7.55, 20, ALL_LOCATIONS),
    (115, "cpx22", "regular_purpose", 2, 4.0, 80, "shared", "x86", 5.99, 20, ALL_LOCATIONS),
    (45, "cax11", "cost_optimized", 2, 4.0, 40, "shared", "arm", 3.79, 20, ("fsn1", "nbg1", "hel1")),
    (96, "ccx13", "general_purpose", 2, 8.0, 80, "dedicated", "x86", 12.49, 20, ALL_LOCATIONS),
]
IMAGES = [  # name, description, os flavor, os version
    ("debian-12", "Debian 12", "debian", "12"),
    ("debian-13", "Debian 13", "debian", "13"),
    ("ubuntu-22.04", "Ubuntu 22.04", "ubuntu", "22.04"),
    ("ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04"),
    ("rocky-9", "Rocky Linux 9", "rocky", "9"),
]
CATALOGUE_CREATED = "2023-01-10T09:00:00Z"


def _location_obj(row: tuple) -> dict[str, Any]:
    lid, name, desc, country, city, lat, lon, zone, _dc = row
    return {"id": lid, "name": name, "description": desc, "country": country, "city": city,
            "latitude": lat, "longitude": lon, "network_zone": zone}


def _datacenter_obj(row: tuple, type_ids: list[int]) -> dict[str, Any]:
    dc = row[8]
    return {"id": row[0], "name": dc, "description": "%s virtual DC %s" % (row[4], dc.rsplit("dc", 1)[-1]),
            "location": _location_obj(row),
            "server_types": {"supported": type_ids, "available": type_ids, "available_for_migration": type_ids}}


def _server_type_obj(row: tuple, locations: Mapping[str, dict]) -> dict[str, Any]:
    tid, name, category, cores, memory, disk, cpu, arch, price, traffic, where = row
    return {"id": tid, "name": name, "description": name.upper(), "category": category, "cores": cores,
            "memory": memory, "disk": disk, "deprecated": False, "deprecation": None,
            "prices": [_price(price, loc, traffic) for loc in where], "storage_type": "local",
            "cpu_type": cpu, "architecture": arch, "included_traffic": traffic * 1024 ** 4,
            "locations": [{"id": locations[loc]["id"], "name": loc, "deprecation": None,
                           "available": True, "recommended": True} for loc in where]}


def _image_obj(iid: int, row: tuple, arch: str) -> dict[str, Any]:
    name, desc, flavor, version = row
    return {"id": iid, "type": "system", "status": "available", "name": name, "description": desc,
            "image_size": None, "disk_size": 5, "created": CATALOGUE_CREATED, "created_from": None,
            "bound_to": None, "os_flavor": flavor, "os_version": version, "rapid_deploy": True,
            "protection": {"delete": False}, "deprecated": None, "deleted": None, "labels": {},
            "architecture": arch}


# ---------------------------------------------------------------- the state
class _Action:
    __slots__ = ("id", "command", "resources", "status", "started", "finished", "error", "start_at",
                 "duration", "polls_left", "after", "effect", "transient", "server_id", "fail")

    def __init__(self, aid: int, command: str, resources: list[dict], server_id: int | None,
                 transient: str | None, effect: Callable[[], None] | None, duration: float,
                 polls: int | None, after: _Action | None = None, fail: tuple[str, str] | None = None):
        self.id, self.command, self.resources = aid, command, resources
        self.status, self.started, self.finished, self.error = "running", _now_iso(), None, None
        self.server_id, self.transient, self.effect = server_id, transient, effect
        self.after = after  # runs once this one has finished (start_server after create_server)
        self.start_at = None if after is not None else time.monotonic()
        self.duration, self.polls_left, self.fail = duration, polls, fail

    def progress(self, now: float) -> int:
        if self.status != "running":
            return 100
        if self.start_at is None:
            return 0
        if self.polls_left is not None or self.duration <= 0:
            return 0
        return min(99, int(100 * (now - self.start_at) / self.duration))

    def present(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "command": self.command, "status": self.status, "progress": self.progress(now),
                "started": self.started, "finished": self.finished,
                "resources": [dict(r) for r in self.resources], "error": self.error}


class _Server:
    __slots__ = ("id", "name", "labels", "status", "created", "server_type", "location", "image", "ipv4",
                 "ipv6", "private_net", "user_data", "ssh_keys", "protection", "deleted")

    def __init__(self, sid: int, name: str, **fields: Any):
        self.id, self.name = sid, name
        self.deleted = False
        for key, value in fields.items():
            setattr(self, key, value)


class HcloudSimulator(ApiSimulator):
    """In-process HTTP simulator of the Hetzner Cloud API v1 on 127.0.0.1 (see the module docstring)."""

    server_name = "hcloud-sim"
    api_prefix = API_PREFIX

    def __init__(self, tokens: Iterable[str] = ("test-token",), host: str = "127.0.0.1", port: int = 0,
                 rate_limit: int | None = RATE_LIMIT, action_seconds: float = 0.2,
                 datacenter_property: bool = True, ipv4_pool: str = "198.18.0.0/15"):
        super().__init__(host, port)
        self.ipv4_pool = ipaddress.IPv4Network(ipv4_pool)
        self.datacenter_property = datacenter_property
        self._tokens = frozenset(tokens)
        self._rate_limit = rate_limit
        self._buckets: dict[str, tuple[float, float]] = {}  # token -> (tokens left, monotonic time)
        self._action_faults: collections.deque[tuple[str, str]] = collections.deque()
        self._action_seconds, self._action_polls = float(action_seconds), None
        self._ids = {"server": 42_000_000, "action": 910_000_000, "ssh_key": 3_100_000,
                     "primary_ip": 58_000_000, "network": 2_400_000}
        self._servers: dict[int, _Server] = {}
        self._by_name: dict[str, int] = {}
        self._actions: dict[int, _Action] = {}
        self._running: set[int] = set()
        self._ssh_keys: dict[int, dict[str, Any]] = {}
        self._primary_ips: dict[int, dict[str, Any]] = {}
        self._networks: dict[int, dict[str, Any]] = {}
        self._next_ipv4, self._next_ipv6 = 2, 1
        self._locations = {row[1]: _location_obj(row) for row in LOCATIONS}
        type_ids = [row[0] for row in SERVER_TYPES]
        self._datacenters = {row[1]: _datacenter_obj(row, type_ids) for row in LOCATIONS}
        self._server_types = {row[1]: _server_type_obj(row, self._locations) for row in SERVER_TYPES}
        self._images: list[dict[str, Any]] = []
        for n, row in enumerate(IMAGES):
            self._images.append(_image_obj(114_690_000 + n, row, "x86"))
            self._images.append(_image_obj(114_690_100 + n, row, "arm"))
        self._routes = [
            ("GET", "/servers", self._list_servers),
            ("POST", "/servers", self._create_server),
            ("GET", "/servers/{id}", self._get_server),
            ("PUT", "/servers/{id}", self._update_server),
            ("DELETE", "/servers/{id}", self._delete_server),
            ("GET", "/servers/{id}/actions", self._list_server_actions),
            ("GET", "/servers/{id}/actions/{action}", self._get_server_action),
            ("POST", "/servers/{id}/actions/{command}", self._server_action),
            ("GET", "/actions", self._list_actions),
            ("GET", "/actions/{action}", self._get_action),
            ("GET", "/ssh_keys", self._list_ssh_keys),
            ("POST", "/ssh_keys", self._create_ssh_key),
            ("GET", "/ssh_keys/{id}", self._get_ssh_key),
            ("PUT", "/ssh_keys/{id}", self._update_ssh_key),
            ("DELETE", "/ssh_keys/{id}", self._delete_ssh_key),
            ("GET", "/primary_ips", self._list_primary_ips),
            ("GET", "/primary_ips/{id}", self._get_primary_ip),
            ("GET", "/primary_ips/{id}/actions", self._list_primary_ip_actions),
            ("GET", "/primary_ips/{id}/actions/{action}", self._get_primary_ip_action),
            ("POST", "/primary_ips/{id}/actions/change_dns_ptr", self._primary_ip_change_dns_ptr),
            ("GET", "/server_types", self._list_server_types),
            ("GET", "/server_types/{id}", self._get_server_type),
            ("GET", "/locations", self._list_locations),
            ("GET", "/locations/{id}", self._get_location),
            ("GET", "/images", self._list_images),
            ("GET", "/images/{id}", self._get_image),
            ("GET", "/networks", self._list_networks),
            ("GET", "/networks/{id}", self._get_network),
        ]

    # ---- lifecycle, base_url, request log: ApiSimulator
    # ---- Python API for tests and benchmarks
    def add_server(self, name: str, server_type: str = "cx22", image: str | None = "debian-12",
                   location: str = DEFAULT_LOCATION, labels: Mapping[str, str] | None = None,
                   status: str = "running", ipv4: bool = True, ipv6: bool = True,
                   networks: Iterable[int | str] = (), ptr: str | None = None,
                   ipv6_ptrs: Mapping[str, str] | None = None) -> int:
        """Put a server straight into the project (no Actions, O(1)): returns its id.

        ``networks`` are ids or names of networks from ``add_network``; ``ptr`` replaces the
        default IPv4 PTR; ``ipv6_ptrs`` maps addresses in the server's /64 to PTR names.
        """
        with self._lock:
            if name in self._by_name:
                raise ValueError("a server named %s already exists" % name)
            if status not in SERVER_STATUSES:
                raise ValueError("status %r is not one of %s" % (status, ", ".join(SERVER_STATUSES)))
            stype = self._server_types[server_type]
            image_obj = self._find_image(image, stype["architecture"]) if image else None
            if image and image_obj is None:
                raise ValueError("no image %s for %s" % (image, stype["architecture"]))
            nets = [self._network_by_ref(ref) for ref in networks]
            server = self._new_server(name, stype, location, image_obj, _check_labels(dict(labels or {})),
                                      status, ipv4, ipv6, nets, None, [])
            if ptr is not None and server.ipv4 is not None:
                self._primary_ips[server.ipv4]["dns_ptr"][0]["dns_ptr"] = ptr
            for address, name_ in (ipv6_ptrs or {}).items():
                self._set_ipv6_ptr(self._primary_ips[server.ipv6], address, name_, "ipv6_ptrs")
            return server.id

    def add_network(self, name: str, ip_range: str = "10.0.0.0/16", subnet: str | None = None,
                    network_zone: str = "eu-central", labels: Mapping[str, str] | None = None) -> int:
        """Create a private network with one cloud subnet (default: the first /24 of ip_range)."""
        with self._lock:
            if any(n["name"] == name for n in self._networks.values()):
                raise ValueError("a network named %s already exists" % name)
            net = ipaddress.ip_network(ip_range)
            sub = ipaddress.ip_network(subnet) if subnet else next(net.subnets(new_prefix=24))
            nid = self._new_id("network")
            self._networks[nid] = {
                "id": nid, "name": name, "ip_range": str(net),
                "subnets": [{"type": "cloud", "ip_range": str(sub), "network_zone": network_zone,
                             "gateway": str(net.network_address + 1), "vswitch_id": None}],
                "routes": [], "servers": [], "load_balancers": [], "protection": {"delete": False},
                "labels": _check_labels(dict(labels or {})), "created": _now_iso(),
                "expose_routes_to_vswitch": False, "_next_host": 2,
            }
            return nid

    def add_ssh_key(self, name: str, public_key: str, labels: Mapping[str, str] | None = None) -> int:
        with self._lock:
            return self._store_ssh_key({"name": name, "public_key": public_key, "labels": dict(labels or {})})["id"]

    def servers(self) -> list[dict[str, Any]]:
        """Every server (deleting ones included), as GET /servers would present it, by id."""
        with self._lock:
            self._tick()
            return json.loads(json.dumps([self._present_server(self._servers[sid]) for sid in sorted(self._servers)]))

    def server(self, name: str) -> dict[str, Any]:
        with self._lock:
            self._tick()
            if name not in self._by_name:
                raise KeyError("no server named %s" % name)
            return json.loads(json.dumps(self._present_server(self._servers[self._by_name[name]])))

    def user_data(self, name: str) -> str | None:
        """The cloud-init user data a server was created with (the API never answers it)."""
        with self._lock:
            if name not in self._by_name:
                raise KeyError("no server named %s" % name)
            return self._servers[self._by_name[name]].user_data

    def ssh_keys(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._present_ssh_key(self._ssh_keys[kid]) for kid in sorted(self._ssh_keys)]

    def actions(self) -> list[dict[str, Any]]:
        """Every Action so far, oldest first."""
        with self._lock:
            self._tick()
            now = time.monotonic()
            return [self._actions[aid].present(now) for aid in sorted(self._actions)]

    def set_action_duration(self, seconds: float | None = None, polls: int | None = None) -> None:
        """How new Actions finish: ``seconds`` after they start, or after ``polls`` GETs of the Action."""
        if (seconds is None) == (polls is None):
            raise ValueError("give either seconds or polls")
        with self._lock:
            self._action_seconds = float(seconds) if seconds is not None else 0.0
            self._action_polls = int(polls) if polls is not None else None

    def fail_next(self, status: int = 429, code: str | None = None, times: int = 1,
                  retry_after: int | None = None, path: str | None = None, skip: int = 0) -> None:
        """Answer the next ``times`` requests (those whose path contains ``path``, if given; after letting
        ``skip`` of them through) with ``status`` (429 or 5xx) instead of serving them."""
        self._check_injectable(status)
        self._inject((status, code, retry_after), times, path, skip)

    def fail_after_next(self, method: str, path: str, status: int = 500, code: str | None = None) -> None:
        """Serve the next ``method`` request to ``path`` (e.g. ``POST /servers``), then answer it with ``status``
        (5xx) instead: the server is made, and the client is told it failed."""
        if not 500 <= status <= 599:
            raise ValueError("fail_after_next injects 5xx answers")
        self._inject_late((status, code, None), method, API_PREFIX + path)

    def fail_next_action(self, code: str = "action_failed", message: str = "Action failed") -> None:
        """The next Action started ends in ``error`` with this code and message instead of ``success``."""
        with self._lock:
            self._action_faults.append((code, message))

    # ---- request handling
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> tuple[int, Body | str | None, dict[str, str]]:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        out_headers = {"X-Correlation-Id": uuid.uuid4().hex[:16]}
        with self._lock:
            entry = self._record(method, url)
            fault = self._take_fault(url.path)
            try:
                if fault is not None:
                    raise _fault(*fault)
                token = self._authenticate(headers)
                out_headers.update(self._rate_limit_headers(token))
                handler, params = self._route(method, url.path)
                payload = _json_body(body) if method in ("POST", "PUT") else {}
                self._tick()
                status, answer = handler(params, query, payload)
                late = self._take_late_fault(method, url.path)
                if late is not None:
                    raise _fault(*late)
                if isinstance(answer, dict) and "meta" in answer:
                    out_headers.update(_link_header(host_header, url.path, query, answer["meta"]["pagination"]))
            except ApiError as exc:
                out_headers.update(exc.headers)
                status = exc.status
                answer = exc.raw if exc.raw is not None else {
                    "error": {"code": exc.code, "message": exc.message, "details": exc.details}}
            entry["status"] = status
            return status, answer, out_headers

    def bug_answer(self, exc: Exception) -> Body:
        return {"error": {"code": "server_error", "message": "simulator bug: %s" % exc, "details": {}}}

    def encode(self, status: int, payload: Any) -> tuple[str | None, bytes | None]:
        if payload is None:
            return None, b""
        if isinstance(payload, str):  # a gateway's error page
            return "text/html", payload.encode()
        return super().encode(status, payload)

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        scheme, _space, token = (headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise ApiError("unauthorized", "unable to authenticate")
        return token

    def _rate_limit_headers(self, token: str) -> dict[str, str]:
        if self._rate_limit is None:
            return {}
        limit, now = float(self._rate_limit), time.monotonic()
        left, then = self._buckets.get(token, (limit, now))
        left = min(limit, left + (now - then) * limit / 3600.0)
        reset = int(time.time() + (limit - left) * 3600.0 / limit)
        if left < 1:
            self._buckets[token] = (left, now)
            headers = {"RateLimit-Limit": str(self._rate_limit), "RateLimit-Remaining": "0",
                       "RateLimit-Reset": str(reset)}
            raise ApiError("rate_limit_exceeded", "limit of %d requests per hour reached" % self._rate_limit,
                           headers=headers)
        left -= 1
        self._buckets[token] = (left, now)
        return {"RateLimit-Limit": str(self._rate_limit), "RateLimit-Remaining": str(int(left)),
                "RateLimit-Reset": str(int(time.time() + (limit - left) * 3600.0 / limit))}

    def _route(self, method: str, path: str) -> tuple[Callable[..., tuple[int, Body]], dict[str, str]]:
        if path.startswith(API_PREFIX + "/"):
            found = self._routed(method, path[len(API_PREFIX):].rstrip("/").split("/"))
            if found is not None:
                return found
        raise ApiError("not_found", "not found")

    # ---- ids, lookups, time
    def _new_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _tick(self) -> None:
        """Finish every time-driven Action whose time has come (and start the ones chained to them)."""
        for aid in sorted(self._running):
            action = self._actions[aid]
            if (action.status == "running" and action.polls_left is None and action.start_at is not None
                    and time.monotonic() - action.start_at >= action.duration):
                self._finish(action)

    def _finish(self, action: _Action) -> None:
        self._running.discard(action.id)
        action.finished = _now_iso()
        if action.fail is not None:
            action.status = "error"
            action.error = {"code": action.fail[0], "message": action.fail[1]}
        else:
            action.status = "success"
            if action.effect is not None:
                action.effect()
        for oid in sorted(self._running):
            other = self._actions[oid]
            if other.after is action:
                self._release(other)

    def _release(self, action: _Action) -> None:
        """Start an Action whose predecessor has finished; it fails without running if that one failed."""
        before, action.after = action.after, None
        if before is not None and before.status == "error":
            action.fail = ("action_failed", "%s failed" % before.command)
            self._finish(action)
        else:
            action.start_at = time.monotonic()
            if action.polls_left is None and action.duration <= 0:
                self._finish(action)

    def _start_action(self, command: str, resources: list[dict], server_id: int | None = None,
                      transient: str | None = None, effect: Callable[[], None] | None = None,
                      after: _Action | None = None) -> _Action:
        fail = self._action_faults.popleft() if self._action_faults else None
        action = _Action(self._new_id("action"), command, resources, server_id, transient, effect,
                         self._action_seconds, self._action_polls, after, fail)
        self._actions[action.id] = action
        self._running.add(action.id)
        if after is not None and after.status != "running":
            self._release(action)
        elif after is None and action.polls_left is None and action.duration <= 0:
            self._finish(action)
        return action

    def _poll(self, action: _Action) -> _Action:
        """A GET of the Action: counts towards a poll-driven finish."""
        if action.status == "running" and action.polls_left is not None and action.after is None:
            action.polls_left -= 1
            if action.polls_left <= 0:
                self._finish(action)
        return action

    def _action(self, ident: str, resource: tuple[str, int] | None = None) -> _Action:
        aid = _int_id(ident)
        action = self._actions.get(aid) if aid is not None else None
        if action is None or (resource and {"id": resource[1], "type": resource[0]} not in action.resources):
            raise _not_found("action", ident)
        return action

    def _server_obj(self, ident: str) -> _Server:
        sid = _int_id(ident)
        server = self._servers.get(sid) if sid is not None else None
        if server is None:
            raise _not_found("server", ident)
        return server

    def _running_action_on(self, server: _Server) -> _Action | None:
        for aid in sorted(self._running):
            action = self._actions[aid]
            if action.server_id == server.id:
                return action
        return None

    def _find_image(self, ref: Any, architecture: str) -> dict[str, Any] | None:
        for image in self._images:
            if (image["id"] == ref or image["name"] == ref) and (
                    image["architecture"] == architecture or image["id"] == ref):
                return image
        return None

    def _find_server_type(self, ref: Any) -> dict[str, Any] | None:
        for stype in self._server_types.values():
            if stype["id"] == ref or stype["name"] == ref:
                return stype
        return None

    def _find_location(self, ref: Any) -> dict[str, Any] | None:
        for loc in self._locations.values():
            if loc["id"] == ref or loc["name"] == ref:
                return loc
        return None

    def _network_by_ref(self, ref: Any) -> dict[str, Any]:
        for net in self._networks.values():
            if net["id"] == ref or net["name"] == ref:
                return net
        raise ValueError("no network %r" % (ref,))

    # ---- servers and their addresses
    def _allocate_ipv4(self) -> str:
        base = int(self.ipv4_pool.network_address)
        while True:
            n, self._next_ipv4 = self._next_ipv4, self._next_ipv4 + 1
            address = ipaddress.IPv4Address(base + n)
            if address not in self.ipv4_pool or address == self.ipv4_pool.broadcast_address:
                raise ApiError("resource_unavailable", "no IPv4 address left in the simulator's pool %s"
                               % self.ipv4_pool)
            if n % 256 not in (0, 255):  # no .0 or .255 hosts
                return str(address)

    def _allocate_ipv6(self) -> str:
        n, self._next_ipv6 = self._next_ipv6, self._next_ipv6 + 1
        return "2001:db8:%x:%x::/64" % (n >> 16, n & 0xFFFF)

    def _new_primary_ip(self, kind: str, ip: str, server_id: int, location: str) -> int:
        pid = self._new_id("primary_ip")
        default = [{"ip": ip, "dns_ptr": default_ptr(ip)}] if kind == "ipv4" else []
        self._primary_ips[pid] = {
            "id": pid, "name": "primary_ip-%d" % pid, "ip": ip, "type": kind, "dns_ptr": default,
            "location": location, "blocked": False, "protection": {"delete": False}, "labels": {},
            "created": _now_iso(), "assignee_id": server_id, "assignee_type": "server", "auto_delete": True,
        }
        return pid

    def _attach(self, server: _Server, net: dict[str, Any]) -> None:
        subnet = ipaddress.ip_network(net["subnets"][0]["ip_range"])
        ip = subnet.network_address + net["_next_host"]
        net["_next_host"] += 1
        server.private_net.append({"network": net["id"], "ip": str(ip), "alias_ips": [],
                                   "mac_address": "86:00:00:%02x:%02x:%02x" % (
                                       (server.id >> 16) & 0xFF, (server.id >> 8) & 0xFF, server.id & 0xFF)})
        net["servers"].append(server.id)

    def _new_server(self, name: str, stype: dict, location: str, image: dict | None, labels: dict,
                    status: str, ipv4: bool, ipv6: bool, networks: list[dict], user_data: str | None,
                    ssh_keys: list[int]) -> _Server:
        sid = self._new_id("server")
        server = _Server(sid, name, labels=labels, status=status, created=_now_iso(), server_type=stype,
                         location=location, image=image, ipv4=None, ipv6=None, private_net=[],
                         user_data=user_data, ssh_keys=ssh_keys, protection={"delete": False, "rebuild": False})
        if ipv4:
            server.ipv4 = self._new_primary_ip("ipv4", self._allocate_ipv4(), sid, location)
        if ipv6:
            server.ipv6 = self._new_primary_ip("ipv6", self._allocate_ipv6(), sid, location)
        for net in networks:
            self._attach(server, net)
        self._servers[sid] = server
        self._by_name[name] = sid
        return server

    def _remove_server(self, server: _Server) -> None:
        server.deleted = True
        self._servers.pop(server.id, None)
        if self._by_name.get(server.name) == server.id:
            del self._by_name[server.name]
        for pid in (server.ipv4, server.ipv6):
            if pid is not None:
                self._primary_ips.pop(pid, None)  # auto_delete
        for attachment in server.private_net:
            net = self._networks.get(attachment["network"])
            if net and server.id in net["servers"]:
                net["servers"].remove(server.id)

    def _server_status(self, server: _Server) -> str:
        action = self._running_action_on(server) if self._running else None
        if action is not None and action.transient:
            return action.transient
        return server.status

    def _present_server(self, server: _Server) -> dict[str, Any]:
        ipv4 = self._primary_ips.get(server.ipv4) if server.ipv4 is not None else None
        ipv6 = self._primary_ips.get(server.ipv6) if server.ipv6 is not None else None
        location = self._locations[server.location]
        out = {
            "id": server.id, "name": server.name, "status": self._server_status(server),
            "created": server.created,
            "public_net": {
                "ipv4": None if ipv4 is None else {"id": ipv4["id"], "ip": ipv4["ip"], "blocked": False,
                                                   "dns_ptr": ipv4["dns_ptr"][0]["dns_ptr"] if ipv4["dns_ptr"] else None},
                "ipv6": None if ipv6 is None else {"id": ipv6["id"], "ip": ipv6["ip"], "blocked": False,
                                                   "dns_ptr": [dict(p) for p in ipv6["dns_ptr"]]},
                "floating_ips": [], "firewalls": [],
            },
            "private_net": [dict(p, alias_ips=list(p["alias_ips"])) for p in server.private_net],
            "server_type": server.server_type,  # catalogue data is never mutated: shared, not copied
            "location": dict(location),
            "image": dict(server.image) if server.image else None,
            "iso": None, "rescue_enabled": False, "locked": False, "backup_window": None,
            "outgoing_traffic": 0, "ingoing_traffic": 0, "included_traffic": server.server_type["included_traffic"],
            "protection": dict(server.protection), "labels": dict(server.labels), "volumes": [],
            "load_balancers": [], "primary_disk_size": server.server_type["disk"], "placement_group": None,
        }
        if self.datacenter_property:
            out["datacenter"] = self._datacenters[server.location]
        return out

    def _present_primary_ip(self, pip: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in pip.items() if k != "location"}
        out["dns_ptr"] = [dict(p) for p in pip["dns_ptr"]]
        out["location"] = dict(self._locations[pip["location"]])
        if self.datacenter_property:
            out["datacenter"] = json.loads(json.dumps(self._datacenters[pip["location"]]))
        return json.loads(json.dumps(out))

    @staticmethod
    def _present_ssh_key(key: dict[str, Any]) -> dict[str, Any]:
        return {"id": key["id"], "name": key["name"], "fingerprint": key["fingerprint"],
                "public_key": key["public_key"], "labels": dict(key["labels"]), "created": key["created"]}

    @staticmethod
    def _present_network(net: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps({k: v for k, v in net.items() if not k.startswith("_")}))

    # ---- endpoint handlers: (path params, query, JSON body) -> (status, body)
    def _list_servers(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        servers = list(self._servers.values())
        if "name" in query:
            servers = [s for s in servers if s.name == query["name"][-1]]
        if "label_selector" in query:
            wanted = _selector(query["label_selector"][-1])
            servers = [s for s in servers if wanted(s.labels)]
        statuses = _multi(query, "status")
        if statuses:
            bad = [s for s in statuses if s not in SERVER_STATUSES]
            if bad:
                raise _invalid("status", "'%s' is not one of %s" % (bad[0], ", ".join(SERVER_STATUSES)))
            servers = [s for s in servers if self._server_status(s) in statuses]
        servers = _sorted(servers, query, SERVER_SORT, getattr)
        page, meta = _paginate(servers, query)
        return 200, {"servers": [self._present_server(s) for s in page], "meta": meta}

    def _get_server(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"server": self._present_server(self._server_obj(params["id"]))}

    def _update_server(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        server = self._server_obj(params["id"])
        if "name" in body:
            name = body["name"]
            if not _valid_hostname(name):
                raise _invalid("name", "'%s' is not a valid hostname (RFC 1123)" % (name,))
            if name != server.name and name in self._by_name:
                raise ApiError("uniqueness_error", "server name is already used", {"fields": [{"name": "name"}]})
            del self._by_name[server.name]
            server.name = name
            self._by_name[name] = server.id
        if "labels" in body:
            server.labels = _check_labels(body["labels"])
        return 200, {"server": self._present_server(server)}

    def _create_server(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        name = body.get("name")
        if name is None:
            raise _invalid("name", "is required")
        if not _valid_hostname(name):
            raise _invalid("name", "'%s' is not a valid hostname (RFC 1123)" % (name,))
        if name in self._by_name:
            raise ApiError("uniqueness_error", "server name is already used", {"fields": [{"name": "name"}]})
        if body.get("server_type") is None:
            raise _invalid("server_type", "is required")
        stype = self._find_server_type(body["server_type"])
        if stype is None:
            raise _invalid("server_type", "server type '%s' not found" % (body["server_type"],))
        if body.get("image") is None:
            raise _invalid("image", "is required")
        image = self._find_image(body["image"], stype["architecture"])
        if image is None:
            raise _invalid("image", "image '%s' not found for architecture %s" % (body["image"], stype["architecture"]))
        if image["architecture"] != stype["architecture"]:
            raise _invalid("image", "image %s is for %s, server type %s is %s" % (
                image["id"], image["architecture"], stype["name"], stype["architecture"]))
        if body.get("datacenter") is not None:
            raise _invalid("datacenter", "the datacenter property was removed; use location")
        location = DEFAULT_LOCATION
        if body.get("location") is not None:
            loc = self._find_location(body["location"])
            if loc is None:
                raise _invalid("location", "location '%s' not found" % (body["location"],))
            location = loc["name"]
        if location not in [entry["name"] for entry in stype["locations"]]:
            raise _invalid("server_type", "server type %s is not available in location %s" % (stype["name"], location))
        labels = _check_labels(body.get("labels"))
        user_data = body.get("user_data")
        if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > USER_DATA_MAX):
            raise _invalid("user_data", "must be a string of at most %d bytes" % USER_DATA_MAX)
        key_ids = []
        refs = body.get("ssh_keys") or []
        if not isinstance(refs, list):
            raise _invalid("ssh_keys", "must be a list of SSH key ids or names")
        for ref in refs:
            match = [k for k in self._ssh_keys.values() if k["id"] == ref or k["name"] == ref]
            if not match:
                raise _invalid("ssh_keys", "SSH key '%s' not found" % (ref,))
            key_ids.append(match[0]["id"])
        networks = []
        for ref in body.get("networks") or []:
            net = self._networks.get(ref) if isinstance(ref, int) else None
            if net is None:
                raise _invalid("networks", "network '%s' not found" % (ref,))
            networks.append(net)
        for field in ("volumes", "firewalls"):
            if body.get(field):
                raise _invalid(field, "%s '%s' not found" % (field[:-1], body[field][0]))
        if body.get("placement_group") is not None:
            raise _invalid("placement_group", "placement group '%s' not found" % (body["placement_group"],))
        public_net = body.get("public_net") or {}
        if not isinstance(public_net, dict):
            raise _invalid("public_net", "must be an object")
        for field in ("ipv4", "ipv6"):
            if public_net.get(field) is not None:
                raise _invalid("public_net.%s" % field, "primary IP '%s' not found" % (public_net[field],))
        enable_ipv4 = public_net.get("enable_ipv4", True) is not False
        enable_ipv6 = public_net.get("enable_ipv6", True) is not False
        if not enable_ipv4 and not enable_ipv6 and not networks:
            raise _invalid("public_net", "a server without public IPs needs at least one network")
        start = body.get("start_after_create", True) is not False
        server = self._new_server(name, stype, location, image, labels, "off", enable_ipv4, enable_ipv6,
                                  networks, user_data, key_ids)
        resources = [{"id": server.id, "type": "server"}]
        create = self._start_action("create_server", resources, server.id, "initializing")
        next_actions = []
        if start:
            next_actions.append(self._start_action("start_server", resources, server.id, "starting",
                                                   _set_status(server, "running"), after=create))
        now = time.monotonic()
        return 201, {"server": self._present_server(server), "action": create.present(now),
                     "next_actions": [a.present(now) for a in next_actions],
                     "root_password": None if key_ids else secrets.token_urlsafe(15)}

    def _delete_server(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        server = self._server_obj(params["id"])
        if server.protection["delete"]:
            raise ApiError("protected", "server is delete protected")
        action = self._start_action("delete_server", [{"id": server.id, "type": "server"}], server.id,
                                    "deleting", lambda: self._remove_server(server))
        return 200, {"action": action.present(time.monotonic())}

    def _server_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        server = self._server_obj(params["id"])
        command = params["command"]
        simple = {  # command -> (action command, transient status, status once done)
            "poweron": ("start_server", "starting", "running"),
            "poweroff": ("stop_server", "stopping", "off"),
            "shutdown": ("shutdown_server", "stopping", "off"),
            "reboot": ("reboot_server", None, "running"),
            "reset": ("reset_server", None, "running"),
        }
        if command not in simple and command != "change_dns_ptr":
            raise ApiError("not_found", "not found")
        busy = self._running_action_on(server)
        if busy is not None:
            raise ApiError("locked", "server %d is locked: action %s (%d) is running" % (
                server.id, busy.command, busy.id))
        resources = [{"id": server.id, "type": "server"}]
        if command == "change_dns_ptr":
            ip, ptr = _ptr_request(body)
            target = self._server_primary_ip_for(server, ip)
            effect = self._ptr_effect(target, ip, ptr)
            action = self._start_action("change_dns_ptr", resources, server.id, None, effect)
        else:
            name, transient, final = simple[command]
            if command in ("reboot", "reset", "shutdown") and server.status == "off":
                transient, final = None, "off"
            action = self._start_action(name, resources, server.id, transient, _set_status(server, final))
        return 201, {"action": action.present(time.monotonic())}

    def _list_server_actions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        server = self._server_obj(params["id"])
        return self._list_actions_of(("server", server.id), query)

    def _get_server_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        server = self._server_obj(params["id"])
        action = self._poll(self._action(params["action"], ("server", server.id)))
        return 200, {"action": action.present(time.monotonic())}

    def _list_actions_of(self, resource: tuple[str, int] | None, query: dict) -> tuple[int, Body]:
        actions = [self._actions[aid] for aid in sorted(self._actions)]
        if resource is not None:
            actions = [a for a in actions if {"id": resource[1], "type": resource[0]} in a.resources]
        ids = _multi(query, "id")
        if ids:
            wanted = {_int_id(i) for i in ids}
            actions = [a for a in actions if a.id in wanted]
        statuses = _multi(query, "status")
        if statuses:
            actions = [a for a in actions if a.status in statuses]
        actions = _sorted(actions, query, ("id", "command", "status", "started", "finished"),
                          lambda a, field: getattr(a, field) or "")
        page, meta = _paginate(actions, query)
        now = time.monotonic()
        return 200, {"actions": [a.present(now) for a in page], "meta": meta}

    def _list_actions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        if not _multi(query, "id"):  # the unfiltered list was removed in 2023; only ?id= remains
            raise _invalid("id", "at least one id is required")
        for ident in _multi(query, "id"):
            aid = _int_id(ident)
            if aid is not None and aid in self._actions:
                self._poll(self._actions[aid])
        return self._list_actions_of(None, query)

    def _get_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"action": self._poll(self._action(params["action"])).present(time.monotonic())}

    # ---- reverse DNS
    def _server_primary_ip_for(self, server: _Server, ip: str) -> dict[str, Any]:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise _invalid("ip", "'%s' is not an IP address" % ip) from None
        for pid in (server.ipv4, server.ipv6):
            pip = self._primary_ips.get(pid) if pid is not None else None
            if pip is not None and _ip_in_primary(address, pip):
                return pip
        raise _invalid("ip", "%s is not a primary IP of server %d" % (ip, server.id))

    def _ptr_effect(self, pip: dict[str, Any], ip: str, ptr: str | None) -> Callable[[], None]:
        def apply() -> None:
            if pip["type"] == "ipv4":
                pip["dns_ptr"] = [{"ip": pip["ip"], "dns_ptr": ptr if ptr is not None else default_ptr(pip["ip"])}]
            else:
                self._set_ipv6_ptr(pip, ip, ptr, "ip")
        return apply

    @staticmethod
    def _set_ipv6_ptr(pip: dict[str, Any], ip: str, ptr: str | None, field: str) -> None:
        address = ipaddress.ip_address(ip)
        if not _ip_in_primary(address, pip):
            raise _invalid(field, "%s is not in %s" % (ip, pip["ip"]))
        entries = [e for e in pip["dns_ptr"] if ipaddress.ip_address(e["ip"]) != address]
        if ptr is not None:
            entries.append({"ip": address.compressed, "dns_ptr": ptr})
        pip["dns_ptr"] = entries

    def _primary_ip_change_dns_ptr(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        pip = self._primary_ip(params["id"])
        ip, ptr = _ptr_request(body)
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise _invalid("ip", "'%s' is not an IP address" % ip) from None
        if not _ip_in_primary(address, pip):
            raise _invalid("ip", "%s is not part of primary IP %s" % (ip, pip["ip"]))
        server = self._servers.get(pip["assignee_id"])
        busy = self._running_action_on(server) if server is not None else None
        if busy is not None:
            raise ApiError("locked", "server %d is locked: action %s (%d) is running" % (
                server.id, busy.command, busy.id))
        action = self._start_action("change_dns_ptr", [{"id": pip["id"], "type": "primary_ip"}],
                                    server.id if server else None, None, self._ptr_effect(pip, ip, ptr))
        return 201, {"action": action.present(time.monotonic())}

    # ---- primary IPs
    def _primary_ip(self, ident: str) -> dict[str, Any]:
        pid = _int_id(ident)
        if pid is None or pid not in self._primary_ips:
            raise _not_found("primary_ip", ident)
        return self._primary_ips[pid]

    def _list_primary_ips(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        pips = list(self._primary_ips.values())
        if "name" in query:
            pips = [p for p in pips if p["name"] == query["name"][-1]]
        if "ip" in query:
            pips = [p for p in pips if p["ip"] == query["ip"][-1]]
        if "label_selector" in query:
            wanted = _selector(query["label_selector"][-1])
            pips = [p for p in pips if wanted(p["labels"])]
        pips = _sorted(pips, query, ("id", "name", "created"), lambda p, field: p[field])
        page, meta = _paginate(pips, query)
        return 200, {"primary_ips": [self._present_primary_ip(p) for p in page], "meta": meta}

    def _get_primary_ip(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"primary_ip": self._present_primary_ip(self._primary_ip(params["id"]))}

    def _list_primary_ip_actions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return self._list_actions_of(("primary_ip", self._primary_ip(params["id"])["id"]), query)

    def _get_primary_ip_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        pip = self._primary_ip(params["id"])
        action = self._poll(self._action(params["action"], ("primary_ip", pip["id"])))
        return 200, {"action": action.present(time.monotonic())}

    # ---- SSH keys
    def _store_ssh_key(self, body: Body, old: dict[str, Any] | None = None) -> dict[str, Any]:
        name = body.get("name", old["name"] if old else None)
        if not isinstance(name, str) or not name.strip():
            raise _invalid("name", "is required" if name is None else "must be a non-empty string")
        if any(k["name"] == name and k is not old for k in self._ssh_keys.values()):
            raise ApiError("uniqueness_error", "SSH key with the same name already exists",
                           {"fields": [{"name": "name"}]})
        labels = _check_labels(body["labels"]) if "labels" in body else (old["labels"] if old else {})
        if old is not None:
            old.update(name=name, labels=labels)
            return old
        if body.get("public_key") is None:
            raise _invalid("public_key", "is required")
        fingerprint = _public_key_fingerprint(body["public_key"])
        if any(k["fingerprint"] == fingerprint for k in self._ssh_keys.values()):
            raise ApiError("uniqueness_error", "SSH key with the same fingerprint already exists",
                           {"fields": [{"name": "public_key"}]})
        kid = self._new_id("ssh_key")
        key = {"id": kid, "name": name, "fingerprint": fingerprint, "public_key": body["public_key"].strip(),
               "labels": labels, "created": _now_iso()}
        self._ssh_keys[kid] = key
        return key

    def _ssh_key(self, ident: str) -> dict[str, Any]:
        kid = _int_id(ident)
        if kid is None or kid not in self._ssh_keys:
            raise _not_found("ssh_key", ident)
        return self._ssh_keys[kid]

    def _list_ssh_keys(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        keys = list(self._ssh_keys.values())
        for field in ("name", "fingerprint"):
            if field in query:
                keys = [k for k in keys if k[field] == query[field][-1]]
        if "label_selector" in query:
            wanted = _selector(query["label_selector"][-1])
            keys = [k for k in keys if wanted(k["labels"])]
        keys = _sorted(keys, query, ("id", "name"), lambda k, field: k[field])
        page, meta = _paginate(keys, query)
        return 200, {"ssh_keys": [self._present_ssh_key(k) for k in page], "meta": meta}

    def _create_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 201, {"ssh_key": self._present_ssh_key(self._store_ssh_key(body))}

    def _get_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"ssh_key": self._present_ssh_key(self._ssh_key(params["id"]))}

    def _update_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        key = self._store_ssh_key(body, self._ssh_key(params["id"]))
        return 200, {"ssh_key": self._present_ssh_key(key)}

    def _delete_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        del self._ssh_keys[self._ssh_key(params["id"])["id"]]
        return 204, None

    # ---- catalogue and networks
    def _list_named(self, root: str, items: list[dict[str, Any]], query: dict) -> tuple[int, Body]:
        if "name" in query:
            items = [i for i in items if i["name"] == query["name"][-1]]
        page, meta = _paginate(items, query)
        return 200, {root: json.loads(json.dumps(page)), "meta": meta}

    @staticmethod
    def _get_by_id(kind: str, items: Iterable[dict[str, Any]], ident: str) -> dict[str, Any]:
        iid = _int_id(ident)
        for item in items:
            if item["id"] == iid:
                return json.loads(json.dumps(item))
        raise _not_found(kind, ident)

    def _list_server_types(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return self._list_named("server_types", list(self._server_types.values()), query)

    def _get_server_type(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"server_type": self._get_by_id("server_type", self._server_types.values(), params["id"])}

    def _list_locations(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return self._list_named("locations", list(self._locations.values()), query)

    def _get_location(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"location": self._get_by_id("location", self._locations.values(), params["id"])}

    def _list_images(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        images = self._images
        for field in ("architecture", "type", "status"):
            values = _multi(query, field)
            if values:
                images = [i for i in images if i[field] in values]
        if "label_selector" in query:
            wanted = _selector(query["label_selector"][-1])
            images = [i for i in images if wanted(i["labels"])]
        return self._list_named("images", images, query)

    def _get_image(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"image": self._get_by_id("image", self._images, params["id"])}

    def _list_networks(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        nets = [self._present_network(self._networks[nid]) for nid in sorted(self._networks)]
        if "label_selector" in query:
            wanted = _selector(query["label_selector"][-1])
            nets = [n for n in nets if wanted(n["labels"])]
        return self._list_named("networks", nets, query)

    def _get_network(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        nets = [self._present_network(n) for n in self._networks.values()]
        return 200, {"network": self._get_by_id("network", nets, params["id"])}


# ------------------------------------------------------------------- helpers
def default_ptr(ip: str) -> str:
    """Hetzner's default reverse DNS name of a public IPv4 address."""
    return "static.%s.clients.your-server.de" % ".".join(reversed(ip.split(".")))


def _ip_in_primary(address: ipaddress.IPv4Address | ipaddress.IPv6Address, pip: Mapping[str, Any]) -> bool:
    if pip["type"] == "ipv4":
        return address.version == 4 and str(address) == pip["ip"]
    return address.version == 6 and address in ipaddress.ip_network(pip["ip"])


def _ptr_request(body: Body) -> tuple[str, str | None]:
    ip = body.get("ip")
    if not isinstance(ip, str) or not ip:
        raise _invalid("ip", "is required")
    if "dns_ptr" not in body:
        raise _invalid("dns_ptr", "is required (null resets it)")
    ptr = body["dns_ptr"]
    if ptr is not None and not _valid_hostname(ptr):
        raise _invalid("dns_ptr", "'%s' is not a valid hostname" % (ptr,))
    return ip, ptr


def _set_status(server: _Server, status: str) -> Callable[[], None]:
    def apply() -> None:
        server.status = status
    return apply


def _int_id(value: Any) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number > 0 else None


def _multi(query: Mapping[str, list[str]], key: str) -> list[str]:
    """Values of a repeatable parameter; a comma-separated value counts as several."""
    return [part for value in query.get(key, []) for part in value.split(",") if part]


def _selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    try:
        return parse_label_selector(text)
    except ValueError as exc:
        raise _invalid("label_selector", "invalid label selector: %s" % exc) from None


def _sorted(items: list, query: Mapping[str, list[str]], fields: tuple[str, ...],
            get: Callable[[Any, str], Any]) -> list:
    """Apply ``sort=field[:asc|:desc]`` (repeatable, first one most significant); default by id."""
    specs = _multi(query, "sort") or ["id"]
    for spec in reversed(specs):  # stable sorts, least significant first
        field, _colon, direction = spec.partition(":")
        if field not in fields or direction not in ("", "asc", "desc"):
            raise _invalid("sort", "'%s' is not one of %s (with :asc or :desc)" % (spec, ", ".join(fields)))
        items = sorted(items, key=lambda item, f=field: get(item, f), reverse=direction == "desc")
    return items


def _paginate(items: list, query: Mapping[str, list[str]]) -> tuple[list, dict[str, Any]]:
    numbers = {}
    for key, default in (("page", 1), ("per_page", PAGING[0])):
        raw = query.get(key, [str(default)])[-1]
        try:
            numbers[key] = int(raw)
        except ValueError:
            numbers[key] = 0
        if numbers[key] < 1:
            raise _invalid(key, "must be a positive integer, not '%s'" % raw)
    page, per_page = numbers["page"], min(numbers["per_page"], PAGING[1])
    last = max(1, math.ceil(len(items) / per_page))
    meta = {"pagination": {"page": page, "per_page": per_page,
                           "previous_page": page - 1 if page > 1 else None,
                           "next_page": page + 1 if page < last else None,
                           "last_page": last, "total_entries": len(items)}}
    return items[(page - 1) * per_page: page * per_page], meta


def _link_header(host: str | None, path: str, query: Mapping[str, list[str]],
                 pagination: Mapping[str, Any]) -> dict[str, str]:
    if not host:
        return {}
    links = []
    for rel, key in (("prev", "previous_page"), ("next", "next_page"), ("last", "last_page")):
        if pagination.get(key):
            params = [(k, v) for k, values in query.items() if k not in ("page", "per_page") for v in values]
            params += [("page", pagination[key]), ("per_page", pagination["per_page"])]
            links.append('<http://%s%s?%s>; rel="%s"' % (host, path, urlencode(params), rel))
    return {"Link": ", ".join(links)} if links else {}


def _json_body(body: bytes) -> Body:
    if not body:
        return {}
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("json_error", "request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ApiError("json_error", "request body must be a JSON object")
    return payload


def _fault(status: int, code: str | None, retry_after: int | None) -> ApiError:
    """An injected failure: 429 in Hetzner's envelope, 502/504 as a gateway's page, others as documented codes."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 429:
        headers.update({"RateLimit-Limit": str(RATE_LIMIT), "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(int(time.time()) + (retry_after or 1))})
        return ApiError(code or "rate_limit_exceeded", "limit of %d requests per hour reached" % RATE_LIMIT,
                        status=429, headers=headers)
    if status in (502, 504) and code is None:
        phrase = HTTPStatus(status).phrase
        return ApiError(str(status), phrase, status=status, headers=headers,
                        raw="<html><body><h1>%d %s</h1></body></html>" % (status, phrase))
    code = code or {500: "server_error", 503: "unavailable"}.get(status, "service_error")
    return ApiError(code, "%s (injected by the simulator)" % HTTPStatus(status).phrase, status=status, headers=headers)


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = cli_parser("Local simulator of the Hetzner Cloud API v1 (not Hetzner).")
    parser.add_argument("--servers", type=int, default=0, help="seed this many running servers")
    parser.add_argument("--name-format", default="mta-{:04d}", help="names of seeded servers")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="label of every seeded server (repeatable; default coldrig_role=mta)")
    parser.add_argument("--network", default=None, help="create this private network and attach seeded servers")
    parser.add_argument("--action-seconds", type=float, default=0.2, help="how long each Action runs")
    parser.add_argument("--no-rate-limit", action="store_true", help="do not enforce 3600 requests an hour")
    parser.add_argument("--no-datacenter", action="store_true",
                        help="answer without the datacenter property, as the API does since July 2026")
    args = parser.parse_args(argv)
    labels = dict(item.split("=", 1) for item in args.label) if args.label else {"coldrig_role": "mta"}
    sim = HcloudSimulator(tokens=args.token or ["test-token"], host=args.host, port=args.port,
                          rate_limit=None if args.no_rate_limit else RATE_LIMIT, action_seconds=args.action_seconds,
                          datacenter_property=not args.no_datacenter)
    networks = [sim.add_network(args.network)] if args.network else []
    locations = ("fsn1", "nbg1", "hel1")
    for i in range(1, args.servers + 1):
        sim.add_server(args.name_format.format(i), location=locations[i % 3], labels=labels, networks=networks)
    return serve_until_signalled(sim, lambda: {"servers": args.servers, "networks": networks})


if __name__ == "__main__":
    sys.exit(main())
