"""A local simulator of the documented Cloudflare API v4 DNS endpoints -- NOT Cloudflare.

A stdlib-only HTTP server on 127.0.0.1 for tests and benchmarks. It answers the
way the public API reference (https://developers.cloudflare.com/api/) describes:
the ``{"success", "errors", "messages", "result"[, "result_info"]}`` envelope and
the error codes Cloudflare documents or is widely observed to return. Covered,
under ``/client/v4``:

* ``GET /accounts`` ("List Accounts": the accounts the token has ownership or verified access
  to; ``page``, ``per_page`` 20, max 50): the one simulated account;
* ``GET /zones`` (``name``, ``status``, ``account.id``, ``match``, ``page``, ``per_page`` 20,
  max 50), ``GET /zones/{zone_id}``, ``POST /zones`` (``name``, ``account.id``, ``type``) and
  ``DELETE /zones/{zone_id}``. A zone made through the API starts ``pending`` with two
  nameservers assigned (deterministic per name, like ``ada.ns.cloudflare.com``) and
  ``original_name_servers`` from the registry; it turns ``active`` when it is read and the
  ``registry`` callable (``registry(domain) -> [nameservers]``, e.g.
  ``NamecheapSimulator.nameservers``) shows exactly the assigned nameservers. Errors, with the
  codes the live API is observed to answer (its reference lists no codes): 1061 "<name>
  already exists", 1049 "<name> is not a registered domain" (a malformed name), 1067 "Invalid
  account identifier passed in your organization variable" (an account id that does not
  exist or the token cannot use; reported in DNSControl/dnscontrol#929);
* ``GET /zones/{zone_id}/dns_records`` (``type``, ``name``, ``content`` -- plain or
  ``.exact|.contains|.startswith|.endswith`` --, ``proxied``, ``match=all|any``,
  ``order``, ``direction``, ``page``, ``per_page`` default 100, max 5,000,000);
* ``POST /zones/{zone_id}/dns_records`` and ``GET|PATCH|PUT|DELETE .../{id}``;
* ``POST /zones/{zone_id}/dns_records/batch``: deletes, patches, puts, posts in
  that order; the first failure is answered and nothing is applied. At most
  ``batch_limit`` operations per batch (the "Batch record changes" page: 200 on the
  Free plan, 3,500 on Pro, Business and Enterprise).

Same-name rules, as the "Records with the same name" troubleshooting page documents
them: a CNAME cannot be created where an A, AAAA or CNAME record has its name (81053,
"An A, AAAA, or CNAME record with that host already exists."), nor an A/AAAA record
where a CNAME has it (81054, "A CNAME record with that host already exists."). Like the
real API, the simulator accepts a TXT or MX record beside a CNAME (observed and reported
in cloudflare/cloudflare-docs#30376): a client must find that conflict itself.

Faults: ``fail_next`` answers 429/5xx without serving the request; ``fail_after_applying``
serves it (the change is made) and then answers 5xx, optionally late -- the ambiguous
failure a client must not report as "unchanged".

Auth is ``Authorization: Bearer <token>`` or legacy ``X-Auth-Email`` + ``X-Auth-Key``.

Simplified on purpose:

* Only A, AAAA, CNAME, MX, NS, PTR and TXT get type-specific checks; the other
  documented types are accepted with ``content``/``data`` stored verbatim (no
  SRV/CAA ``data`` -> ``content`` derivation).
* TXT content is stored and returned exactly as sent. The API reference says TXT
  content is RFC 1035 quoted character-strings of at most 255 bytes, longer ones
  split automatically, so real Cloudflare may return a quoted/split form of an
  unquoted value: clients must compare TXT content quote-insensitively.
* Names: ``@``, relative or FQDN in, lower-case FQDN out; a name not ending in
  the zone gets the zone appended, as Cloudflare does. AAAA content is stored
  compressed, hostname content lower-cased without the trailing dot.
* No plan limits besides the batch size (no comment length, tag quota), no rate
  limiting of its own (use ``fail_next``), no ``Ratelimit`` headers, no
  NS-exclusivity rule; default order is creation order; unparsable
  ``page``/``per_page`` fall back to the defaults.
* Where Cloudflare's code for an error is undocumented the simulator answers
  code 1004 (its "DNS Validation Error" family) with a precise message.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import sys
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

try:
    from tests.support.http_api import ApiSimulator, cli_parser, match_path, serve_until_signalled
except ImportError:  # run as a script, python tests/support/cloudflare_sim.py: its folder is on sys.path
    from http_api import ApiSimulator, cli_parser, match_path, serve_until_signalled  # type: ignore[no-redef]

API_PREFIX = "/client/v4"
RECORD_TYPES = frozenset(
    "A AAAA CAA CERT CNAME DNSKEY DS HTTPS LOC MX NAPTR NS OPENPGPKEY PTR "
    "SMIMEA SRV SSHFP SVCB TLSA TXT URI".split()
)
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})
HOSTNAME_CONTENT = frozenset({"CNAME", "MX", "NS", "PTR"})
IP_CONTENT = {"A": (9005, ipaddress.IPv4Address, "IPv4"), "AAAA": (9006, ipaddress.IPv6Address, "IPv6")}
WRITABLE = ("type", "name", "content", "ttl", "proxied", "priority", "comment", "tags", "settings", "data")
TTL_AUTO, TTL_MIN, TTL_MAX = 1, 60, 86400
RECORD_PAGING = (100, 5_000_000)  # default, maximum per_page for dns_records
ZONE_PAGING = (20, 50)  # default, maximum per_page for zones
ACCOUNT_PAGING = (20, 50)  # default, maximum per_page for accounts
TXT_MAX_BYTES, TXT_MAX_COMBINED = 4096, 8192  # per record (wire), per name+type
SAME_NAME_DOC = ("https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/"
                 "records-with-same-name/")

Envelope = dict[str, Any]
Record = dict[str, Any]


class ApiError(Exception):
    """An error answered with Cloudflare's failure envelope."""

    def __init__(self, status: int, errors: list[dict[str, Any]], headers: Mapping[str, str] | None = None):
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status, self.errors, self.headers = status, errors, dict(headers or {})


