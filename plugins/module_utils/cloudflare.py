# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Cloudflare API v4 client for the DNS endpoints that coldrig modules use.

One zone's records are read in one listing (``per_page`` large enough for the whole
zone) and changed in one ``POST /zones/{id}/dns_records/batch``, which Cloudflare
applies all or nothing. Requests are retried by the shared policy of ``retry.py``
(429 always; 5xx and timeouts when the request is safe to repeat; honouring ``Retry-After``).
Every failure is a CloudflareError carrying Cloudflare's own codes and messages. The
API token only ever lives in the HTTP client's headers: no error text or repr shows it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import threading
import time
import traceback

try:
    import httpx
    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None
except ImportError:
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.api_common import retry_after as _retry_after
from ansible_collections.coldrig.infra.plugins.module_utils.retry import (
    HAS_TENACITY,
    TENACITY_IMPORT_ERROR,
    RetryPolicy,
    retryable,
)

HAS_CLOUDFLARE_DEPS = HAS_HTTPX and HAS_TENACITY
CLOUDFLARE_DEPS_ERROR = HTTPX_IMPORT_ERROR or TENACITY_IMPORT_ERROR

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
USER_AGENT = "coldrig.infra"
BODY_EXCERPT = 200  # characters of a non-JSON body quoted in an error


class CloudflareError(Exception):
    """A failed Cloudflare API call: HTTP status (None without a response), Cloudflare's errors, the request."""

    def __init__(self, status, errors, method=None, path=None, retry_after=None, retryable=False):
        self.status = status
        self.errors = list(errors)  # [{"code": int or None, "message": str}]
        self.method, self.path = method, path
        self.retry_after, self.retryable = retry_after, retryable
        self.attempts = 1
        self.retry_note = None  # set by the retry policy when it did not wait for a long Retry-After
        super(CloudflareError, self).__init__(status, self.errors, method, path)

    def __str__(self):
        items = ["%s: %s" % (e["code"], e["message"]) if e.get("code") is not None else e["message"] for e in self.errors]
        text = "Cloudflare API error%s%s" % (" " if self.errors and self.errors[0].get("code") is not None else ": ",
                                             "; ".join(items) or "without details")
        where = []
        if self.status is not None:
            where.append("HTTP %s" % self.status)
        if self.method:
            where.append("on %s %s" % (self.method, self.path))
        if self.attempts > 1 and where:
            where[-1] += ", after %d attempts" % self.attempts
        text = "%s (%s)" % (text, " ".join(where)) if where else text
        return "%s; %s" % (text, self.retry_note) if self.retry_note else text

    def __repr__(self):
        return "CloudflareError(%r)" % str(self)


def _flatten(errors):
    """Cloudflare's error list, with the older nested ``error_chain`` items after their parent."""
    flat = []
    for item in errors if isinstance(errors, list) else []:
        if not isinstance(item, dict):
            continue
        flat.append({"code": item.get("code"), "message": str(item.get("message", ""))})
        flat.extend(_flatten(item.get("error_chain")))
    return flat


# Cloudflare's global API rate limit: 1,200 requests per five minutes per user
# (https://developers.cloudflare.com/fundamentals/api/reference/limits/).
RATE_LIMIT = (1200, 300.0)


class RateLimiter(object):
    """At most ``limit`` requests in any ``period`` seconds, shared by the threads of one run.

    Clients that push zones concurrently share one, so the run stays under the account's
    limit instead of meeting 429s; a 429 that comes anyway is retried by the retry policy.
    """

    def __init__(self, limit=RATE_LIMIT[0], period=RATE_LIMIT[1], clock=time.monotonic, sleep=time.sleep):
        self.limit, self.period = int(limit), float(period)
        self._clock, self._sleep = clock, sleep
        self._sent = collections.deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self):
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                pause = self.period - (now - self._sent[0])
                self.waited += pause
            self._sleep(pause)


