"""Delivery of a job's exports to the request's ``callback_url``.

When a request gives ``callback_url``, the job's exports go there once the job has finished, as
a ``POST`` of ``{"id", "state", "files": [{"path", "content"}]}`` (the body of ``GET
/v1/jobs/{id}/exports``), signed the way requests to the server are (``X-Coldrig-Signature:
t=<unix time>,v1=<HMAC-SHA256 over "<t>.<body>">`` with the server's first secret), signed afresh
for every attempt. Attempts follow the collection's one retry policy (plugins/module_utils/retry.py):
a 429, a 5xx, a timeout or a lost connection is tried again, up to ``MAX_RETRIES`` times; the
receiver keys deliveries by the job id (``X-Coldrig-Job``), so one it gets twice is one delivery.
Delivered, the exports are deleted. The URL is kept in the job's directory (mode 0600), never
in the store or the logs (it may carry a token): the logs name its host only.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from coldrig.serve import auth
from coldrig.serve import request as req

LOG = logging.getLogger("coldrig.serve")
FILE = "callback.json"
MAX_RETRIES = 5
MAX_WAIT = 30.0
TIMEOUT = 15.0


class DeliveryError(Exception):
    """An attempt that failed; ``retryable`` and ``retry_after`` are read by the retry policy."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable, self.retry_after = retryable, retry_after


def url_problem(url) -> str | None:
    """Why ``url`` cannot be a callback URL, or None."""
    if not isinstance(url, str) or not 0 < len(url) <= 2000:
        return "give an http(s) URL of at most 2000 characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL with a host"
    if parts.username or parts.password:
        return "carries a user or password; put a token in the path or query instead"
    return None


def where(url: str) -> str:
    """The part of a callback URL that may be logged: scheme and host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def save(jobdir: Path, url: str) -> None:
    descriptor = os.open(jobdir / FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"url": url}, handle)


def load(jobdir: Path) -> str | None:
    try:
        return json.loads((jobdir / FILE).read_text(encoding="utf-8"))["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Deliverer:
    def __init__(self, config, sleep=None):
        self.config = config
        retry = req.module_util(config.project_dir, "retry")
        self._policy = retry.RetryPolicy(MAX_RETRIES, MAX_WAIT, sleep=sleep)
        self._retryable = retry.retryable
        self._retry_after = req.module_util(config.project_dir, "api_common").retry_after

    def deliver(self, url: str, job_id: str, body: bytes) -> int:
        """POST ``body`` to ``url`` until it is taken (2xx) or the policy gives up; how many attempts."""
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            attempts = []

            def attempt():
                attempts.append(1)
                stamp = int(time.time())
                path = urlsplit(url).path or "/"
                headers = {auth.HEADER: auth.sign(self.config.secrets[0], stamp, body, "POST", path),
                           "Content-Type": "application/json", "X-Coldrig-Job": job_id,
                           "User-Agent": "coldrig-serve"}
                try:
                    response = client.post(url, content=body, headers=headers)
                except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                    raise DeliveryError(type(exc).__name__, self._retryable(None, True, never_sent)) from None
                except httpx.HTTPError as exc:  # its text may quote the URL: the type only
                    raise DeliveryError(type(exc).__name__, False) from None
                if not 200 <= response.status_code < 300:
                    retryable = self._retryable(response.status_code, True)
                    raise DeliveryError(f"HTTP {response.status_code}", retryable,
                                        self._retry_after(response.headers.get("Retry-After")) if retryable else None)

            self._policy.call(attempt)
            return len(attempts)