def _error(code: int, message: str, status: int = 400, field: str | None = None) -> ApiError:
    item: dict[str, Any] = {"code": code, "message": message}
    if field:
        item["source"] = {"pointer": f"/{field}"}
    return ApiError(status, [item])


def _no_route(path: str) -> ApiError:
    return ApiError(400, [
        {"code": 7003, "message": f"Could not route to {path}, perhaps your object identifier is invalid?"},
        {"code": 7000, "message": "No route for that URI"},
    ])


def _header_error(code: int, what: str) -> ApiError:
    return ApiError(400, [{"code": 6003, "message": "Invalid request headers",
                           "error_chain": [{"code": code, "message": f"Invalid format for {what} header"}]}])


def _envelope(result: Any, errors: list | None = None, info: dict | None = None) -> Envelope:
    body: Envelope = {"success": not errors, "errors": errors or [], "messages": [], "result": result}
    if info is not None:
        body["result_info"] = info
    return body


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_id() -> str:
    return uuid.uuid4().hex


def _is_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


# ----------------------------------------------------------------- validation
def _fqdn(raw: Any, zone_name: str) -> str:
    """Stored form of a record name: '@', relative or FQDN in, lower-case FQDN out."""
    if not isinstance(raw, str) or not raw.strip().rstrip("."):
        raise _error(9000, "DNS name is invalid.", field="name")
    name = raw.strip().rstrip(".").lower()
    if name == "@":
        return zone_name
    if name != zone_name and not name.endswith("." + zone_name):
        name = f"{name}.{zone_name}"
    if not _valid_hostname(name, allow_wildcard=True):
        raise _error(9000, "DNS name is invalid.", field="name")
    return name


