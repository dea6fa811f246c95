"""A local simulator of the documented DigitalOcean API v2 -- NOT DigitalOcean.

A stdlib-only HTTP server on 127.0.0.1 for tests and benchmarks. It answers the way the
public API reference (https://docs.digitalocean.com/reference/api/api-reference/, the
OpenAPI description in github.com/digitalocean/openapi) describes: resource roots
(``{"droplet": ...}``, ``{"droplets": [...], "links": {"pages": {...}}, "meta": {"total": N}}``),
the error envelope ``{"id", "message", "request_id"}``, ``Authorization: Bearer <token>``,
``RateLimit-Limit``/``-Remaining``/``-Reset`` on every answer (5000 requests an hour per
token, at most 250 in any minute; beyond either -> 429 ``too_many_requests`` with
``Retry-After``), and actions that complete asynchronously. The real ``python-digitalocean``
library works against it unchanged (its end point is ``base_url + "/"``, see ``end_point``).
Covered, under ``/v2`` (a trailing slash is accepted everywhere, as the library sends one):

* ``GET /account``;
* ``GET /droplets`` (``tag_name``, or ``name`` -- exact, case-insensitive --, ``type``
  ``droplets|gpus``, ``page``, ``per_page`` default 20, maximum 200; ``links.pages``
  ``first``/``prev``/``next``/``last`` as absolute URLs, ``meta.total``), ``GET|DELETE
  /droplets/{id}``, ``DELETE /droplets?tag_name=`` (204);
* ``POST /droplets`` with ``name`` or ``names`` (at most 10): ``name`` (the documented
  pattern, 255 characters at most), ``region`` (optional; a slug or a prefix such as
  ``nyc``), ``size``, ``image`` (slug or id), ``ssh_keys`` (ids or fingerprints of the
  account's keys), ``tags`` (created when missing), ``user_data`` (64 KiB at most),
  ``ipv6``, ``backups``, ``monitoring``, ``private_networking``, ``with_droplet_agent``,
  ``vpc_uuid``, ``volumes`` (only empty), and the account's droplet limit
  (``droplet_limit``, 10000 unless given; seeded droplets count). 202 with the droplet(s)
  in status ``new`` (no networks yet) and ``links.actions``; when the ``create`` action
  completes the droplet is ``active`` with a public IPv4, a private IPv4 in its region's
  default VPC and, with ``ipv6``, an IPv6 address;
* ``POST /droplets/{id}/actions`` (``power_on``, ``power_off``, ``shutdown``, ``reboot``,
  ``power_cycle``, ``rename``, ``enable_ipv6``, ``enable_backups``, ``disable_backups``,
  ``password_reset``, ``resize``), 201 ``{"action": ...}``; a second action while one is
  in progress -> 422 "Droplet already has a pending event."; ``POST /droplets/actions?tag_name=``
  for the types the API allows by tag (201 ``{"actions": [...]}``); ``GET
  /droplets/{id}/actions`` and ``/droplets/{id}/actions/{action_id}``;
* ``GET /actions`` and ``GET /actions/{id}``: ``in-progress``, then ``completed`` (or
  ``errored``, see ``fail_next_action``) after a configurable time or number of polls
  (``set_action_duration``);
* ``GET|POST /account/keys`` (the fingerprint is the MD5 of the key blob, colon-separated;
  the same key twice -> 422 "SSH Key is already in use on your account"), ``GET|PUT|DELETE
  /account/keys/{id or fingerprint}``;
* ``GET|POST /tags``, ``GET|DELETE /tags/{name}``, ``POST|DELETE /tags/{name}/resources``
  (droplets); tag names: letters, digits, colons, dashes, underscores, 255 at most (no
  dots), case-stable (the first spelling is canonical; lookups ignore case);
* ``GET /regions``, ``/sizes``, ``/images`` (``type``, ``private``) and ``/images/{id or
  slug}``: a fixed catalogue (regions ``nyc1 nyc3 sfo3 ams3 fra1 lon1 tor1 sgp1 blr1 syd1``;
  sizes ``s-1vcpu-512mb-10gb s-1vcpu-1gb s-1vcpu-2gb s-2vcpu-2gb s-2vcpu-4gb s-4vcpu-8gb``;
  images ``debian-12-x64 debian-13-x64 ubuntu-22-04-x64 ubuntu-24-04-x64 rockylinux-9-x64``).

Errors: 401 ``unauthorized`` ("Unable to authenticate you"), 404 ``not_found``, 422
``unprocessable_entity`` (messages that name the field and the reason), 400 ``bad_request``
(a body that is not a JSON object; ``POST /tags`` with an invalid name answers the
documented ``{"error", "messages", "root_causes"}`` shape instead), 429
``too_many_requests``; ``fail_next`` injects 429 and 5xx answers, ``fail_after_next`` a 5xx given
after the request was served (a droplet made, its answer lost).

Simplified on purpose:

* Addresses come from ranges reserved for testing: public IPv4 from 198.18.0.0/15
  (RFC 2544; ``ipv4_pool`` gives another range, e.g. ``127.0.202.0/24``, so that a test
  can listen on the addresses its droplets get), IPv6 from 2001:db8::/32 (RFC 3849),
  private IPv4 from a /16 per region (10.110.0.0/16 for the first region, and so on); each region has one VPC, its default,
  and ``vpc_uuid`` must name it. There is no PTR API on DigitalOcean and none here: the
  platform derives a droplet's PTR from its name when that is a FQDN.
* No volumes, snapshots, backups, kernels, firewalls, reserved IPs, load balancers,
  projects or GPU droplets; ``resize`` changes the size (the droplet must be off) and
  nothing else; action types not listed above -> 422. ``power_on`` on an active droplet,
  ``power_off``/``shutdown`` on an off one complete without changing anything;
  ``shutdown`` always works (a real guest may ignore it).
* An ``errored`` action changes nothing: a droplet whose ``create`` errored stays ``new``
  without networks.
* Deleting a droplet removes it at once (no ``destroy`` action), its actions stay listed.
* Tag creation for an existing name answers the existing tag (201). Only droplets can be
  tagged (``resource_type`` other than ``droplet`` -> 422); ``resource_id`` of no droplet -> 404.
* ``per_page`` above 200 is capped at 200; ``page``/``per_page`` that are not positive
  integers -> 400 ``bad_request``; ``tag_name`` with ``name`` or ``type`` -> 422.
* Every size is available in every region; ``image`` must be one of the catalogue's
  distribution images (the account has no snapshots or custom images).
* The rate limit counts each token's requests over a sliding hour and minute;
  ``RateLimit-Reset`` is when the oldest request of the hour expires, as documented.
* Droplets change status only through actions (``archive`` only by ``set_droplet_status``).
* Where DigitalOcean's message for an error is undocumented, the simulator answers the
  documented ``id`` for the status with a precise message of its own.
"""
from __future__ import annotations

