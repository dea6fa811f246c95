"""The request signature of ``coldrig serve``.

Header: ``X-Coldrig-Signature: t=<unix seconds>,v1=<hex>`` (several ``v1=`` may be given).
``v1`` is HMAC-SHA256, keyed with one of the server's secrets (two are valid during a rotation),
over the bytes ``<t>.<body>``: the decimal timestamp, one ASCII dot, then the request body exactly
as sent. For a request without a body (GET, ``POST .../cancel``) ``<METHOD> <path>`` stands in
for the body, the path with its query string: ``1767225600.GET /v1/jobs/6f1c...``.

A signature is refused when its timestamp is more than the replay window (300 s) from the
server's clock, and a request that changes something (any method but GET) is refused when
its signature was already used inside the window: an exact replay creates nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Coldrig-Signature"


class AuthError(Exception):
    """The request is not signed by a holder of a current secret (HTTP 401)."""


def signed_bytes(timestamp: int | str, body: bytes, method: str = "GET", path: str = "") -> bytes:
    if not body:
        body = f"{method.upper()} {path}".encode()
    return str(timestamp).encode() + b"." + body


def sign(secret: str, timestamp: int | str, body: bytes, method: str = "GET", path: str = "") -> str:
    """The header value for a request: ``t=<timestamp>,v1=<hex>``."""
    digest = hmac.new(secret.encode(), signed_bytes(timestamp, body, method, path), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def parse(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise AuthError(f"the request is not signed: send {HEADER}: t=<unix time>,v1=<HMAC-SHA256 hex>")
    timestamp, digests = None, []
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            digests.append(value.strip().lower())
    if timestamp is None or not digests:
        raise AuthError(f"{HEADER}: give t=<unix time>,v1=<HMAC-SHA256 hex>")
    return timestamp, digests


def verify(header: str | None, body: bytes, secrets: list[str], window: int, method: str = "GET",
           path: str = "", now: float | None = None) -> str:
    """Check a signature; return the matching digest (the replay key) or raise AuthError."""
    timestamp, digests = parse(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > window:
        raise AuthError(f"{HEADER}: the timestamp is more than {window} s from the server's clock "
                        "(sign with the current time; check the clocks)")
    message = signed_bytes(timestamp, body, method, path)
    matched = None
    for secret in secrets:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        for digest in digests:
            if hmac.compare_digest(expected.encode(), digest.encode()) and matched is None:
                matched = expected
    if matched is not None:
        return matched
    raise AuthError(f"{HEADER}: the signature does not match (sign <t>.<body> with a current secret)")


# -- the job page's URL token -------------------------------------------------------------------
# A browser cannot sign each request (an EventSource sends no custom header), so the signed
# ``GET /v1/jobs/{id}`` hands out the page's URL with a token in its query: ``exp`` (unix seconds
# when it stops being valid) and ``sig``, HMAC-SHA256 with a current secret over
# ``page.<job id>.<exp>``. It opens that job's page and its event stream, read-only, until ``exp``.

def page_token(secret: str, job_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"page.{job_id}.{int(expires)}".encode(), hashlib.sha256).hexdigest()


def verify_page_token(job_id: str, expires: str | None, sig: str | None, secrets: list[str], ttl: int,
                      now: float | None = None) -> None:
    """Raise AuthError unless ``sig`` is a current secret's token for ``job_id`` valid at ``now``."""
    now = time.time() if now is None else now
    if not expires or not sig or not expires.isdigit() or len(expires) > 12:
        raise AuthError("the page needs its signed URL (exp and sig), from the urls.page of GET /v1/jobs/<id>")
    if not now <= int(expires) <= now + ttl + 5:
        raise AuthError("this page URL has expired (or is not valid yet): take a fresh one from GET /v1/jobs/<id>")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(page_token(secret, job_id, int(expires)).encode(), sig.strip().lower().encode())
    if not matched:
        raise AuthError("the page URL's signature does not match (take a fresh one from GET /v1/jobs/<id>)")