def _valid_hostname(name: str, allow_wildcard: bool = False) -> bool:
    """Label and length rules from the 'DNS record types' page (63/253)."""
    if len(name) > 253 or any(c.isspace() for c in name):
        return False
    extra = "-_*" if allow_wildcard else "-_"
    return all(0 < len(label) <= 63 and all(c.isalnum() or c in extra for c in label)
               for label in name.split("."))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_content(rtype: str, content: Any) -> str:
    """Type-specific content rules; returns the stored form."""
    if not isinstance(content, str):
        raise _error(1004, "content must be a string.", field="content")
    if rtype in IP_CONTENT:
        code, address, family = IP_CONTENT[rtype]
        try:
            return address(content).compressed
        except ValueError:
            message = f"Content for {rtype} record must be a valid {family} address."
            raise _error(code, message, field="content") from None
    if rtype in HOSTNAME_CONTENT:
        host = content.strip().rstrip(".").lower()
        if rtype == "MX" and _is_ip(host):
            message = "Change the content of your MX record to be a hostname (and not an IP address)."
            raise _error(9009, message, field="content")
        if not host or _is_ip(host) or not _valid_hostname(host):
            raise _error(1004, f"Content for {rtype} record is invalid.", field="content")
        return host
    if rtype == "TXT" and len(content.encode()) > TXT_MAX_BYTES:
        raise _error(1004, f"Content for TXT record is too long: {len(content.encode())} bytes, "
                           f"the maximum is {TXT_MAX_BYTES}.", field="content")
    return content