import base64
import collections
import hashlib
import ipaddress
import json
import math
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

try:
    from tests.support.http_api import ApiSimulator, cli_parser, serve_until_signalled
except ImportError:  # run as a script, python tests/support/digitalocean_sim.py: its folder is on sys.path
    from http_api import ApiSimulator, cli_parser, serve_until_signalled  # type: ignore[no-redef]

API_PREFIX = "/v2"
PAGING = (20, 200)  # default and maximum per_page, as documented for every list
RATE_LIMIT = 5000  # requests per hour and token
BURST_LIMIT = 250  # requests per minute and token
MAX_MULTI_CREATE = 10
USER_DATA_MAX = 64 * 1024
DROPLET_LIMIT = 10000  # an account whose limit was raised; DigitalOcean starts new accounts far lower
DROPLET_STATUSES = ("new", "active", "off", "archive")
ACTION_TYPES = ("enable_backups", "disable_backups", "change_backup_policy", "reboot", "power_cycle", "shutdown",
                "power_off", "power_on", "restore", "password_reset", "resize", "rebuild", "rename",
                "change_kernel", "enable_ipv6", "snapshot")  # the documented enum
SIMULATED_ACTIONS = ("power_on", "power_off", "shutdown", "reboot", "power_cycle", "rename", "enable_ipv6",
                     "enable_backups", "disable_backups", "password_reset", "resize")
TAG_ACTIONS = ("enable_backups", "disable_backups", "power_cycle", "power_on", "power_off", "shutdown",
               "enable_ipv6", "enable_private_networking", "snapshot")  # allowed by tag, per the reference
SSH_KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
DROPLET_NAME = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")  # droplet_single_create.yml
TAG_NAME = re.compile(r"^[a-zA-Z0-9_\-:]+$")  # tags.yml
FINGERPRINT = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){15}$")
NOT_FOUND_MESSAGE = "The resource you were accessing could not be found."
PENDING_EVENT = "Droplet already has a pending event."

_REGIONS = (("nyc1", "New York 1"), ("nyc3", "New York 3"), ("sfo3", "San Francisco 3"),
            ("ams3", "Amsterdam 3"), ("fra1", "Frankfurt 1"), ("lon1", "London 1"), ("tor1", "Toronto 1"),
            ("sgp1", "Singapore 1"), ("blr1", "Bangalore 1"), ("syd1", "Sydney 1"))
_SIZES = (  # slug, memory MiB, vcpus, disk GiB, transfer TiB, USD a month
    ("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0), ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0), ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0), ("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0))
_IMAGES = (  # id, slug, distribution, name, min disk GiB, size GB
    (129211873, "debian-12-x64", "Debian", "12 x64", 10, 0.98),
    (197316283, "debian-13-x64", "Debian", "13 x64", 10, 1.05),
    (129211872, "ubuntu-22-04-x64", "Ubuntu", "22.04 (LTS) x64", 10, 2.24),
    (166123512, "ubuntu-24-04-x64", "Ubuntu", "24.04 (LTS) x64", 10, 2.43),
    (160175523, "rockylinux-9-x64", "Rocky Linux", "9 x64", 10, 1.49))
_REGION_FEATURES = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"]

Body = dict[str, Any]


