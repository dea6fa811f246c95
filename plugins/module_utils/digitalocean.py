# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig's DigitalOcean client, built on the ``python-digitalocean`` library.

Shared by the ``coldrig.infra.digitalocean`` inventory plugin and the ``server`` and
``rdns`` modules: listing droplets with the filters the inventory offers, the normalised
host variables of a droplet, SSH keys matched by fingerprint, droplets created and
waited for until they are active, power, renaming, tagging and deletion.

Every request is made here, with httpx (one HTTP client per DigitalOceanClient: Bearer
header, this client's end point and timeout). python-digitalocean's public request
methods are not used: its errors drop the HTTP status, the API's error id and the
``Retry-After`` header, and the objects it creates internally (actions, keys, droplets
from a listing) read the end point from ``DIGITALOCEAN_END_POINT`` or fall back to the
real API. Droplets, SSH keys and actions are still returned as the library's objects
(``digitalocean.Droplet`` ...), built with their public constructors, this client's token
and end point.

Every failure is a DigitalOceanError carrying the API's error id and message, the HTTP
status and what was being done. Requests are retried by the shared policy of
``retry.py`` (429 honouring ``Retry-After`` or ``RateLimit-Reset``; 5xx and lost answers
only for requests that are safe to repeat). The API token lives only in the HTTP
client's headers and the library's objects: no error text or repr shows it.

DigitalOcean has no PTR API: it sets the PTR of a droplet's public IPv4 address (and of
the first IPv6 address) to the droplet's name when the name is a fully qualified domain
name. So a droplet's ``coldrig_ptr`` is its name when that is a FQDN, and a mail host's
droplet must be named (or renamed, the ``rename`` action) after the mail host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
import traceback

from urllib.parse import parse_qs, quote, urlencode, urlsplit

try:
    import digitalocean
    import httpx
    # retry.py's policy needs it: its absence is told here, with the other libraries
    import tenacity  # noqa: F401 pylint: disable=unused-import
    HAS_DIGITALOCEAN = True
    DIGITALOCEAN_IMPORT_ERROR = None
except ImportError:
    HAS_DIGITALOCEAN = False
    DIGITALOCEAN_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.api_common import (
    as_list,
    made_anyway,
    openssh_fingerprint,
    poll_status,
    retry_after as _retry_after,
)
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import normalise_host_vars
from ansible_collections.coldrig.infra.plugins.module_utils.retry import IDEMPOTENT, RetryPolicy, retryable
from ansible_collections.coldrig.infra.plugins.module_utils.validate import fqdn_problem

PROVIDER = "digitalocean"
DEFAULT_ENDPOINT = "https://api.digitalocean.com/v2"
TOKEN_ENV = ("DIGITALOCEAN_TOKEN", "DO_API_TOKEN", "DO_API_KEY", "DO_OAUTH_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request
ACTION_TIMEOUT = 600.0  # seconds to wait for actions (creating a droplet takes about a minute)
POLL_INTERVAL = 2.0  # seconds between two polls of an in-progress action
MAX_RETRIES = 5  # retries of a rate-limited or failed request (retry.py's policy)
MAX_WAIT = 60.0  # longest wait before a retry; a longer Retry-After fails at once
USER_AGENT = "coldrig.infra"
PER_PAGE = 200  # the documented maximum
CONNECT_WITH = ("public_ipv4", "public_ipv6", "private_ipv4", "name")
DROPLET_STATUSES = ("new", "active", "off", "archive")

TOKEN_HELP = ("set DIGITALOCEAN_TOKEN or api_token to a personal access token of the team "
              "(API > Tokens in the DigitalOcean control panel)")

_DROPLET_NAME = re.compile(r"^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$")
_TAG = re.compile(r"^[a-zA-Z0-9_\-:]+$")
_FINGERPRINT = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){15}$")
_PENDING_EVENT = "pending event"  # 422 "Droplet already has a pending event."