def _check_ttl(ttl: Any) -> int:
    is_int = isinstance(ttl, int) and not isinstance(ttl, bool)
    if not is_int or not (ttl == TTL_AUTO or TTL_MIN <= ttl <= TTL_MAX):
        raise _error(9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic.", field="ttl")
    return ttl


def _check_priority(priority: Any) -> int:
    if priority is None:
        raise _error(9100, "priority is a required field.", field="priority")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 65535:
        message = "Invalid priority, priority must be set and be between 0 and 65535"
        raise _error(9008, message, field="priority")
    return priority


def _validated(zone_name: str, fields: Mapping[str, Any]) -> Record:
    """Validate a full set of writable fields; returns the stored record data."""
    rtype = fields.get("type")
    if rtype is None:
        raise _error(9100, "type is a required field.", field="type")
    if rtype not in RECORD_TYPES:
        raise _error(1004, "DNS record type is invalid.", field="type")
    if fields.get("name") is None:
        raise _error(9100, "name is a required field.", field="name")
    name = _fqdn(fields["name"], zone_name)
    content = fields.get("content")
    if content in (None, "") and fields.get("data") is None:
        raise _error(9100, "content is a required field.", field="content")
    proxied = fields.get("proxied", False)
    if proxied is None:
        proxied = False
    if not isinstance(proxied, bool):
        raise _error(1004, "proxied must be a boolean.", field="proxied")
    if proxied and rtype not in PROXIABLE:
        raise _error(9004, "This record type cannot be proxied.", field="proxied")
    comment, tags = _check_notes(fields.get("comment"), fields.get("tags"))
    record: Record = {
        "type": rtype, "name": name, "content": _check_content(rtype, content) if content is not None else "",
        "ttl": _check_ttl(fields.get("ttl", TTL_AUTO)), "proxied": proxied,
        "comment": comment, "tags": tags, "settings": dict(fields.get("settings") or {}),
    }
    if rtype == "MX":
        record["priority"] = _check_priority(fields.get("priority"))
    if fields.get("data") is not None:
        record["data"] = fields["data"]
    return record


def _check_notes(comment: Any, tags: Any) -> tuple[str | None, list[str]]:
    if comment is not None and not isinstance(comment, str):
        raise _error(1004, "comment must be a string.", field="comment")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise _error(1004, "tags must be a list of strings.", field="tags")
    return comment or None, list(tags or [])


def _same_data(a: Record, b: Record) -> bool:
    def key(r: Record) -> tuple:
        content = r["content"].lower() if r["type"] in HOSTNAME_CONTENT else r["content"]
        return r["type"], content, r.get("priority"), json.dumps(r.get("data"), sort_keys=True)
    return key(a) == key(b)


def _check_conflicts(records: Mapping[str, Record], cand: Record, ignore_id: str | None) -> None:
    """81058 identical, 81053/81054 CNAME rules, combined TXT size."""
    same_name = [r for rid, r in records.items() if rid != ignore_id and r["name"] == cand["name"]]
    if any(_same_data(r, cand) for r in same_name):
        raise _error(81058, "An identical record already exists.")
    types = {r["type"] for r in same_name}
    if cand["type"] == "CNAME" and types & {"A", "AAAA", "CNAME"}:
        raise _error(81053, "An A, AAAA, or CNAME record with that host already exists. "
                            f"For more details, refer to <{SAME_NAME_DOC}>.")
    if cand["type"] in ("A", "AAAA") and "CNAME" in types:
        raise _error(81054, "A CNAME record with that host already exists. "
                            f"For more details, refer to <{SAME_NAME_DOC}>.")
    if cand["type"] == "TXT":
        combined = len(cand["content"]) + sum(len(r["content"]) for r in same_name if r["type"] == "TXT")
        if combined > TXT_MAX_COMBINED:
            raise _error(1004, f"TXT records named {cand['name']} would have {combined} characters of "
                               f"content combined, the maximum is {TXT_MAX_COMBINED}.", field="content")


# ------------------------------------------------------------ record editing
def _lookup(records: Mapping[str, Record], rid: Any) -> Record:
    if not isinstance(rid, str) or rid not in records:
        raise _error(81044, "Record does not exist.", status=404)
    return records[rid]


def _store(records: dict[str, Record], zone_name: str, fields: Mapping[str, Any],
           old: Record | None) -> Record:
    """Validate, check conflicts and write one record into ``records``."""
    data = _validated(zone_name, fields)
    _check_conflicts(records, data, old["id"] if old else None)
    now = _now()
    rec = {"id": old["id"] if old else _new_id(), **data,
           "created_on": old["created_on"] if old else now, "modified_on": now}
    for attr, stamp in (("comment", "comment_modified_on"), ("tags", "tags_modified_on")):
        unchanged = old is not None and old[attr] == rec[attr] and stamp in old
        if rec[attr]:
            rec[stamp] = old[stamp] if unchanged else now
    records[rec["id"]] = rec
    return rec


def _writable(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in WRITABLE if k in body}


def _create(records: dict[str, Record], zone_name: str, body: Mapping[str, Any]) -> Record:
    return _store(records, zone_name, _writable(body), None)


def _patch(records: dict[str, Record], zone_name: str, rid: Any, body: Mapping[str, Any]) -> Record:
    old = _lookup(records, rid)
    merged = {**_writable(old), **_writable(body)}
    if "type" in body and body["type"] != old["type"] and "priority" not in body:
        merged.pop("priority", None)
    return _store(records, zone_name, merged, old)


def _put(records: dict[str, Record], zone_name: str, rid: Any, body: Mapping[str, Any]) -> Record:
    return _store(records, zone_name, _writable(body), _lookup(records, rid))


def _delete(records: dict[str, Record], rid: Any) -> Record:
    return records.pop(_lookup(records, rid)["id"])


# ------------------------------------------------------------ list filtering
def _param_int(query: Mapping[str, str], key: str, default: int, maximum: int) -> int:
    try:
        value = int(float(query[key]))
    except (KeyError, ValueError, OverflowError):
        return default
    return min(max(value, 1), maximum)


def _paginate(items: list, query: Mapping[str, str], paging: tuple[int, int],
              present: Callable[[Any], Any]) -> Envelope:
    per_page = _param_int(query, "per_page", *paging)
    page = _param_int(query, "page", 1, sys.maxsize)
    chunk = items[(page - 1) * per_page: page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page))}
    return _envelope([present(item) for item in chunk], info=info)


def _text_predicates(query: Mapping[str, str], field: str, norm: Callable[[str], str]) -> list[Callable]:
    ops: dict[str, Callable[[str, str], bool]] = {
        "": str.__eq__, ".exact": str.__eq__, ".contains": lambda v, q: q in v,
        ".startswith": str.startswith, ".endswith": str.endswith}
    preds = []
    for suffix, op in ops.items():
        if field + suffix in query:
            wanted = norm(query[field + suffix])
            preds.append(lambda r, op=op, wanted=wanted: op(r[field].lower(), wanted))
    return preds