class CloudflareClient(object):
    """The zone, record listing and batch endpoints of Cloudflare API v4 (Bearer token auth)."""

    def __init__(self, api_token, base_url=DEFAULT_BASE_URL, timeout=30.0, max_retries=5, max_wait=60.0,
                 transport=None, verify=True, limiter=None, http=None):
        if not api_token or not all(33 <= ord(c) <= 126 for c in api_token):
            # said without the value: an invalid header value would otherwise be echoed by the HTTP library
            raise CloudflareError(None, [{"code": None, "message": "the API token is empty or not printable ASCII"}])
        self.base_url = base_url.rstrip("/")
        self._retry = RetryPolicy(max_retries, max_wait)
        self.max_retries, self.max_wait = self._retry.max_retries, self._retry.max_wait
        self.request_count = 0
        self._limiter = limiter
        headers = {"Authorization": "Bearer %s" % api_token, "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": USER_AGENT}
        # ``http``: another client's connection pool, shared by the clients of one concurrent run
        # (httpx.Client is thread-safe); this client then never closes it.
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                                                transport=transport, verify=verify)

    def __repr__(self):
        return "CloudflareClient(base_url=%r)" % self.base_url

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self._owns_http:
            self._http.close()

    @property
    def http(self):
        """The connection pool, for clients of the same run to share (``http=``)."""
        return self._http

    # ---- endpoints
    def zone_id(self, name):
        """The id of the zone called ``name`` (GET /zones?name=...)."""
        name = name.strip().rstrip(".").lower()
        for zone in self._request("GET", "/zones", params={"name": name})["result"] or []:
            if zone.get("name", "").lower() == name:
                return zone["id"]
        message = "zone %s not found in this Cloudflare account (or the token cannot read it)" % name
        raise CloudflareError(None, [{"code": None, "message": message}], "GET", "/zones")

    def accounts(self, per_page=50):
        """The accounts the token has ownership of or verified access to (GET /accounts), following the pages."""
        accounts, page = [], 1
        while True:
            body = self._request("GET", "/accounts", params={"page": page, "per_page": per_page})
            accounts.extend(body.get("result") or [])
            total_pages = (body.get("result_info") or {}).get("total_pages") or 1
            if page >= total_pages or not body.get("result"):
                return accounts
            page += 1

    def zones(self, name=None, account_id=None, per_page=50):
        """Every zone (GET /zones), filtered by ``name`` and ``account.id`` when given, following the pages."""
        params = {"per_page": per_page}
        if name:
            params["name"] = name.strip().rstrip(".").lower()
        if account_id:
            params["account.id"] = account_id
        zones, page = [], 1
        while True:
            params["page"] = page
            body = self._request("GET", "/zones", params=dict(params))
            zones.extend(body.get("result") or [])
            total_pages = (body.get("result_info") or {}).get("total_pages") or 1
            if page >= total_pages or not body.get("result"):
                return zones
            page += 1

    def zone(self, zone_id):
        """One zone (GET /zones/{id}): status, name_servers, original_name_servers..."""
        return self._request("GET", "/zones/%s" % zone_id)["result"]

    def create_zone(self, name, account_id, zone_type="full"):
        """A new zone in the account (POST /zones); Cloudflare answers it ``pending`` with its nameservers."""
        payload = {"name": name, "account": {"id": account_id}, "type": zone_type}
        # Not idempotent: a create that timed out may have been made, and a second one fails with 1061.
        return self._request("POST", "/zones", json=payload, idempotent=False)["result"]

    def delete_zone(self, zone_id):
        """Delete the zone and every record in it (DELETE /zones/{id})."""
        return self._request("DELETE", "/zones/%s" % zone_id, idempotent=False)["result"]

    def list_records(self, zone_id, per_page=5000):
        """Every DNS record of the zone, following ``result_info.total_pages``."""
        path, records, page = "/zones/%s/dns_records" % zone_id, [], 1
        while True:
            body = self._request("GET", path, params={"page": page, "per_page": per_page})
            records.extend(body.get("result") or [])
            total_pages = (body.get("result_info") or {}).get("total_pages") or 1
            if page >= total_pages or not body.get("result"):
                return records
            page += 1

    def batch(self, zone_id, deletes=(), patches=(), puts=(), posts=()):
        """Apply deletes, patches, puts, posts in one all-or-nothing request; {} and no request when all are empty."""
        payload = dict((key, list(ops)) for key, ops in
                       (("deletes", deletes), ("patches", patches), ("puts", puts), ("posts", posts)) if ops)
        if not payload:
            return {}
        # Not idempotent: a batch that timed out may have been applied, and a second one would then
        # fail on records that now exist. Only a 429 or a connection never made is retried.
        return self._request("POST", "/zones/%s/dns_records/batch" % zone_id, json=payload, idempotent=False)["result"] or {}

    # ---- transport
    def _request(self, method, path, params=None, json=None, idempotent=True):
        """The decoded JSON answer, retried by the shared policy (``retry.RetryPolicy``)."""
        return self._retry.call(self._send, method, path, params, json, idempotent)

    def _send(self, method, path, params, json, idempotent=True):
        if self._limiter is not None:
            self._limiter.acquire()
        self.request_count += 1
        try:
            response = self._http.request(method, path, params=params, json=json)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            message = "%s: %s" % (type(exc).__name__, str(exc) or "no details")
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise CloudflareError(None, [{"code": None, "message": message}], method, path,
                                  retryable=retryable(None, idempotent, never_sent)) from exc
        except httpx.HTTPError as exc:
            raise CloudflareError(None, [{"code": None, "message": "%s: %s" % (type(exc).__name__, exc)}], method, path) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if isinstance(body, dict) and body.get("success") is not False and 200 <= status < 300:
            return body
        if isinstance(body, dict):
            errors = _flatten(body.get("errors")) or [{"code": None, "message": "success is false, no errors given"}]
        else:
            errors = [{"code": None, "message": "not a JSON object: %r" % response.text[:BODY_EXCERPT]}]
        can_retry = retryable(status, idempotent) if status >= 400 else False
        retry_after = _retry_after(response.headers.get("Retry-After")) if can_retry else None
        raise CloudflareError(status, errors, method, path, retry_after=retry_after, retryable=can_retry)