class DigitalOceanError(Exception):
    """A failed DigitalOcean call: what was being done, the API's error id and message, the HTTP status."""

    def __init__(self, message, error_id=None, status=None, request_id=None, doing=None, retry_after=None,
                 retryable=False):
        self.message = message
        self.error_id = error_id
        self.status = status
        self.request_id = request_id
        self.doing = doing
        self.retry_after, self.retryable = retry_after, retryable
        self.retry_note = None  # set by the retry policy when it did not wait for a long Retry-After
        self.attempts = 1
        super(DigitalOceanError, self).__init__(message, error_id, status)

    def __str__(self):
        if self.status == 401 or (self.error_id or "").lower() == "unauthorized":
            text = "the DigitalOcean API token is wrong or lacks access (%s): %s" % (self.message, TOKEN_HELP)
        elif self.status == 403 or (self.error_id or "").lower() == "forbidden":
            text = ("the DigitalOcean API token lacks a scope this needs (%s): the inventory needs read access, "
                    "creating and changing droplets read and write" % self.message)
        else:
            text = self.message
        if self.retry_note:
            text = "%s; %s" % (text, self.retry_note)
        tags = [str(self.error_id)] if self.error_id else []
        if self.status is not None:
            tags.append("HTTP %s" % self.status)
        if self.attempts > 1:
            tags.append("after %d attempts" % self.attempts)
        if self.request_id:
            tags.append("request id %s" % self.request_id)
        text = "%s (%s)" % (text, ", ".join(tags)) if tags else text
        return "%s: %s" % (self.doing, text) if self.doing else text

    def __repr__(self):
        return "DigitalOceanError(%r)" % str(self)


# ------------------------------------------------------------------ checks
def check_token(api_token):
    """Raise a DigitalOceanError, never showing the value, when the token cannot be sent as a Bearer header."""
    if not api_token:
        raise DigitalOceanError("no DigitalOcean API token: %s" % TOKEN_HELP, error_id="unauthorized")
    if not all(33 <= ord(char) <= 126 for char in api_token):
        raise DigitalOceanError("the DigitalOcean API token contains spaces or characters that are not printable "
                                "ASCII (a stray newline from a file or vault?): %s" % TOKEN_HELP)


def check_droplet_name(name, field="name"):
    """Raise a DigitalOceanError naming ``field`` unless ``name`` is a name DigitalOcean accepts for a droplet."""
    if not isinstance(name, str) or not 0 < len(name) <= 255 or not _DROPLET_NAME.match(name):
        raise DigitalOceanError("%s: %r is not a valid droplet name: letters, digits, dots and dashes, starting and "
                                "ending with a letter or digit, at most 255 characters" % (field, name))


def check_tag(tag, field="tags"):
    """Raise a DigitalOceanError naming ``field`` unless ``tag`` is a valid DigitalOcean tag name."""
    if not isinstance(tag, str) or not 0 < len(tag) <= 255 or not _TAG.match(tag):
        raise DigitalOceanError("%s: %r is not a valid DigitalOcean tag: letters, digits, colons, dashes and "
                                "underscores only (no dots), at most 255 characters" % (field, tag))


def is_fqdn(name):
    """True when ``name`` is a fully qualified host name (two or more labels, a TLD that is not a number)."""
    return fqdn_problem(name) is None  # the one rule for host names (validate.py)


def ssh_key_fingerprint(public_key, field="public_key"):
    """The fingerprint DigitalOcean gives an OpenSSH public key: MD5 of the key blob, colon-separated hex."""
    fingerprint = openssh_fingerprint(public_key)
    if fingerprint is None:
        raise DigitalOceanError("%s: not an OpenSSH public key 'TYPE BASE64 [COMMENT]' "
                                "(as in ~/.ssh/id_ed25519.pub): %r" % (field, (public_key or "")[:40]))
    return fingerprint


# ------------------------------------------------------------- host variables
def tag_labels(tags):
    """(labels, conflicts): coldrig labels from DigitalOcean tags.

    A tag ``key:value`` (split at the first colon) is the label ``key`` = ``value``, so
    ``coldrig_role:mta`` gives ``{"coldrig_role": "mta"}``; any other tag is a label with an
    empty value (``web`` gives ``{"web": ""}``), like a Hetzner label without a value. When
    one key has several values, the first tag (in the API's order) wins and the key is
    listed in ``conflicts``; an empty value never replaces a value.
    """
    labels, conflicts = {}, []
    for tag in tags or []:
        key, sep, value = tag.partition(":")
        if not sep or not key:
            key, value = tag, ""
        if key not in labels or labels[key] == "":
            labels[key] = value
        elif value and value != labels[key] and key not in conflicts:
            conflicts.append(key)
    return labels, conflicts