def _record_predicates(query: Mapping[str, str], zone_name: str) -> list[Callable[[Record], bool]]:
    def name_norm(value: str) -> str:
        value = value.strip().rstrip(".").lower()
        return zone_name if value == "@" else value

    preds = _text_predicates(query, "name", name_norm) + _text_predicates(query, "content", str.lower)
    if "type" in query:
        preds.append(lambda r: r["type"] == query["type"])
    if "proxied" in query:
        preds.append(lambda r: r["proxied"] == (query["proxied"].lower() == "true"))
    return preds


def _apply_filters(items: list, preds: list[Callable], match: str) -> list:
    if not preds:
        return items
    combine = any if match == "any" else all
    return [item for item in items if combine(p(item) for p in preds)]


# -------------------------------------------------------------- the server
class _Zone:
    def __init__(self, name: str, account: dict[str, str], status: str = "active",
                 name_servers: list[str] | None = None, original: list[str] | None = None,
                 zone_type: str = "full"):
        self.id, self.name, self.created_on = _new_id(), name, _now()
        self.account = account
        self.records: dict[str, Record] = {}
        self.status, self.type = status, zone_type
        self.name_servers = list(name_servers or ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"])
        self.original_name_servers = original
        self.activated_on = self.created_on if status == "active" else None
        self.modified_on = self.created_on

    def present(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "status": self.status, "paused": False, "type": self.type,
            "development_mode": 0, "name_servers": list(self.name_servers),
            "original_name_servers": list(self.original_name_servers) if self.original_name_servers else None,
            "original_registrar": None, "original_dnshost": None,
            "created_on": self.created_on, "modified_on": self.modified_on, "activated_on": self.activated_on,
            "meta": {"step": 2, "phishing_detected": False},
            "owner": {"id": None, "type": "user", "email": None}, "account": dict(self.account),
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0,
                     "currency": "USD", "legacy_id": "free", "is_subscribed": False},
        }

    def present_record(self, rec: Record) -> dict[str, Any]:
        out = {"id": rec["id"], "zone_id": self.id, "zone_name": self.name, "name": rec["name"],
               "type": rec["type"], "content": rec["content"], "proxiable": rec["type"] in PROXIABLE,
               "proxied": rec["proxied"], "ttl": rec["ttl"], "settings": dict(rec["settings"]),
               "meta": {"auto_added": False}, "comment": rec["comment"], "tags": list(rec["tags"]),
               "created_on": rec["created_on"], "modified_on": rec["modified_on"]}
        for key in ("priority", "data", "comment_modified_on", "tags_modified_on"):
            if key in rec:
                out[key] = json.loads(json.dumps(rec[key]))
        return out


NS_NAMES = ("ada", "bob", "cruz", "dana", "elle", "fred", "gina", "hugo", "isla", "jack", "kara", "liam")


def assigned_nameservers(zone_name: str) -> list[str]:
    """The two nameservers the simulator assigns to a new zone: a function of the name, two distinct."""
    digest = hashlib.sha256(zone_name.encode()).digest()
    first = digest[0] % len(NS_NAMES)
    second = (first + 1 + digest[1] % (len(NS_NAMES) - 1)) % len(NS_NAMES)
    return [f"{NS_NAMES[first]}.ns.cloudflare.com", f"{NS_NAMES[second]}.ns.cloudflare.com"]