class ApiError(Exception):
    """An error answered with DigitalOcean's ``{"id", "message", "request_id"}`` envelope."""

    def __init__(self, status: int, error_id: str, message: str, headers: Mapping[str, str] | None = None,
                 raw: Body | None = None):
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message
        self.headers = dict(headers or {})
        self.raw = raw  # another documented body shape (POST /tags: error/messages/root_causes)


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", NOT_FOUND_MESSAGE)


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_key_fingerprint(public_key: Any) -> str:
    """DigitalOcean's fingerprint of an OpenSSH public key: MD5 of the key blob, colon-separated hex.

    Raises ValueError when the text is not ``TYPE BASE64 [COMMENT]`` with a blob of that type.
    """
    parts = public_key.strip().split() if isinstance(public_key, str) else []
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise ValueError("not an OpenSSH public key of a known type")
    try:
        blob = base64.b64decode(parts[1].encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise ValueError("the key is not valid base64") from None
    if len(blob) < 4 or blob[4:4 + int.from_bytes(blob[:4], "big")].decode("ascii", "replace") != parts[0]:
        raise ValueError("the key blob does not start with its type %s" % parts[0])
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - the documented fingerprint, not security
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def valid_droplet_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 255 and bool(DROPLET_NAME.match(name))


def valid_tag_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 255 and bool(TAG_NAME.match(name))


def _int_param(query: Mapping[str, list[str]], key: str, default: int, maximum: int | None) -> int:
    if key not in query:
        return default
    raw = query[key][-1]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise _bad_request("%s must be a positive integer, got %r" % (key, raw))
    return min(value, maximum) if maximum else value


def _json_body(body: bytes) -> Body:
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_request("the request body is not valid JSON: %s" % exc) from None
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise _bad_request("the request body must be a JSON object")
    return payload


def _bool_field(body: Mapping[str, Any], field: str, default: bool = False) -> bool:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _unprocessable("%s must be a boolean, got %s" % (field, json.dumps(value)))
    return value


# ------------------------------------------------------------------ actions
class _Action:
    __slots__ = ("id", "type", "droplet_id", "region", "started_at", "completed_at", "status",
                 "due", "polls_left", "outcome", "effect")

    def __init__(self, action_id: int, action_type: str, droplet_id: int, region: Body, due: float,
                 polls: int | None, outcome: str, effect: Callable[[], None] | None):
        self.id, self.type, self.droplet_id, self.region = action_id, action_type, droplet_id, region
        self.started_at, self.completed_at, self.status = _now_iso(), None, "in-progress"
        self.due, self.polls_left, self.outcome, self.effect = due, polls, outcome, effect

    def present(self) -> Body:
        return {"id": self.id, "status": self.status, "type": self.type, "started_at": self.started_at,
                "completed_at": self.completed_at, "resource_id": self.droplet_id, "resource_type": "droplet",
                "region": self.region, "region_slug": self.region["slug"]}


# ---------------------------------------------------------------- simulator
class DigitalOceanSimulator(ApiSimulator):
    """In-process HTTP simulator of the DigitalOcean API v2 (droplets, actions, keys, tags) on 127.0.0.1."""

    server_name = "digitalocean-sim"
    api_prefix = API_PREFIX
    content_type = "application/json; charset=utf-8"
    empty_path_params = False

    def __init__(self, tokens: Iterable[str] = ("test-token",), host: str = "127.0.0.1", port: int = 0,
                 action_seconds: float = 0.1, droplet_limit: int = DROPLET_LIMIT,
                 rate_limit: int | None = RATE_LIMIT, burst_limit: int | None = BURST_LIMIT,
                 ipv4_pool: str = "198.18.0.0/15"):
        super().__init__(host, port)
        self.ipv4_pool = ipaddress.IPv4Network(ipv4_pool)
        self._tokens = frozenset(tokens)
        self._rate_limit, self._burst_limit = rate_limit, burst_limit
        self._token_log: dict[str, collections.deque[float]] = {}
        self._action_faults: list[str | None] = []
        self._action_seconds: dict[str | None, float] = {None: float(action_seconds)}
        self._action_polls: int | None = None
        self._droplet_limit = droplet_limit
        self._account = {
            "droplet_limit": droplet_limit, "floating_ip_limit": 3, "reserved_ip_limit": 3, "volume_limit": 100,
            "email": "sammy@example.test", "name": "Sammy the Shark", "uuid": uuid.uuid4().hex,
            "email_verified": True, "status": "active", "status_message": "",
            "team": {"uuid": uuid.uuid4().hex, "name": "Simulated team"},
        }
        self._regions = {slug: {"name": name, "slug": slug, "features": list(_REGION_FEATURES), "available": True,
                                "sizes": [s[0] for s in _SIZES]} for slug, name in _REGIONS}
        self._region_index = {slug: i for i, (slug, _name) in enumerate(_REGIONS)}
        self._vpcs = {slug: str(uuid.uuid5(uuid.NAMESPACE_URL, "coldrig-sim-vpc-%s" % slug)) for slug, _unused in _REGIONS}
        self._sizes = {slug: {"slug": slug, "memory": memory, "vcpus": vcpus, "disk": disk, "transfer": transfer,
                              "price_monthly": price, "price_hourly": round(price / 672.0, 5),
                              "regions": [r[0] for r in _REGIONS], "available": True, "description": "Basic",
                              "disk_info": [{"type": "local", "size": {"amount": disk, "unit": "gib"}}]}
                       for slug, memory, vcpus, disk, transfer, price in _SIZES}
        self._images = {iid: {"id": iid, "name": name, "distribution": dist, "slug": slug, "public": True,
                              "regions": [r[0] for r in _REGIONS], "created_at": "2026-01-15T10:00:00Z",
                              "type": "base", "min_disk_size": min_disk, "size_gigabytes": size_gb,
                              "description": "%s %s" % (dist, name), "tags": [], "status": "available",
                              "error_message": ""}
                        for iid, slug, dist, name, min_disk, size_gb in _IMAGES}
        self._droplets: dict[int, Body] = {}
        self._user_data: dict[int, str] = {}  # what the metadata service would serve; the API does not return it
        self._actions: dict[int, _Action] = {}
        self._pending: dict[int, int] = {}  # droplet id -> its in-progress action id
        self._ssh_keys: dict[int, Body] = {}
        self._tags: dict[str, str] = {}  # lower-case name -> canonical name
        self._addresses = {"public": 0, "ipv6": 0, "private": collections.Counter()}
        self._next_id = {"droplet": 400000000, "action": 2300000000, "ssh_key": 41000000}
        self._base = "http://%s:%d%s" % (host, port, API_PREFIX)  # per request: from its Host header
        self._routes = [
            ("GET", "/account", self._get_account),
            ("GET", "/droplets", self._list_droplets),
            ("POST", "/droplets", self._create_droplets),
            ("DELETE", "/droplets", self._delete_droplets_by_tag),
            ("POST", "/droplets/actions", self._post_tag_action),
            ("GET", "/droplets/{id}", self._get_droplet),
            ("DELETE", "/droplets/{id}", self._delete_droplet),
            ("GET", "/droplets/{id}/actions", self._list_droplet_actions),
            ("POST", "/droplets/{id}/actions", self._post_droplet_action),
            ("GET", "/droplets/{id}/actions/{action}", self._get_droplet_action),
            ("GET", "/actions", self._list_actions),
            ("GET", "/actions/{action}", self._get_action),
            ("GET", "/account/keys", self._list_ssh_keys),
            ("POST", "/account/keys", self._create_ssh_key),
            ("GET", "/account/keys/{key}", self._get_ssh_key),
            ("PUT", "/account/keys/{key}", self._update_ssh_key),
            ("DELETE", "/account/keys/{key}", self._delete_ssh_key),
            ("GET", "/tags", self._list_tags),
            ("POST", "/tags", self._create_tag),
            ("GET", "/tags/{tag}", self._get_tag),
            ("DELETE", "/tags/{tag}", self._delete_tag),
            ("POST", "/tags/{tag}/resources", self._tag_resources),
            ("DELETE", "/tags/{tag}/resources", self._untag_resources),
            ("GET", "/regions", self._list_regions),
            ("GET", "/sizes", self._list_sizes),
            ("GET", "/images", self._list_images),
            ("GET", "/images/{image}", self._get_image),
        ]

    # ---- lifecycle, base_url, request log: ApiSimulator
    @property
    def end_point(self) -> str:
        """``base_url`` with the trailing slash python-digitalocean's ``end_point`` needs (it urljoins onto it)."""
        return self.base_url + "/"

    # ---- Python API for tests and benchmarks
    def add_droplet(self, name: str, region: str = "nyc3", size: str = "s-1vcpu-1gb", image: str = "debian-12-x64",
                    tags: Iterable[str] = (), status: str = "active", ipv6: bool = True, backups: bool = False,
                    monitoring: bool = False) -> int:
        """Put a droplet straight into the account (no actions, no droplet limit, O(1)): returns its id.

        A droplet that is not ``new`` has its networks already; ``new`` has none (as when created).
        """
        with self._lock:
            if not valid_droplet_name(name):
                raise ValueError("invalid droplet name %r" % (name,))
            if status not in DROPLET_STATUSES:
                raise ValueError("status %r is not one of %s" % (status, ", ".join(DROPLET_STATUSES)))
            for attr, table, value in (("region", self._regions, region), ("size", self._sizes, size)):
                if value not in table:
                    raise ValueError("no %s %s in the catalogue" % (attr, value))
            image_obj = self._find_image(image)
            if image_obj is None:
                raise ValueError("no image %s in the catalogue" % image)
            tags = list(tags)
            for tag in tags:
                if not valid_tag_name(tag):
                    raise ValueError("invalid tag name %r" % (tag,))
            droplet = self._new_droplet(name, self._regions[region], self._sizes[size], image_obj,
                                        [self._ensure_tag(t) for t in tags], ipv6, backups, monitoring,
                                        self._vpcs[region], status)
            if status != "new":
                self._assign_networks(droplet)
            return droplet["id"]

    def add_droplets(self, names: Iterable[str], **kwargs: Any) -> list[int]:
        """``add_droplet`` for each name, with the same keyword arguments."""
        return [self.add_droplet(name, **kwargs) for name in names]

    def add_ssh_key(self, name: str, public_key: str) -> int:
        """Upload a key as POST /account/keys would (ValueError when the API would refuse it)."""
        with self._lock:
            try:
                return self._store_ssh_key({"name": name, "public_key": public_key})["id"]
            except ApiError as exc:
                raise ValueError(exc.message) from None

    def droplets(self) -> list[Body]:
        """Every droplet, as GET /droplets would present it, by id."""
        with self._lock:
            self._settle()
            return json.loads(json.dumps([self._droplets[i] for i in sorted(self._droplets)]))

    def droplet(self, ident: int | str) -> Body:
        """One droplet by id or (exact) name, as GET /droplets/{id} would present it."""
        with self._lock:
            self._settle()
            for droplet in self._droplets.values():
                if ident in (droplet["id"], droplet["name"]):
                    return json.loads(json.dumps(droplet))
            raise KeyError("no droplet %r" % (ident,))

    def user_data(self, ident: int | str) -> str | None:
        """The user data a droplet was created with (the droplet's metadata service; not part of the API's answer)."""
        with self._lock:
            return self._user_data.get(self.droplet(ident)["id"])

    def set_droplet_status(self, ident: int | str, status: str) -> None:
        """Force a droplet's status (e.g. ``archive``), as DigitalOcean itself might."""
        if status not in DROPLET_STATUSES:
            raise ValueError("status %r is not one of %s" % (status, ", ".join(DROPLET_STATUSES)))
        with self._lock:
            droplet = self._droplets[self.droplet(ident)["id"]]
            droplet["status"] = status

    def ssh_keys(self) -> list[Body]:
        with self._lock:
            return [dict(self._ssh_keys[i]) for i in sorted(self._ssh_keys)]

    def tags(self) -> list[str]:
        """The canonical names of every tag, sorted."""
        with self._lock:
            return sorted(self._tags.values())

    def actions(self) -> list[Body]:
        """Every action so far, oldest first."""
        with self._lock:
            self._settle()
            return [self._actions[i].present() for i in sorted(self._actions)]

    def set_action_duration(self, seconds: float | None = None, polls: int | None = None,
                            action_type: str | None = None) -> None:
        """How new actions complete: ``seconds`` after they start (for every type, or only ``action_type``),
        or after ``polls`` GETs of the action (every type)."""
        if (seconds is None) == (polls is None):
            raise ValueError("give either seconds or polls")
        if polls is not None and action_type is not None:
            raise ValueError("polls applies to every action type")
        with self._lock:
            if seconds is not None:
                self._action_seconds[action_type] = float(seconds)
                if action_type is None:
                    self._action_polls = None
            else:
                self._action_polls = int(polls)

    def fail_next(self, status: int = 429, error_id: str | None = None, times: int = 1,
                  retry_after: int | None = None, path: str | None = None, skip: int = 0) -> None:
        """Answer the next ``times`` requests (those whose path contains ``path``, if given; after letting
        ``skip`` of them through) with ``status`` (429 or 5xx) instead of serving them."""
        self._check_injectable(status)
        self._inject((status, error_id, retry_after), times, path, skip)

    def fail_after_next(self, method: str, path: str, status: int = 500, error_id: str | None = None) -> None:
        """Serve the next ``method`` request to ``path`` (e.g. ``POST /droplets``), then answer it with ``status``
        (5xx) instead: the droplet is made, and the client is told it failed."""
        if not 500 <= status <= 599:
            raise ValueError("fail_after_next injects 5xx answers")
        self._inject_late((status, error_id, None), method, API_PREFIX + path)

    def fail_next_action(self, action_type: str | None = None) -> None:
        """The next action started (of ``action_type``, if given) ends ``errored`` instead of ``completed``."""
        with self._lock:
            self._action_faults.append(action_type)

    # ---- request handling
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> tuple[int, Body | None, dict[str, str]]:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        path = unquote(url.path)
        request_id = str(uuid.uuid4())
        out_headers = {"X-Request-Id": request_id}
        with self._lock:
            entry = self._record(method, url)
            try:
                fault = self._take_fault(path)
                if fault is not None:
                    raise _fault(*fault)
                token = self._authenticate(headers)
                out_headers.update(self._count_request(token))
                handler, params = self._route(method, path)
                payload = _json_body(body) if method in ("POST", "PUT", "DELETE") else {}
                self._settle()
                self._base = "http://%s%s" % (host_header or "%s:%d" % self._server_address(), API_PREFIX)
                status, answer = handler(params, query, payload)
                late = self._take_late_fault(method, path)
                if late is not None:
                    raise _fault(*late)
            except ApiError as exc:
                out_headers.update(exc.headers)
                status = exc.status
                answer = exc.raw if exc.raw is not None else {
                    "id": exc.error_id, "message": exc.message, "request_id": request_id}
            entry["status"] = status
        return status, answer, out_headers

    def bug_answer(self, exc: Exception) -> Body:
        return {"id": "server_error", "message": "simulator bug: %s" % exc}

    def encode(self, status: int, payload: Any) -> tuple[str | None, bytes | None]:
        if status == 204:  # RFC 9110: no Content-Length (and no body) with 204
            return self.content_type, None
        return super().encode(status, payload)

    def _server_address(self) -> tuple[str, int]:
        return self._server.server_address[:2] if self._server is not None else (self.host, self.port)

    def _authenticate(self, headers: Mapping[str, str]) -> str:
        scheme, _space, token = (headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self._tokens:
            raise ApiError(401, "unauthorized", "Unable to authenticate you")
        return token

    def _count_request(self, token: str) -> dict[str, str]:
        """RateLimit headers; 429 beyond the hourly or the per-minute limit."""
        if self._rate_limit is None:
            return {}
        now = time.time()
        log = self._token_log.setdefault(token, collections.deque())
        while log and log[0] <= now - 3600:
            log.popleft()
        burst = sum(1 for stamp in log if stamp > now - 60) if self._burst_limit is not None else 0
        reset = int(math.ceil(log[0] + 3600)) if log else int(now) + 3600
        if len(log) >= self._rate_limit or (self._burst_limit is not None and burst >= self._burst_limit):
            if len(log) >= self._rate_limit:
                wait = log[0] + 3600 - now
            else:
                wait = [stamp for stamp in log if stamp > now - 60][0] + 60 - now
            headers = {"RateLimit-Limit": str(self._rate_limit),
                       "RateLimit-Remaining": str(max(0, self._rate_limit - len(log))),
                       "RateLimit-Reset": str(reset), "Retry-After": str(max(1, int(math.ceil(wait))))}
            raise ApiError(429, "too_many_requests", "API rate limit exceeded.", headers)
        log.append(now)
        return {"RateLimit-Limit": str(self._rate_limit), "RateLimit-Remaining": str(self._rate_limit - len(log)),
                "RateLimit-Reset": str(int(math.ceil(log[0] + 3600)))}

    def _route(self, method: str, path: str) -> tuple[Callable[..., tuple[int, Body | None]], dict[str, str]]:
        if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            raise _not_found()
        found = self._routed(method, path[len(API_PREFIX):].rstrip("/").split("/"))
        if found is None:
            raise _not_found()
        return found

    # ---- state
    def _new_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    def _find_image(self, ref: Any) -> Body | None:
        if isinstance(ref, int) and not isinstance(ref, bool):
            return self._images.get(ref)
        if isinstance(ref, str):
            if ref.isdigit():
                return self._images.get(int(ref))
            for image in self._images.values():
                if image["slug"] == ref:
                    return image
        return None

    def _ensure_tag(self, name: str) -> str:
        return self._tags.setdefault(name.lower(), name)

    def _activate(self, droplet: Body) -> Callable[[], None]:
        """The effect of a create action: the droplet is active and has its addresses."""
        def effect() -> None:
            droplet["status"] = "active"
            self._assign_networks(droplet)
        return effect

    def _new_droplet(self, name: str, region: Body, size: Body, image: Body, tags: list[str], ipv6: bool,
                     backups: bool, monitoring: bool, vpc_uuid: str, status: str) -> Body:
        features = ["private_networking"] + (["backups"] if backups else []) + (["ipv6"] if ipv6 else [])
        features += ["monitoring"] if monitoring else []
        droplet = {
            "id": self._new_id("droplet"), "name": name, "memory": size["memory"], "vcpus": size["vcpus"],
            "disk": size["disk"], "disk_info": size["disk_info"], "locked": False, "status": status,
            "kernel": None, "created_at": _now_iso(), "features": features, "backup_ids": [],
            "next_backup_window": None, "snapshot_ids": [], "image": image, "volume_ids": [], "size": size,
            "size_slug": size["slug"], "networks": {"v4": [], "v6": []}, "region": region, "tags": tags,
            "vpc_uuid": vpc_uuid,
        }
        self._droplets[droplet["id"]] = droplet
        return droplet

    def _assign_networks(self, droplet: Body) -> None:
        region_index = self._region_index[droplet["region"]["slug"]]
        self._addresses["public"] += 1
        public = self.ipv4_pool.network_address + 16 + self._addresses["public"]
        if public not in self.ipv4_pool or public == self.ipv4_pool.broadcast_address:
            raise RuntimeError("no public IPv4 address left in the simulator's pool %s" % self.ipv4_pool)
        subnet = ipaddress.ip_network("%s/%d" % (public, max(self.ipv4_pool.prefixlen, 20)), strict=False)
        gateway = subnet.network_address + 1
        self._addresses["private"][region_index] += 1
        private = ipaddress.ip_address("10.%d.0.0" % (110 + region_index)) + 1 + self._addresses["private"][region_index]
        droplet["networks"]["v4"] = [
            {"ip_address": str(private), "netmask": "255.255.0.0", "gateway": None, "type": "private"},
            {"ip_address": str(public), "netmask": str(subnet.netmask), "gateway": str(gateway), "type": "public"},
        ]
        if "ipv6" in droplet["features"]:
            self._add_ipv6(droplet)

    def _add_ipv6(self, droplet: Body) -> None:
        region_index = self._region_index[droplet["region"]["slug"]]
        self._addresses["ipv6"] += 1
        prefix = ipaddress.ip_network("2001:db8:%x:1::/64" % (0xd0 + region_index))
        address = prefix.network_address + 0x1000 + 16 * self._addresses["ipv6"] + 1
        droplet["networks"]["v6"] = [{"ip_address": address.compressed, "netmask": 64,
                                      "gateway": (prefix.network_address + 1).compressed, "type": "public"}]

    def _settle(self, now: float | None = None) -> None:
        """Complete the in-progress actions whose time has come."""
        if not self._pending:
            return
        now = time.monotonic() if now is None else now
        for droplet_id, action_id in list(self._pending.items()):
            action = self._actions[action_id]
            if action.polls_left is None and action.due <= now:
                self._finish(action)

    def _finish(self, action: _Action) -> None:
        action.status = action.outcome
        action.completed_at = _now_iso()
        if self._pending.get(action.droplet_id) == action.id:
            del self._pending[action.droplet_id]
        if action.outcome == "completed" and action.effect is not None and action.droplet_id in self._droplets:
            action.effect()

    def _start_action(self, droplet: Body, action_type: str, effect: Callable[[], None] | None) -> _Action:
        seconds = self._action_seconds.get(action_type, self._action_seconds[None])
        outcome = "completed"
        for index, wanted in enumerate(self._action_faults):
            if wanted is None or wanted == action_type:
                del self._action_faults[index]
                outcome = "errored"
                break
        action = _Action(self._new_id("action"), action_type, droplet["id"], droplet["region"],
                         time.monotonic() + seconds, self._action_polls, outcome, effect)
        self._actions[action.id] = action
        self._pending[droplet["id"]] = action.id
        return action

    def _poll(self, action: _Action) -> Body:
        """An action as a GET presents it, counting the GET for poll-based completion."""
        if action.status == "in-progress" and action.polls_left is not None:
            action.polls_left -= 1
            if action.polls_left <= 0:
                self._finish(action)
        return action.present()

    def _droplet(self, ident: str) -> Body:
        try:
            return self._droplets[int(ident)]
        except (KeyError, ValueError):
            raise _not_found() from None

    def _action(self, ident: str) -> _Action:
        try:
            return self._actions[int(ident)]
        except (KeyError, ValueError):
            raise _not_found() from None

    def _tag(self, name: str) -> str:
        if name.lower() not in self._tags:
            raise _not_found()
        return self._tags[name.lower()]

    def _ssh_key(self, ident: str) -> Body:
        if ident.isdigit() and int(ident) in self._ssh_keys:
            return self._ssh_keys[int(ident)]
        for key in self._ssh_keys.values():
            if key["fingerprint"] == ident.lower():
                return key
        raise _not_found()

    def _store_ssh_key(self, body: Mapping[str, Any]) -> Body:
        name, public_key = body.get("name"), body.get("public_key")
        if not isinstance(name, str) or not name.strip():
            raise _unprocessable("name is required: a display name for the SSH key")
        if not isinstance(public_key, str) or not public_key.strip():
            raise _unprocessable("public_key is required: the full OpenSSH public key (TYPE BASE64 [COMMENT])")
        try:
            fingerprint = public_key_fingerprint(public_key)
        except ValueError as exc:
            raise _unprocessable("Key invalid, type not supported or key malformed: %s" % exc) from None
        if any(k["fingerprint"] == fingerprint for k in self._ssh_keys.values()):
            raise _unprocessable("SSH Key is already in use on your account")
        key = {"id": self._new_id("ssh_key"), "fingerprint": fingerprint, "public_key": public_key.strip(),
               "name": name}
        self._ssh_keys[key["id"]] = key
        return key

    # ---- pagination
    def _page(self, items: list[Any], query: Mapping[str, list[str]], key: str, path: str,
              present: Callable[[Any], Any] = lambda item: item) -> Body:
        per_page = _int_param(query, "per_page", PAGING[0], PAGING[1])
        page = _int_param(query, "page", 1, None)
        last = max(1, int(math.ceil(len(items) / float(per_page))))
        keep = [(k, v) for k, values in sorted(query.items()) if k not in ("page", "per_page") for v in values]

        def link(number: int) -> str:
            return "%s%s?%s" % (self._base, quote(path), urlencode(keep + [("page", number), ("per_page", per_page)]))

        pages: dict[str, str] = {}
        if page > 1:
            pages["first"] = link(1)
            pages["prev"] = link(min(page - 1, last))
        if page < last:
            pages["last"] = link(last)
            pages["next"] = link(page + 1)
        chunk = items[(page - 1) * per_page:page * per_page]
        return {key: [present(item) for item in chunk], "links": {"pages": pages}, "meta": {"total": len(items)}}

    # ---- endpoint handlers: (path params, query, JSON body) -> (status, body)
    def _get_account(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"account": self._account}

    def _list_droplets(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        tag, name, kind = (query.get(k, [None])[-1] for k in ("tag_name", "name", "type"))
        if tag is not None and (name is not None or kind is not None):
            raise _unprocessable("tag_name cannot be combined with name or type")
        if kind not in (None, "droplets", "gpus"):
            raise _unprocessable("type must be droplets or gpus, got %r" % kind)
        droplets = [self._droplets[i] for i in sorted(self._droplets)] if kind != "gpus" else []
        if tag is not None:
            droplets = [d for d in droplets if tag.lower() in (t.lower() for t in d["tags"])]
        if name is not None:
            droplets = [d for d in droplets if d["name"].lower() == name.lower()]
        return 200, self._page(droplets, query, "droplets", "/droplets")

    def _get_droplet(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"droplet": self._droplet(params["id"])}

    def _delete_droplet(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        droplet = self._droplet(params["id"])
        del self._droplets[droplet["id"]]
        self._pending.pop(droplet["id"], None)
        return 204, None

    def _delete_droplets_by_tag(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        tag = query.get("tag_name", [""])[-1]
        if not tag:
            raise _unprocessable("tag_name is required to delete droplets by tag")
        for droplet in [d for d in self._droplets.values() if tag.lower() in (t.lower() for t in d["tags"])]:
            del self._droplets[droplet["id"]]
            self._pending.pop(droplet["id"], None)
        return 204, None

    def _create_droplets(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        if ("name" in body) == ("names" in body):
            raise _unprocessable("give either name (one droplet) or names (up to %d droplets)" % MAX_MULTI_CREATE)
        multi = "names" in body
        names = body["names"] if multi else [body["name"]]
        if multi and (not isinstance(names, list) or not 1 <= len(names) <= MAX_MULTI_CREATE):
            raise _unprocessable("names must be a list of 1 to %d droplet names" % MAX_MULTI_CREATE)
        for index, name in enumerate(names):
            if not valid_droplet_name(name):
                field = "names[%d]" % index if multi else "name"
                raise _unprocessable("%s: %s is not a valid droplet name: letters, digits, dots and dashes, "
                                     "ending with a letter or digit, at most 255 characters"
                                     % (field, json.dumps(name)))
        size = self._sizes.get(body.get("size")) if isinstance(body.get("size"), str) else None
        if size is None:
            raise _unprocessable("You specified an invalid size for Droplet creation.")
        image = self._find_image(body.get("image"))
        if image is None:
            raise _unprocessable("You specified an invalid image for Droplet creation.")
        region_ref = body.get("region")
        if region_ref is None:
            region = self._regions[_REGIONS[0][0]]
        elif isinstance(region_ref, str) and region_ref in self._regions:
            region = self._regions[region_ref]
        elif isinstance(region_ref, str) and any(slug.rstrip("0123456789") == region_ref for slug in self._regions):
            region = [r for s, r in self._regions.items() if s.rstrip("0123456789") == region_ref][-1]
        else:
            raise _unprocessable("You specified an invalid region for Droplet creation.")
        if size["slug"] not in region["sizes"]:
            raise _unprocessable("Size is not available in this region.")
        if image["min_disk_size"] > size["disk"]:
            raise _unprocessable("image %s needs a disk of %d GB, size %s has %d GB"
                                 % (image["slug"], image["min_disk_size"], size["slug"], size["disk"]))
        self._check_ssh_keys(body.get("ssh_keys"))
        tags = self._check_tags(body.get("tags"))
        user_data = body.get("user_data")
        if user_data is not None and not isinstance(user_data, str):
            raise _unprocessable("user_data must be a string")
        if user_data is not None and len(user_data.encode("utf-8")) > USER_DATA_MAX:
            raise _unprocessable("user_data is %d bytes; it may not exceed 64 KiB" % len(user_data.encode("utf-8")))
        ipv6, backups, monitoring = (_bool_field(body, f) for f in ("ipv6", "backups", "monitoring"))
        _bool_field(body, "private_networking")
        _bool_field(body, "with_droplet_agent")
        if not _bool_field(body, "public_networking", True):
            raise _unprocessable("public_networking: false is not simulated")
        vpc_uuid = body.get("vpc_uuid")
        if vpc_uuid is not None and vpc_uuid != self._vpcs[region["slug"]]:
            raise _unprocessable("vpc_uuid %s is not a VPC of region %s" % (json.dumps(vpc_uuid), region["slug"]))
        if body.get("volumes"):
            raise _unprocessable("volumes: block storage is not simulated; send no volumes")
        if len(self._droplets) + len(names) > self._droplet_limit:
            raise _unprocessable("creating this/these droplet(s) will exceed your droplet limit (%d)"
                                 % self._droplet_limit)
        created, links = [], []
        for name in names:
            droplet = self._new_droplet(name, region, size, image, [self._ensure_tag(t) for t in tags], ipv6,
                                        backups, monitoring, self._vpcs[region["slug"]], "new")

            action = self._start_action(droplet, "create", self._activate(droplet))
            if user_data is not None:
                self._user_data[droplet["id"]] = user_data
            created.append(droplet)
            links.append({"id": action.id, "rel": "create", "href": "%s/actions/%d" % (self._base, action.id)})
        answer: Body = {"droplets": created} if multi else {"droplet": created[0]}
        answer["links"] = {"actions": links}
        return 202, answer

    def _check_ssh_keys(self, keys: Any) -> None:
        if keys is None:
            return
        if not isinstance(keys, list):
            raise _unprocessable("ssh_keys must be a list of SSH key ids or fingerprints")
        for index, ref in enumerate(keys):
            ok = (isinstance(ref, int) and not isinstance(ref, bool) and ref in self._ssh_keys) or (
                isinstance(ref, str) and any(ref.lower() in (str(k["id"]), k["fingerprint"])
                                             for k in self._ssh_keys.values()))
            if not ok:
                raise _unprocessable("ssh_keys[%d]: %s is neither the id nor the fingerprint of an SSH key of "
                                     "this account" % (index, json.dumps(ref)))

    @staticmethod
    def _check_tags(tags: Any) -> list[str]:
        if tags is None:
            return []
        if not isinstance(tags, list):
            raise _unprocessable("tags must be a list of tag names")
        for index, tag in enumerate(tags):
            if not valid_tag_name(tag):
                raise _unprocessable("tags[%d]: %s is not a valid tag name: letters, numbers, colons, dashes and "
                                     "underscores only, at most 255 characters" % (index, json.dumps(tag)))
        return list(dict.fromkeys(tags))

    def _action_effect(self, droplet: Body, body: Body) -> tuple[str, Callable[[], None] | None]:
        """Validate an action request on one droplet; (type, what it does when it completes)."""
        kind = body.get("type")
        if kind not in ACTION_TYPES:
            raise _unprocessable("type: %s is not a droplet action type (one of %s)"
                                 % (json.dumps(kind), ", ".join(ACTION_TYPES)))
        if kind not in SIMULATED_ACTIONS:
            raise _unprocessable("type: the %s action is not simulated" % kind)
        if droplet["id"] in self._pending:
            raise _unprocessable(PENDING_EVENT)

        def set_status(status: str) -> Callable[[], None]:
            def apply() -> None:
                droplet["status"] = status
            return apply

        if kind in ("power_off", "shutdown"):
            return kind, set_status("off") if droplet["status"] == "active" else None
        if kind in ("power_on", "reboot", "power_cycle"):
            return kind, set_status("active") if droplet["status"] in ("active", "off") else None
        if kind == "rename":
            name = body.get("name")
            if not valid_droplet_name(name):
                raise _unprocessable("name: %s is not a valid droplet name: letters, digits, dots and dashes, "
                                     "ending with a letter or digit, at most 255 characters"
                                     % json.dumps(name))
            return kind, lambda: droplet.__setitem__("name", name)
        if kind == "enable_ipv6":
            def enable() -> None:
                if "ipv6" not in droplet["features"]:
                    droplet["features"].append("ipv6")
                if not droplet["networks"]["v6"] and droplet["networks"]["v4"]:
                    self._add_ipv6(droplet)
            return kind, enable
        if kind in ("enable_backups", "disable_backups"):
            def backups(on: bool = kind == "enable_backups") -> None:
                features = [f for f in droplet["features"] if f != "backups"]
                droplet["features"] = features + (["backups"] if on else [])
            return kind, backups
        if kind == "resize":
            size = self._sizes.get(body.get("size")) if isinstance(body.get("size"), str) else None
            if size is None:
                raise _unprocessable("size: %s is not a size slug" % json.dumps(body.get("size")))
            if droplet["status"] != "off":
                raise _unprocessable("Droplet must be powered off before resizing.")

            def resize() -> None:
                droplet.update(size=size, size_slug=size["slug"], memory=size["memory"], vcpus=size["vcpus"],
                               disk=size["disk"], disk_info=size["disk_info"])
            return kind, resize
        return kind, None  # password_reset: nothing visible through the API

    def _post_droplet_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        droplet = self._droplet(params["id"])
        kind, effect = self._action_effect(droplet, body)
        return 201, {"action": self._start_action(droplet, kind, effect).present()}

    def _post_tag_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        tag = query.get("tag_name", [""])[-1]
        if not tag:
            raise _unprocessable("tag_name is required to act on droplets by tag")
        if body.get("type") not in TAG_ACTIONS:
            raise _unprocessable("type: %s cannot be applied by tag (one of %s)"
                                 % (json.dumps(body.get("type")), ", ".join(TAG_ACTIONS)))
        droplets = [self._droplets[i] for i in sorted(self._droplets)
                    if tag.lower() in (t.lower() for t in self._droplets[i]["tags"])]
        planned = [(d, self._action_effect(d, body)) for d in droplets]  # all validated before any starts
        return 201, {"actions": [self._start_action(d, kind, effect).present() for d, (kind, effect) in planned]}

    def _list_droplet_actions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        droplet = self._droplet(params["id"])
        actions = [self._actions[i] for i in sorted(self._actions) if self._actions[i].droplet_id == droplet["id"]]
        return 200, self._page(actions, query, "actions", "/droplets/%d/actions" % droplet["id"], self._poll)

    def _get_droplet_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        droplet, action = self._droplet(params["id"]), self._action(params["action"])
        if action.droplet_id != droplet["id"]:
            raise _not_found()
        return 200, {"action": self._poll(action)}

    def _list_actions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        actions = [self._actions[i] for i in sorted(self._actions)]
        return 200, self._page(actions, query, "actions", "/actions", self._poll)

    def _get_action(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"action": self._poll(self._action(params["action"]))}

    def _list_ssh_keys(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, self._page([self._ssh_keys[i] for i in sorted(self._ssh_keys)], query, "ssh_keys", "/account/keys")

    def _create_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 201, {"ssh_key": self._store_ssh_key(body)}

    def _get_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"ssh_key": self._ssh_key(params["key"])}

    def _update_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        key = self._ssh_key(params["key"])
        name = body.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise _unprocessable("name must be a non-empty string")
            key["name"] = name
        return 200, {"ssh_key": key}

    def _delete_ssh_key(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        del self._ssh_keys[self._ssh_key(params["key"])["id"]]
        return 204, None

    def _present_tag(self, name: str) -> Body:
        tagged = [d for d in self._droplets.values() if name in d["tags"]]
        last = "%s/droplets/%d" % (self._base, tagged[-1]["id"]) if tagged else ""
        droplets = {"count": len(tagged), "last_tagged_uri": last} if tagged else {"count": 0}
        resources: Body = {"count": len(tagged)}
        if tagged:
            resources["last_tagged_uri"] = last
        resources.update(droplets=droplets, images={"count": 0}, volumes={"count": 0},
                         volume_snapshots={"count": 0}, databases={"count": 0})
        return {"name": name, "resources": resources}

    def _list_tags(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        names = sorted(self._tags.values())
        return 200, self._page(names, query, "tags", "/tags", self._present_tag)

    def _create_tag(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        name = body.get("name")
        if not valid_tag_name(name):
            text = "Error validating resource tag: \"tag-name %s contains invalid characters\"" % json.dumps(name)
            if isinstance(name, str) and len(name) > 255:
                text = "Error validating resource tag: \"tag-name is longer than 255 characters\""
            raise ApiError(400, "bad_request", text, raw={
                "error": text, "messages": None,
                "root_causes": ["rpc error: code = InvalidArgument desc = %s" % text]})
        return 201, {"tag": self._present_tag(self._ensure_tag(name))}

    def _get_tag(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, {"tag": self._present_tag(self._tag(params["tag"]))}

    def _delete_tag(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        name = self._tag(params["tag"])
        for droplet in self._droplets.values():
            if name in droplet["tags"]:
                droplet["tags"] = [t for t in droplet["tags"] if t != name]
        del self._tags[name.lower()]
        return 204, None

    def _tagged_droplets(self, body: Body) -> list[Body]:
        resources = body.get("resources")
        if not isinstance(resources, list) or not resources:
            raise _unprocessable("resources must be a non-empty list of {resource_id, resource_type}")
        droplets = []
        for index, item in enumerate(resources):
            if not isinstance(item, dict) or item.get("resource_type") != "droplet":
                raise _unprocessable("resources[%d].resource_type: only droplet is simulated" % index)
            droplets.append(self._droplet(str(item.get("resource_id"))))
        return droplets

    def _tag_resources(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        name = self._tag(params["tag"])
        for droplet in self._tagged_droplets(body):
            if name not in droplet["tags"]:
                droplet["tags"] = droplet["tags"] + [name]
        return 204, None

    def _untag_resources(self, params: dict, query: dict, body: Body) -> tuple[int, None]:
        name = self._tag(params["tag"])
        for droplet in self._tagged_droplets(body):
            droplet["tags"] = [t for t in droplet["tags"] if t != name]
        return 204, None

    def _list_regions(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, self._page(list(self._regions.values()), query, "regions", "/regions")

    def _list_sizes(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        return 200, self._page(list(self._sizes.values()), query, "sizes", "/sizes")

    def _list_images(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        kind = query.get("type", [None])[-1]
        private = query.get("private", ["false"])[-1].lower() == "true"
        images = [self._images[i] for i in sorted(self._images)]
        if private:
            images = []  # the account has no snapshots, backups or custom images
        if kind is not None:
            images = [i for i in images if kind == "distribution"] if kind in ("distribution", "application") else []
        return 200, self._page(images, query, "images", "/images")

    def _get_image(self, params: dict, query: dict, body: Body) -> tuple[int, Body]:
        image = self._find_image(params["image"])
        if image is None:
            raise _not_found()
        return 200, {"image": image}


def _fault(status: int, error_id: str | None, retry_after: int | None) -> ApiError:
    """An injected failure: 429 as DigitalOcean's throttle answer (with Retry-After), 5xx as server errors."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 429:
        return ApiError(429, error_id or "too_many_requests", "API rate limit exceeded.", headers)
    return ApiError(status, error_id or "server_error", "Unexpected server-side error (%s)" % HTTPStatus(status).phrase,
                    headers)


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = cli_parser("Local simulator of the DigitalOcean API v2 (not DigitalOcean).")
    parser.add_argument("--droplets", type=int, default=0, help="seed this many active droplets")
    parser.add_argument("--name-format", default="mta-{:04d}.example.test", help="names of seeded droplets")
    parser.add_argument("--tag", action="append", default=[],
                        help="tag of every seeded droplet (repeatable; default coldrig_role:mta)")
    parser.add_argument("--action-seconds", type=float, default=0.5, help="how long each action runs")
    parser.add_argument("--droplet-limit", type=int, default=DROPLET_LIMIT,
                        help="how many droplets the account may create through the API")
    parser.add_argument("--no-rate-limit", action="store_true", help="do not enforce 5000 an hour / 250 a minute")
    args = parser.parse_args(argv)
    tags = args.tag or ["coldrig_role:mta"]
    limit = None if args.no_rate_limit else RATE_LIMIT
    sim = DigitalOceanSimulator(tokens=args.token or ["test-token"], host=args.host, port=args.port,
                                action_seconds=args.action_seconds, droplet_limit=args.droplet_limit,
                                rate_limit=limit, burst_limit=None if args.no_rate_limit else BURST_LIMIT)
    regions = ("nyc3", "ams3", "fra1")
    for i in range(1, args.droplets + 1):
        sim.add_droplet(args.name_format.format(i), region=regions[i % 3], tags=tags)
    return serve_until_signalled(sim, lambda: {"end_point": sim.end_point, "droplets": args.droplets})


if __name__ == "__main__":
    sys.exit(main())