def _attr(droplet, name, default=None):
    if isinstance(droplet, dict):
        return droplet.get(name, default)
    value = getattr(droplet, name, default)
    return default if value is None else value


def _first_address(networks, family, kind):
    for net in (networks or {}).get(family) or []:
        if isinstance(net, dict) and net.get("type") == kind and net.get("ip_address"):
            return net["ip_address"]
    return None


def droplet_facts(droplet):
    """The ``do_*`` variables of one droplet, as plain JSON-safe data (what the inventory cache keeps).

    ``droplet`` is a ``digitalocean.Droplet`` or the droplet object of the API (a dict).
    """
    networks = _attr(droplet, "networks") or {}
    region = _attr(droplet, "region") or {}
    image = _attr(droplet, "image") or {}
    size = _attr(droplet, "size") or {}
    region = region if isinstance(region, dict) else {"slug": region}
    image = image if isinstance(image, dict) else {"slug": image}
    return {
        "do_id": _attr(droplet, "id"),
        "do_name": _attr(droplet, "name"),
        "do_status": _attr(droplet, "status"),
        "do_created_at": _attr(droplet, "created_at"),
        "do_locked": bool(_attr(droplet, "locked", False)),
        "do_size_slug": _attr(droplet, "size_slug") or (size.get("slug") if isinstance(size, dict) else None),
        "do_memory": _attr(droplet, "memory"),
        "do_vcpus": _attr(droplet, "vcpus"),
        "do_disk": _attr(droplet, "disk"),
        "do_region": region.get("slug"),
        "do_region_name": region.get("name"),
        "do_image": image.get("slug") or image.get("name"),
        "do_image_id": image.get("id"),
        "do_image_distribution": image.get("distribution"),
        "do_tags": list(_attr(droplet, "tags") or []),
        "do_features": list(_attr(droplet, "features") or []),
        "do_vpc_uuid": _attr(droplet, "vpc_uuid"),
        "do_volume_ids": list(_attr(droplet, "volume_ids") or []),
        "do_public_ipv4": _first_address(networks, "v4", "public"),
        "do_private_ipv4": _first_address(networks, "v4", "private"),
        "do_public_ipv6": _first_address(networks, "v6", "public"),
    }


def connect_address(facts, connect_with="public_ipv4"):
    """(address for ansible_host, None) or (None, why there is none) for ``connect_with``."""
    if connect_with not in CONNECT_WITH:
        raise DigitalOceanError("connect_with: %r is not one of %s" % (connect_with, ", ".join(CONNECT_WITH)))
    if connect_with == "name":
        return facts["do_name"], None
    key = {"public_ipv4": "do_public_ipv4", "public_ipv6": "do_public_ipv6", "private_ipv4": "do_private_ipv4"}
    if facts.get(key[connect_with]):
        return facts[key[connect_with]], None
    what = {"public_ipv4": "public IPv4 address", "public_ipv6": "IPv6 address (the enable_ipv6 action adds one)",
            "private_ipv4": "private (VPC) IPv4 address"}[connect_with]
    status = facts.get("do_status")
    hint = " (it is %s: networks come once it is active)" % status if status == "new" else ""
    return None, "it has no %s%s (connect_with: %s)" % (what, hint, connect_with)


def host_vars(droplet, connect_with="public_ipv4"):
    """All host variables of one droplet: the normalised ``coldrig_*`` set, ``do_*`` and ``ansible_host``.

    ``droplet`` is a ``digitalocean.Droplet``, the API's droplet object, or the dict
    ``droplet_facts`` made of one (what the inventory cache keeps). ``coldrig_ptr`` is the
    droplet's name when that is a FQDN and the droplet has a public address (DigitalOcean
    derives the PTR from the name); ``coldrig_labels`` come from its tags (``tag_labels``).
    ``ansible_host`` is left out when the droplet has no address of the kind asked for
    (``connect_address`` says why).
    """
    facts = dict(droplet) if isinstance(droplet, dict) and "do_id" in droplet else droplet_facts(droplet)
    ipv4, ipv6 = facts.get("do_public_ipv4"), facts.get("do_public_ipv6")
    name = facts.get("do_name")
    labels, _conflicts = tag_labels(facts.get("do_tags"))
    out = normalise_host_vars(
        PROVIDER,
        ipv4=ipv4,
        ipv6=ipv6,
        ptr=name if is_fqdn(name) and (ipv4 or ipv6) else None,
        region=facts.get("do_region"),
        size=facts.get("do_size_slug"),
        labels=labels,
    )
    out.update(facts)
    address, _why = connect_address(facts, connect_with)
    if address is not None:
        out["ansible_host"] = address
    return out