def _fault(status: int, retry_after: int | None) -> ApiError:
    """An injected failure: 429 is Cloudflare's throttle answer (code 971, Retry-After)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 429:
        item = {"code": 971, "message": "Please wait and consider throttling your request speed"}
    else:  # Cloudflare documents no code for these; the simulator mirrors the HTTP status.
        item = {"code": status, "message": HTTPStatus(status).phrase}
    return ApiError(status, [item], headers)


class CloudflareSimulator(ApiSimulator):
    """In-process HTTP simulator of the Cloudflare API v4 DNS endpoints on 127.0.0.1."""

    server_name = "cloudflare-sim"
    api_prefix = API_PREFIX

    def __init__(self, tokens: Iterable[str] = ("test-token",), api_keys: Mapping[str, str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, batch_limit: int = 200,
                 registry: Callable[[str], list[str]] | None = None):
        super().__init__(host, port)
        self.batch_limit = batch_limit
        self.registry = registry  # domain -> the nameservers its registry shows (activation check)
        self._tokens = frozenset(tokens)
        self._api_keys = dict(api_keys or {})  # email -> Global API key
        self._account = {"id": _new_id(), "name": "Simulated account"}
        self._zones: dict[str, _Zone] = {}
        self._routes = [
            ("GET", "/accounts", self._list_accounts),
            ("GET", "/zones", self._list_zones),
            ("POST", "/zones", self._create_zone),
            ("GET", "/zones/{zone}", self._get_zone),
            ("DELETE", "/zones/{zone}", self._delete_zone),
            ("GET", "/zones/{zone}/dns_records", self._list_records),
            ("POST", "/zones/{zone}/dns_records", self._create_record),
            ("POST", "/zones/{zone}/dns_records/batch", self._batch),
            ("GET PATCH PUT DELETE", "/zones/{zone}/dns_records/{record}", self._one_record),
        ]

    # ---- Python API for tests
    def add_zone(self, name: str) -> str:
        """Create an active zone and return its 32-hex id."""
        name = name.strip().rstrip(".").lower()
        with self._lock:
            if any(z.name == name for z in self._zones.values()):
                raise ValueError(f"zone {name} already exists")
            zone = _Zone(name, self._account)
            self._zones[zone.id] = zone
            return zone.id

    @property
    def account_id(self) -> str:
        """The id of the one account every accepted token can use."""
        return self._account["id"]

    def zone(self, name: str) -> dict[str, Any] | None:
        """The zone called ``name`` as the API would return it (activation checked), or None."""
        wanted = name.strip().rstrip(".").lower()
        with self._lock:
            for zone in self._zones.values():
                if zone.name == wanted:
                    return self._checked(zone).present()
        return None

    def records(self, zone_name: str) -> list[dict[str, Any]]:
        """The zone's current records, as the API would return them."""
        wanted = zone_name.rstrip(".").lower()
        with self._lock:
            for zone in self._zones.values():
                if zone.name == wanted:
                    return [zone.present_record(r) for r in zone.records.values()]
        raise KeyError(f"no zone named {zone_name}")

    def fail_next(self, n: int = 1, status: int = 429, retry_after: int | None = 1, path: str | None = None) -> None:
        """Answer the next ``n`` requests (to a path containing ``path``, if given) with ``status`` (429 or 5xx)
        instead of serving them."""
        self._check_injectable(status)
        self._inject((status, retry_after), n, path)

    def fail_after_applying(self, n: int = 1, status: int = 502, delay: float = 0.0, path: str | None = None) -> None:
        """Serve the next ``n`` requests (to a path containing ``path``) -- their changes are made -- then answer
        ``status`` (5xx) after ``delay`` seconds instead of the result: what a client sees when Cloudflare's edge
        times out or fails after the API applied the change (a 502/504, or no answer within its timeout)."""
        if not 500 <= status <= 599:
            raise ValueError("fail_after_applying answers 5xx: a 4xx from Cloudflare means the change was refused")
        self._inject(("applied", status, delay), n, path)

    # ---- request handling
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> tuple[int, Envelope, dict[str, str]]:
        url = urlsplit(target)
        with self._lock:
            entry = self._record(method, url)
            fault = self._take_fault(url.path)
        after = None
        if fault is not None and fault[0] == "applied":
            after, fault = fault, None
        try:
            if fault is not None:
                raise _fault(*fault)
            self._authenticate(headers)
            handler, params = self._route(method, url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            payload = _json_body(body) if method in ("POST", "PUT", "PATCH") else {}
            with self._lock:
                answer: tuple[int, Envelope, dict[str, str]] = (200, handler(method, params, query, payload), {})
        except ApiError as exc:
            answer = (exc.status, _envelope(None, exc.errors), exc.headers)
        if after is not None:  # served (and applied) above; the client gets a failure, late if asked
            _applied, status, delay = after
            if delay:
                time.sleep(delay)
            answer = (status, _envelope(None, [{"code": status, "message": HTTPStatus(status).phrase}]), {})
        entry["status"] = answer[0]
        return answer

    def bug_answer(self, exc: Exception) -> Envelope:
        return _envelope(None, [{"code": 500, "message": f"simulator bug: {exc}"}])

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        auth = headers.get("Authorization")
        email, key = headers.get("X-Auth-Email"), headers.get("X-Auth-Key")
        if auth is not None:
            scheme, _space, token = auth.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
                raise _header_error(6111, "Authorization")
            if token not in self._tokens:
                raise _error(9109, "Invalid access token", status=403)
        elif email is not None or key is not None:
            if not email or "@" not in email:
                raise _header_error(6102, "X-Auth-Email")
            if not key or any(c.isspace() for c in key):
                raise _header_error(6103, "X-Auth-Key")
            if self._api_keys.get(email) != key:
                raise _error(9103, "Unknown X-Auth-Key or X-Auth-Email", status=403)
        else:
            raise _error(9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")

    def _route(self, method: str, path: str) -> tuple[Callable[..., Envelope], dict[str, str]]:
        if not path.startswith(API_PREFIX + "/"):
            raise _no_route(path)
        parts = path[len(API_PREFIX):].rstrip("/").split("/")
        found = self._routed(method, parts)
        if found is not None:
            if any(not _is_id(v) for v in found[1].values()):
                raise _no_route(path)
            return found
        if any(match_path(pattern, parts) is not None for _verbs, pattern, _handler in self._routes):
            raise _error(7001, f"Method {method} not available for that URI.", status=405)
        raise _no_route(path)

    def _zone(self, zone_id: str) -> _Zone:
        if zone_id not in self._zones:
            raise _error(1001, "Invalid zone identifier")
        return self._zones[zone_id]

    # ---- endpoint handlers: (method, path params, query, JSON body) -> envelope
    def _checked(self, zone: _Zone) -> _Zone:
        """The activation check: a pending zone whose registry shows its assigned nameservers turns active."""
        if zone.status == "pending" and self.registry is not None:
            shown = sorted(n.strip().rstrip(".").lower() for n in self.registry(zone.name) or [])
            if shown == sorted(zone.name_servers):
                zone.status, zone.activated_on = "active", _now()
                zone.modified_on = zone.activated_on
        return zone

    def _list_accounts(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        account = dict(self._account, type="standard", created_on="2026-01-01T00:00:00.000000Z",
                       settings={"enforce_twofactor": False, "api_access_enabled": None, "abuse_contact_email": None})
        return _paginate([account], query, ACCOUNT_PAGING, dict)

    def _list_zones(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        preds: list[Callable[[_Zone], bool]] = []
        if "name" in query:
            preds.append(lambda z: z.name == query["name"].strip().rstrip(".").lower())
        if "status" in query:
            preds.append(lambda z: z.status == query["status"])
        if "account.id" in query:
            preds.append(lambda z: z.account["id"] == query["account.id"])
        zones = sorted((self._checked(z) for z in self._zones.values()), key=lambda z: z.name)
        zones = _apply_filters(zones, preds, query.get("match", "all"))
        return _paginate(zones, query, ZONE_PAGING, _Zone.present)

    def _get_zone(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        return _envelope(self._checked(self._zone(params["zone"])).present())

    def _create_zone(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        raw, account = body.get("name"), body.get("account")
        account_id = account.get("id") if isinstance(account, dict) else None
        if not isinstance(account_id, str) or account_id != self._account["id"]:
            raise _error(1067, "Invalid account identifier passed in your organization variable")
        name = raw.strip().rstrip(".").lower() if isinstance(raw, str) else ""
        if not name or "." not in name or not _valid_hostname(name) or "_" in name:
            raise _error(1049, f"{raw} is not a registered domain", field="name")
        zone_type = body.get("type", "full")
        if zone_type not in ("full", "partial", "secondary", "internal"):
            raise _error(1004, "type must be one of full, partial, secondary, internal.", field="type")
        if any(z.name == name for z in self._zones.values()):
            raise _error(1061, f"{name} already exists")
        original = list(self.registry(name) or []) if self.registry is not None else None
        zone = _Zone(name, self._account, status="pending", name_servers=assigned_nameservers(name),
                     original=original or None, zone_type=zone_type)
        self._zones[zone.id] = zone
        return _envelope(zone.present())

    def _delete_zone(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        zone = self._zone(params["zone"])
        del self._zones[zone.id]
        return _envelope({"id": zone.id})

    def _list_records(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        zone = self._zone(params["zone"])
        preds = _record_predicates(query, zone.name)
        records = _apply_filters(list(zone.records.values()), preds, query.get("match", "all"))
        if query.get("order") in ("type", "name", "content", "ttl", "proxied"):
            records.sort(key=lambda r: r[query["order"]], reverse=query.get("direction") == "desc")
        return _paginate(records, query, RECORD_PAGING, zone.present_record)

    def _create_record(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        zone = self._zone(params["zone"])
        return _envelope(zone.present_record(_create(zone.records, zone.name, body)))

    def _one_record(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        zone, rid = self._zone(params["zone"]), params["record"]
        if method == "DELETE":
            return _envelope({"id": _delete(zone.records, rid)["id"]})
        if method == "GET":
            return _envelope(zone.present_record(_lookup(zone.records, rid)))
        edit = _patch if method == "PATCH" else _put
        return _envelope(zone.present_record(edit(zone.records, zone.name, rid, body)))

    def _batch(self, method: str, params: dict, query: dict, body: dict) -> Envelope:
        """Deletes, patches, puts, posts -- on a working copy committed only if all succeed."""
        zone = self._zone(params["zone"])
        ops = {kind: body.get(kind) or [] for kind in ("deletes", "patches", "puts", "posts")}
        if not all(isinstance(items, list) and all(isinstance(op, dict) for op in items)
                   for items in ops.values()):
            raise _error(9207, "Request body is invalid.")
        total = sum(len(items) for items in ops.values())
        if total > self.batch_limit:  # plan limit from the "Batch record changes" page; code undocumented
            raise _error(1004, f"Too many operations in one batch: {total}, the limit is {self.batch_limit}.")
        work = dict(zone.records)
        done: dict[str, list[Record]] = {kind: [] for kind in ops}
        for item in ops["deletes"]:
            done["deletes"].append(_delete(work, item.get("id")))
        for item in ops["patches"]:
            done["patches"].append(_patch(work, zone.name, item.get("id"), item))
        for item in ops["puts"]:
            done["puts"].append(_put(work, zone.name, item.get("id"), item))
        for item in ops["posts"]:
            done["posts"].append(_create(work, zone.name, item))
        zone.records = work
        return _envelope({kind: [zone.present_record(r) for r in recs] for kind, recs in done.items()})


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise _error(9207, "Request body is invalid.")
    return payload


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = cli_parser("Local simulator of the Cloudflare API v4 DNS endpoints.")
    parser.add_argument("--api-key", action="append", default=[], metavar="EMAIL:KEY",
                        help="accepted legacy X-Auth-Email/X-Auth-Key pair (repeatable)")
    parser.add_argument("--zones", default="", help="comma-separated zone names to create")
    parser.add_argument("--batch-limit", type=int, default=200)
    args = parser.parse_args(argv)
    api_keys = dict(pair.split(":", 1) for pair in args.api_key)
    sim = CloudflareSimulator(tokens=args.token or ["test-token"], api_keys=api_keys, host=args.host,
                              port=args.port, batch_limit=args.batch_limit)
    zones = {name: sim.add_zone(name) for name in args.zones.split(",") if name.strip()}
    return serve_until_signalled(sim, lambda: {"zones": zones})


if __name__ == "__main__":
    sys.exit(main())
