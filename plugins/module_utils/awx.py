# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of AWX's REST API v2 (also Ansible Automation Platform's automation controller)
for the endpoints ``coldrig serve --dispatch awx`` uses:

- ``GET  /job_templates/{id}/launch/``   what a launch of the template may set (``ask_*_on_launch``)
- ``POST /job_templates/{id}/launch/``   launch it with ``extra_vars`` and ``limit``: 201 ``{"job": id, "ignored_fields"}``
- ``GET  /jobs/{id}/``                   the job: ``status`` (new, pending, waiting, running, successful,
                                         failed, error, canceled), ``job_explanation``, ``artifacts``,
                                         ``event_processing_finished``
- ``GET  /jobs/{id}/job_events/``        its events, paged (``count``, ``next``, ``results``), ordered by ``counter``
- ``POST /jobs/{id}/cancel/``            202, or 405 when the job cannot be canceled any more

``base_url`` is the API root, e.g. ``https://awx.example.com/api/v2`` (automation controller
behind the AAP 2.5 gateway: ``https://aap.example.com/api/controller/v2``). Authentication is an
OAuth2 bearer token; it only lives in the HTTP client's headers, never in an error or a repr.
Requests are retried by the shared policy of ``retry.py``; a launch is not repeated after an
answer that may have followed a launch (it is not idempotent).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

try:
    from urllib.parse import urljoin, urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urljoin, urlsplit

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

HAS_AWX_DEPS = HAS_HTTPX and HAS_TENACITY
AWX_DEPS_ERROR = HTTPX_IMPORT_ERROR or TENACITY_IMPORT_ERROR

FINISHED = frozenset(("successful", "failed", "error", "canceled"))
STATUSES = ("new", "pending", "waiting", "running") + tuple(sorted(FINISHED))
USER_AGENT = "coldrig.infra"
BODY_EXCERPT = 300  # characters of an answer quoted in an error
EVENTS_PAGE_SIZE = 200  # AWX's largest page


class AwxError(Exception):
    """A failed AWX API call: HTTP status (None without an answer), AWX's answer in words, the request."""

    def __init__(self, status, message, method=None, path=None, retry_after=None, retryable=False, body=None):
        self.status = status
        self.message = message
        self.method, self.path = method, path
        self.body = body  # the decoded JSON answer, when there was one
        self.retry_after, self.retryable = retry_after, retryable
        self.attempts = 1
        self.retry_note = None
        super(AwxError, self).__init__(status, message, method, path)

    def __str__(self):
        where = []
        if self.status is not None:
            where.append("HTTP %s" % self.status)
        if self.method:
            where.append("on %s %s" % (self.method, self.path))
        if self.attempts > 1 and where:
            where[-1] += ", after %d attempts" % self.attempts
        text = "AWX API error: %s%s" % (self.message, " (%s)" % " ".join(where) if where else "")
        return "%s; %s" % (text, self.retry_note) if self.retry_note else text

    def __repr__(self):
        return "AwxError(%r)" % str(self)


def _describe(body, text):
    """AWX's error answer in words: ``{"detail": ...}`` or ``{field: [messages]}``."""
    if isinstance(body, dict):
        if "detail" in body and len(body) == 1:
            return str(body["detail"])
        parts = []
        for key in sorted(body):
            value = body[key]
            items = value if isinstance(value, list) else [value]
            parts.append("%s: %s" % (key, "; ".join(str(item) for item in items)))
        return ", ".join(parts) or "an empty error answer"
    return "not a JSON object: %r" % (text or "")[:BODY_EXCERPT]


class AwxClient(object):
    """The launch, job, job events and cancel endpoints of AWX's API v2 (OAuth2 bearer token)."""

    def __init__(self, base_url, token, timeout=30.0, max_retries=5, max_wait=60.0, transport=None, verify=True):
        if not token or not all(33 <= ord(c) <= 126 for c in token):
            # said without the value: an invalid header value would otherwise be echoed by the HTTP library
            raise AwxError(None, "the AWX token is empty or not printable ASCII")
        self.base_url = base_url.rstrip("/") + "/"
        self._retry = RetryPolicy(max_retries, max_wait)
        self.request_count = 0
        headers = {"Authorization": "Bearer %s" % token, "Accept": "application/json", "User-Agent": USER_AGENT}
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport, verify=verify)

    def __repr__(self):
        return "AwxClient(base_url=%r)" % self.base_url

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._http.close()

    # ---- endpoints
    def launch_info(self, template_id):
        """What a launch of the job template may set and needs (GET /job_templates/{id}/launch/)."""
        return self._request("GET", "job_templates/%d/launch/" % int(template_id))

    def launch(self, template_id, extra_vars=None, limit=None):
        """Launch the job template; AWX's answer: ``job`` (the id), ``ignored_fields``, the job's fields."""
        payload = {}
        if extra_vars is not None:
            payload["extra_vars"] = extra_vars
        if limit is not None:
            payload["limit"] = limit
        # Not idempotent: a launch whose answer was lost may have made a job; a second would make another.
        return self._request("POST", "job_templates/%d/launch/" % int(template_id), json=payload, idempotent=False)

    def job(self, job_id):
        return self._request("GET", "jobs/%d/" % int(job_id))

    def job_events(self, job_id, after=0, page_size=EVENTS_PAGE_SIZE):
        """The job's events with ``counter`` above ``after``, oldest first, following ``next`` to the last page."""
        params = {"order_by": "counter", "counter__gt": int(after), "page_size": int(page_size)}
        url, events = "jobs/%d/job_events/" % int(job_id), []
        while url:
            body = self._request("GET", url, params=params)
            events.extend(body.get("results") or [])
            url, params = body.get("next"), None  # ``next`` carries the query of the next page
        return events

    def cancel(self, job_id):
        """Ask AWX to cancel the job: True when it took the request (202), False when the job cannot be canceled (405)."""
        try:
            self._request("POST", "jobs/%d/cancel/" % int(job_id))  # repeating a cancel is harmless
        except AwxError as exc:
            if exc.status == 405:
                return False
            raise
        return True

    # ---- transport
    def _url(self, path):
        """An absolute URL: ``path`` relative to the API root, or a ``next`` link (a path from the host)."""
        if urlsplit(path).scheme:
            return path
        if path.startswith("/"):
            return urljoin(self.base_url, path)
        return self.base_url + path

    def _request(self, method, path, params=None, json=None, idempotent=True):
        return self._retry.call(self._send, method, path, params, json, idempotent)

    def _send(self, method, path, params, json, idempotent=True):
        self.request_count += 1
        shown = urlsplit(self._url(path)).path
        try:
            response = self._http.request(method, self._url(path), params=params, json=json)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise AwxError(None, "%s: %s" % (type(exc).__name__, str(exc) or "no details"), method, shown,
                           retryable=retryable(None, idempotent, never_sent))
        except httpx.HTTPError as exc:
            raise AwxError(None, "%s: %s" % (type(exc).__name__, exc), method, shown)
        status = response.status_code
        if status == 202 and not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        if 200 <= status < 300:
            raise AwxError(status, _describe(None, response.text), method, shown)
        can_retry = retryable(status, idempotent)
        wait = _retry_after(response.headers.get("Retry-After")) if can_retry else None
        raise AwxError(status, _describe(body, response.text), method, shown, retry_after=wait,
                       retryable=can_retry, body=body if isinstance(body, dict) else None)