def _page_number(url):
    """The ``page`` of a pagination link, or None."""
    try:
        return int(parse_qs(urlsplit(url).query).get("page", [""])[-1])
    except (TypeError, ValueError):
        return None


def _action_id(action):
    return action if isinstance(action, int) else _attr(action, "id")


# ------------------------------------------------------------------ the client
class DigitalOceanClient(object):
    """The droplets, actions, SSH keys and tags of one DigitalOcean team (the token's)."""

    def __init__(self, api_token, api_endpoint=DEFAULT_ENDPOINT, timeout=DEFAULT_TIMEOUT,
                 poll_interval=POLL_INTERVAL, max_retries=MAX_RETRIES, max_wait=MAX_WAIT):
        if not HAS_DIGITALOCEAN:
            raise DigitalOceanError("the Python library python-digitalocean is not installed on the controller: "
                                    "pip install python-digitalocean (coldrig pins it in "
                                    "requirements/constraints.txt)")
        check_token(api_token)
        api_endpoint = (api_endpoint or DEFAULT_ENDPOINT).rstrip("/")
        parts = urlsplit(api_endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise DigitalOceanError("api_endpoint: %r is not an http(s) URL such as %s" % (api_endpoint, DEFAULT_ENDPOINT))
        self.api_endpoint = api_endpoint
        self.poll_interval = float(poll_interval)
        self._retry = RetryPolicy(max_retries, max_wait)
        self.max_retries, self.max_wait = self._retry.max_retries, self._retry.max_wait
        self.request_count = 0
        self.rate_limit = {}  # the RateLimit-* headers of the last answer
        self._secret = api_token  # only to scrub it from error texts
        self._end_point = api_endpoint + "/"  # what the library's objects are built with
        headers = {"Authorization": "Bearer %s" % api_token, "Accept": "application/json", "User-Agent": USER_AGENT}
        self._http = httpx.Client(base_url=self._end_point, headers=headers, timeout=timeout)

    def __repr__(self):
        return "DigitalOceanClient(api_endpoint=%r)" % self.api_endpoint

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._http.close()

    # ---- transport
    def _scrub(self, text):
        """The text with the token blanked out (belt and braces: no message is known to contain it)."""
        if self._secret and len(self._secret) >= 8:
            return text.replace(self._secret, "<token>")
        return text

    def _request(self, method, path, params=None, doing=None):
        """The decoded JSON answer ({} for 204), retried by the shared policy (``retry.RetryPolicy``):
        429 always, 5xx and lost answers when the method is safe to repeat (not a POST)."""
        return self._retry.call(self._send, method, path, params, doing)

    def _send(self, method, path, params, doing):
        """One request: ``params`` are the query of a GET, the JSON body of anything else."""
        self.request_count += 1
        idempotent = method in IDEMPOTENT
        kwargs = {"params": params} if method == "GET" else {"json": params if params is not None else {}}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise DigitalOceanError(self._scrub("cannot reach the DigitalOcean API at %s: %s: %s" % (
                self.api_endpoint, type(exc).__name__, exc)), doing=doing,
                retryable=isinstance(exc, httpx.TransportError) and retryable(None, idempotent, never_sent)) from None
        headers = response.headers
        self.rate_limit = dict((k, headers[k]) for k in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
                               if k in headers)
        status = response.status_code
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        request_id = headers.get("X-Request-Id")
        if isinstance(body, dict) and (body.get("message") or body.get("error")):
            error_id = body.get("id")
            message = str(body.get("message") or body.get("error"))
            request_id = body.get("request_id") or request_id
        else:
            error_id = None
            text = response.text[:200]
            message = "not a JSON object: %r" % text if 200 <= status < 300 else (
                "%s%s" % (response.reason_phrase or "error", ": %r" % text if text else ""))
        retry_after = None
        if status == 429:
            retry_after = _retry_after(headers.get("Retry-After"))
            reset = headers.get("RateLimit-Reset")
            if retry_after is None and reset and reset.isdigit():
                retry_after = max(0.0, int(reset) - time.time())
        raise DigitalOceanError(self._scrub(message), error_id=error_id, status=status, request_id=request_id,
                                doing=doing, retry_after=retry_after,
                                retryable=status >= 400 and retryable(status, idempotent))

    def _list(self, path, key, params=None, doing=None):
        """Every item of a paginated list, following ``links.pages.next`` (its page number, on this end point)."""
        params = dict(params or {})
        params["per_page"] = PER_PAGE
        page, items = 1, []
        while True:
            params["page"] = page
            body = self._request("GET", path, params, doing)
            items.extend(body.get(key) or [])
            next_url = ((body.get("links") or {}).get("pages") or {}).get("next")
            if not next_url:
                return items
            next_page = _page_number(next_url)
            if next_page is None or next_page <= page:
                raise DigitalOceanError("the API's next page link %r does not lead past page %d" % (next_url, page),
                                        doing=doing)
            page = next_page

    # ---- library objects, always with this client's token and end point
    def _droplet(self, data):
        droplet = digitalocean.Droplet(token=self._secret, end_point=self._end_point, **data)
        networks = data.get("networks") or {}
        droplet.ip_address = _first_address(networks, "v4", "public")
        droplet.private_ip_address = _first_address(networks, "v4", "private")
        droplet.ip_v6_address = _first_address(networks, "v6", "public")
        features = data.get("features") or []
        droplet.backups, droplet.ipv6 = "backups" in features, "ipv6" in features
        droplet.private_networking = "private_networking" in features
        return droplet

    def _action(self, data):
        action = digitalocean.Action(token=self._secret, end_point=self._end_point, **data)
        action.droplet_id = data.get("resource_id") if data.get("resource_type") == "droplet" else None
        return action

    def _ssh_key(self, data):
        return digitalocean.SSHKey(token=self._secret, end_point=self._end_point, **data)

    # ---- account
    def account(self):
        """The account of the token (GET /account): a dict with email, status, droplet_limit ..."""
        return self._request("GET", "account", doing="reading the account")["account"]

    # ---- droplets
    def list_droplets(self, tag=None, status=None, region=None, size=None):
        """Every droplet matching all filters given, as ``digitalocean.Droplet`` objects: ``tag`` by the
        API (``tag_name``); ``status``, ``region`` (slug) and ``size`` (slug) here -- a value or a list
        of values each -- since the API cannot filter by them."""
        return [self._droplet(data) for data in self._droplet_data(tag, status, region, size)]

    def list_droplet_facts(self, tag=None, status=None, region=None, size=None):
        """``list_droplets`` as ``droplet_facts`` dicts, without building library objects (what the
        inventory plugin uses and caches: a thousand droplets cost five requests and no objects)."""
        return [droplet_facts(data) for data in self._droplet_data(tag, status, region, size)]

    def _droplet_data(self, tag, status, region, size):
        statuses, regions, sizes = set(as_list(status)), set(as_list(region)), set(as_list(size))
        for value in statuses:
            if value not in DROPLET_STATUSES:
                raise DigitalOceanError("status: %r is not one of %s" % (value, ", ".join(DROPLET_STATUSES)))
        params = {}
        if tag:
            check_tag(tag, "tag")
            params["tag_name"] = tag
        doing = "listing droplets" + (" tagged %s" % tag if tag else "")
        return [data for data in self._list("droplets", "droplets", params, doing)
                if (not statuses or data.get("status") in statuses)
                and (not regions or (data.get("region") or {}).get("slug") in regions)
                and (not sizes or data.get("size_slug") in sizes)]

    def get_droplet(self, droplet_id):
        """The droplet with this id, or None."""
        try:
            body = self._request("GET", "droplets/%d" % int(droplet_id), doing="reading droplet %s" % droplet_id)
        except DigitalOceanError as exc:
            if exc.status == 404:
                return None
            raise
        return self._droplet(body["droplet"])

    def get_droplet_by_name(self, name):
        """The droplet called ``name`` (exact, case-insensitive, as the API matches), or None.

        DigitalOcean allows several droplets with one name; coldrig names a droplet after
        its mail host, so more than one is an error that lists their ids.
        """
        doing = "looking up droplet %s" % name
        found = self._list("droplets", "droplets", {"name": name}, doing)
        found = [d for d in found if (d.get("name") or "").lower() == name.lower()]
        if len(found) > 1:
            raise DigitalOceanError("%d droplets are named %s (ids %s); coldrig needs the name to be unique: rename "
                                    "or delete the others" % (len(found), name,
                                                              ", ".join(str(d["id"]) for d in found)), doing=doing)
        return self._droplet(found[0]) if found else None

    def reload(self, droplet):
        """The droplet as the API has it now (a DigitalOceanError with status 404 when it is gone)."""
        droplet_id = _attr(droplet, "id")
        body = self._request("GET", "droplets/%d" % droplet_id, doing="reading droplet %s" % droplet_id)
        return self._droplet(body["droplet"])

    def create_droplet(self, name, size, image, region=None, ssh_keys=(), tags=(), user_data=None, ipv6=True,
                       monitoring=False, backups=False, vpc_uuid=None, wait=True, timeout=ACTION_TIMEOUT):
        """Create a droplet and, with ``wait``, return it once its ``create`` action completed and it is active.

        ``size``, ``image`` and ``region`` are slugs (``s-1vcpu-1gb``, ``debian-12-x64``,
        ``fra1``; ``image`` may be an id); ``ssh_keys`` ids, fingerprints, ``digitalocean.SSHKey``
        objects or public keys (sent as their fingerprint: the key must be in the account, see
        ``ensure_ssh_key``); ``tags`` tag names (``coldrig_role:mta``). Name it after the
        mail host's FQDN: DigitalOcean derives the PTR from the name.
        """
        doing = "creating droplet %s" % name
        check_droplet_name(name)
        tags = list(tags or [])
        for index, tag in enumerate(tags):
            check_tag(tag, "tags[%d]" % index)
        keys = [_ssh_key_ref(ref, "ssh_keys[%d]" % index) for index, ref in enumerate(ssh_keys or [])]
        body = {"name": name, "size": size, "image": image, "ssh_keys": keys, "tags": tags, "ipv6": bool(ipv6),
                "monitoring": bool(monitoring), "backups": bool(backups)}
        if region:
            body["region"] = region
        if user_data is not None:
            body["user_data"] = user_data
        if vpc_uuid:
            body["vpc_uuid"] = vpc_uuid
        try:
            answer = self._request("POST", "droplets", body, doing)
        except DigitalOceanError as exc:
            droplet, actions = self._made_anyway(exc, name, doing), []
        else:
            droplet = self._droplet(answer["droplet"])
            actions = [link["id"] for link in (answer.get("links") or {}).get("actions") or [] if link.get("id")]
        droplet.action_ids = actions
        if not wait:
            return droplet
        deadline = time.monotonic() + timeout
        for action_id in actions:
            self.wait_for_action(action_id, timeout=max(0.0, deadline - time.monotonic()), doing=doing)
        return self.wait_for_status(droplet, ("active",), timeout=max(0.0, deadline - time.monotonic()), doing=doing)

    def _made_anyway(self, exc, name, doing):
        """The droplet ``name`` when a POST /droplets that failed (``exc``) made it all the same; else ``exc`` is raised.

        A 5xx, or an answer that never came, may follow a droplet that was made. The POST is
        not repeated (DigitalOcean would make a second droplet of that name): the droplet is
        looked up by name instead.
        """
        return made_anyway(exc, self.get_droplet_by_name, name, "droplet", DigitalOceanError)

    def power_on(self, droplet, wait=True, timeout=ACTION_TIMEOUT):
        """Power the droplet on unless it is active; True when it was started."""
        droplet = self.reload(droplet)
        if droplet.status == "active":
            return False
        doing = "powering on droplet %s" % droplet.name
        action = self.droplet_action(droplet, "power_on", doing=doing, timeout=timeout)
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
            self.wait_for_status(droplet, ("active",), timeout=timeout, doing=doing)
        return True

    def power_off(self, droplet, graceful=False, wait=True, timeout=ACTION_TIMEOUT):
        """Power the droplet off unless it is off; True when it was stopped.

        ``graceful`` first asks the guest to shut down (the ``shutdown`` action, which a guest
        may ignore) and, when the droplet is not off once that completed, cuts the power
        (``power_off``), as DigitalOcean recommends.
        """
        droplet = self.reload(droplet)
        if droplet.status == "off":
            return False
        doing = "%s droplet %s" % ("shutting down" if graceful else "powering off", droplet.name)
        if graceful:
            action = self.droplet_action(droplet, "shutdown", doing=doing, timeout=timeout)
            self.wait_for_action(action, timeout=timeout, doing=doing, fail=False)
            if self.reload(droplet).status == "off":
                return True
        action = self.droplet_action(droplet, "power_off", doing=doing, timeout=timeout)
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
            self.wait_for_status(droplet, ("off",), timeout=timeout, doing=doing)
        return True

    def rename_droplet(self, droplet, name, wait=True, timeout=ACTION_TIMEOUT):
        """Rename the droplet (which makes DigitalOcean set its PTR to ``name`` when it is a FQDN);
        True when the name changed."""
        check_droplet_name(name)
        droplet = self.reload(droplet)
        if droplet.name == name:
            return False
        doing = "renaming droplet %s to %s" % (droplet.name, name)
        action = self.droplet_action(droplet, "rename", doing=doing, timeout=timeout, name=name)
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
        return True

    def delete_droplet(self, droplet):
        """Delete the droplet; False when there was none (None given, or already gone)."""
        if droplet is None:
            return False
        droplet_id = _attr(droplet, "id")
        doing = "deleting droplet %s" % (_attr(droplet, "name") or droplet_id)
        try:
            self._request("DELETE", "droplets/%d" % droplet_id, doing=doing)
        except DigitalOceanError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def delete_droplets_by_tag(self, tag):
        """Delete every droplet that has ``tag`` (one request: DELETE /droplets?tag_name=...)."""
        check_tag(tag, "tag")
        self._request("DELETE", "droplets?%s" % urlencode({"tag_name": tag}), doing="deleting droplets tagged %s" % tag)

    def ensure_tags(self, droplet, tags):
        """Add the tags the droplet lacks (creating tags the account lacks); True when any was added."""
        tags = list(tags or [])
        for index, tag in enumerate(tags):
            check_tag(tag, "tags[%d]" % index)
        have = set(t.lower() for t in _attr(droplet, "tags") or [])
        missing = [t for t in dict.fromkeys(tags) if t.lower() not in have]
        droplet_id = _attr(droplet, "id")
        for tag in missing:
            doing = "tagging droplet %s with %s" % (_attr(droplet, "name") or droplet_id, tag)
            canonical = self._request("POST", "tags", {"name": tag}, doing)["tag"]["name"]
            self._request("POST", "tags/%s/resources" % quote(canonical, safe=":"),
                          {"resources": [{"resource_id": str(droplet_id), "resource_type": "droplet"}]}, doing)
        return bool(missing)

    def remove_tags(self, droplet, tags):
        """Take the tags off the droplet (the tags themselves stay in the account); True when any was on it."""
        tags = list(tags or [])
        for index, tag in enumerate(tags):
            check_tag(tag, "tags[%d]" % index)
        have = dict((t.lower(), t) for t in _attr(droplet, "tags") or [])
        present = [have[t.lower()] for t in dict.fromkeys(tags) if t.lower() in have]
        droplet_id = _attr(droplet, "id")
        for tag in present:
            doing = "untagging droplet %s from %s" % (_attr(droplet, "name") or droplet_id, tag)
            self._request("DELETE", "tags/%s/resources" % quote(tag, safe=":"),
                          {"resources": [{"resource_id": str(droplet_id), "resource_type": "droplet"}]}, doing)
        return bool(present)

    def wait_for_status(self, droplet, statuses, timeout=ACTION_TIMEOUT, doing=None):
        """Poll the droplet until its status is one of ``statuses``; the reloaded droplet."""
        droplet, settled = poll_status(self.reload, droplet, statuses, timeout, self.poll_interval)
        if not settled:
            raise DigitalOceanError("droplet %s is still %s after %d s, not %s" % (
                droplet.name, droplet.status, timeout, " or ".join(statuses)), error_id="timeout", doing=doing)
        return droplet

    # ---- actions
    def droplet_action(self, droplet, action_type, doing=None, timeout=ACTION_TIMEOUT, **params):
        """Start an action on the droplet (POST /droplets/{id}/actions); the in-progress Action.

        When the droplet already has a pending event (another action in progress), wait for
        that and try once more.
        """
        droplet_id = _attr(droplet, "id")
        doing = doing or "%s on droplet %s" % (action_type, _attr(droplet, "name") or droplet_id)
        body = dict(params, type=action_type)
        path = "droplets/%d/actions" % droplet_id
        try:
            return self._action(self._request("POST", path, body, doing)["action"])
        except DigitalOceanError as exc:
            if exc.status != 422 or _PENDING_EVENT not in exc.message.lower():
                raise
        running = [a for a in self._list(path, "actions", doing=doing) if a.get("status") == "in-progress"]
        for data in running:
            self.wait_for_action(data["id"], timeout=timeout, doing=doing)
        return self._action(self._request("POST", path, body, doing)["action"])

    def get_action(self, action_id):
        """The action with this id (GET /actions/{id})."""
        return self._action(self._request("GET", "actions/%d" % int(action_id),
                                          doing="reading action %s" % action_id)["action"])

    def wait_for_action(self, action, timeout=ACTION_TIMEOUT, doing=None, fail=True):
        """Wait until the action (an Action or its id) is no longer in progress; the finished Action.

        An ``errored`` action is a DigitalOceanError (unless ``fail`` is False), so is one still
        in progress after ``timeout`` seconds.
        """
        action_id = _action_id(action)
        deadline = time.monotonic() + timeout
        current = action if not isinstance(action, int) and _attr(action, "status") else self.get_action(action_id)
        while current.status == "in-progress":
            if time.monotonic() >= deadline:
                raise DigitalOceanError("the %s action %s is still in progress after %d s" % (
                    current.type, action_id, timeout), error_id="timeout", doing=doing)
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
            current = self.get_action(action_id)
        if current.status == "errored" and fail:
            raise DigitalOceanError("the %s action %s on %s %s errored (started %s); DigitalOcean gives no reason: "
                                    "look at the droplet's history in the control panel" % (
                                        current.type, action_id, current.resource_type, current.resource_id,
                                        current.started_at), error_id="action_errored", doing=doing)
        return current

    # ---- SSH keys
    def list_ssh_keys(self):
        """Every SSH key of the account."""
        return [self._ssh_key(d) for d in self._list("account/keys", "ssh_keys", doing="listing SSH keys")]

    def get_ssh_key(self, fingerprint):
        """The account's key with this fingerprint (or id), or None."""
        try:
            body = self._request("GET", "account/keys/%s" % fingerprint, doing="looking up SSH key %s" % fingerprint)
        except DigitalOceanError as exc:
            if exc.status == 404:
                return None
            raise
        return self._ssh_key(body["ssh_key"])

    def ensure_ssh_key(self, name, public_key):
        """(key, changed): the account's key with this public key's fingerprint, uploaded as ``name`` when missing.

        A key already there under another name is used as it is (DigitalOcean takes a key once).
        """
        fingerprint = ssh_key_fingerprint(public_key)
        doing = "ensuring SSH key %s" % name
        key = self.get_ssh_key(fingerprint)
        if key is not None:
            return key, False
        try:
            body = self._request("POST", "account/keys", {"name": name, "public_key": public_key.strip()}, doing)
        except DigitalOceanError as exc:
            if exc.status == 422 and "already in use" in exc.message:  # uploaded meanwhile by someone else
                key = self.get_ssh_key(fingerprint)
                if key is not None:
                    return key, False
            raise
        return self._ssh_key(body["ssh_key"]), True


def _ssh_key_ref(ref, field="ssh_keys"):
    """What POST /droplets takes for a key: its id or fingerprint (a public key is sent as its fingerprint)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    if HAS_DIGITALOCEAN and isinstance(ref, digitalocean.SSHKey):
        return ref.id
    if isinstance(ref, str) and ref.isdigit():
        return int(ref)
    if isinstance(ref, str) and _FINGERPRINT.match(ref.strip()):
        return ref.strip().lower()
    if isinstance(ref, str) and len(ref.split()) >= 2:
        return ssh_key_fingerprint(ref, field)
    raise DigitalOceanError("%s: %r is neither an SSH key id, a fingerprint nor a public key" % (field, ref))
