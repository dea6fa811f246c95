# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry policy of coldrig's HTTP clients (Cloudflare, Hetzner Cloud, DigitalOcean), with tenacity.

What is retried (``retryable``):

- a 429 (rate limited), always: the API refused the request without acting on it;
- a 5xx, and a request whose answer never came (timeout, connection dropped), only when the
  request is safe to repeat (GET, PUT, DELETE, PATCH): a POST that failed this way may have
  been applied, and repeating it could act twice;
- a connection that was never made, always: nothing was sent.

How long to wait: the ``Retry-After`` the API sent when there is one, else 0.5 s, 1 s, 2 s, ...
plus up to 0.5 s of jitter, never more than ``max_wait``. A ``Retry-After`` longer than
``max_wait`` is not waited for: the error is raised at once, saying when the limit resets.

How often: at most ``max_retries`` times after the first attempt.

A client raises its own error for a failed request, with the attributes this policy reads:
``retryable`` (bool), ``retry_after`` (seconds or None); the policy sets ``attempts`` (how many
requests were made) and, when it gave up on a long ``Retry-After``, ``retry_note`` (a sentence
that the error's text ends with).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import traceback

try:
    import tenacity
    HAS_TENACITY = True
    TENACITY_IMPORT_ERROR = None
except ImportError:
    HAS_TENACITY = False
    TENACITY_IMPORT_ERROR = traceback.format_exc()

MAX_RETRIES = 5  # retries after the first attempt
MAX_WAIT = 60.0  # longest wait before a retry, in seconds
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"))


def retryable(status=None, idempotent=True, never_sent=False):
    """Whether a failed request may be sent again.

    ``status`` is the HTTP status of the answer, None when there was none (timeout, connection
    lost or refused); ``idempotent`` whether repeating the request is safe; ``never_sent`` whether
    the connection was never made (so the API saw nothing).
    """
    if status == 429:
        return True
    if status is None:
        return bool(idempotent or never_sent)
    return status >= 500 and bool(idempotent)


class RetryPolicy(object):
    """Call a function, repeating it while it raises an error that says it may be repeated."""

    def __init__(self, max_retries=MAX_RETRIES, max_wait=MAX_WAIT, sleep=None):
        if not HAS_TENACITY:
            raise ImportError("the Python library tenacity is not installed on the controller: pip install tenacity")
        self.max_retries, self.max_wait = max(0, int(max_retries)), float(max_wait)
        self._sleep = sleep  # None: time.sleep, looked up at each wait (tests record it)
        # 0.5 s, 1 s, 2 s, ... plus up to 0.5 s of jitter
        self._backoff = tenacity.wait_exponential(multiplier=0.5, max=self.max_wait) + tenacity.wait_random(0, 0.5)

    def __repr__(self):
        return "RetryPolicy(max_retries=%d, max_wait=%g)" % (self.max_retries, self.max_wait)

    def call(self, function, *args, **kwargs):
        """``function(*args, **kwargs)``, retried by this policy; the last error is raised as it was."""
        retrying = tenacity.Retrying(stop=tenacity.stop_after_attempt(self.max_retries + 1), wait=self._wait,
                                     retry=tenacity.retry_if_exception(self._should_retry),
                                     sleep=self._do_sleep, reraise=True)
        for attempt in retrying:
            with attempt:
                try:
                    return function(*args, **kwargs)
                except Exception as exc:
                    try:
                        exc.attempts = attempt.retry_state.attempt_number
                    except AttributeError:  # pragma: no cover - an error type with __slots__
                        pass
                    raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    def _should_retry(self, exc):
        if not getattr(exc, "retryable", False):
            return False
        wait = getattr(exc, "retry_after", None)
        if wait is not None and wait > self.max_wait:
            exc.retry_note = "the limit resets in %d s, longer than the %g s this client waits" % (wait, self.max_wait)
            return False
        return True

    def _wait(self, retry_state):
        wait = getattr(retry_state.outcome.exception(), "retry_after", None)
        if wait is not None:
            return min(float(wait), self.max_wait)
        return min(self._backoff(retry_state), self.max_wait)

    def _do_sleep(self, seconds):
        (self._sleep or time.sleep)(seconds)
