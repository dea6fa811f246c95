"""The one retry policy of the HTTP clients (retry.py), and the rule that no client reaches into its library."""
from __future__ import annotations

import ast
import pathlib

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import retry
from ansible_collections.coldrig.infra.plugins.module_utils.retry import RetryPolicy, retryable

CLIENTS = ["cloudflare.py", "hcloud.py", "digitalocean.py"]
MODULE_UTILS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "module_utils"


class Failed(Exception):
    def __init__(self, retryable_=True, retry_after=None):
        super().__init__("failed")
        self.retryable, self.retry_after = retryable_, retry_after
        self.retry_note = None


def _flaky(failures):
    calls = []

    def function():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"
    return function, calls


@pytest.mark.parametrize("status, idempotent, never_sent, expected", [
    (429, False, False, True), (429, True, False, True),
    (500, True, False, True), (503, True, False, True), (500, False, False, False),
    (None, True, False, True), (None, False, False, False), (None, False, True, True),
])
def test_a_post_is_retried_only_on_429_or_a_connection_never_made(status, idempotent, never_sent, expected):
    assert retryable(status, idempotent, never_sent) is expected


def test_retry_after_is_waited_for_and_attempts_are_counted():
    slept = []
    function, calls = _flaky([Failed(retry_after=2), Failed(retry_after=3)])
    assert RetryPolicy(max_retries=5, max_wait=60, sleep=slept.append).call(function) == "ok"
    assert slept == [2.0, 3.0] and len(calls) == 3


def test_without_retry_after_the_backoff_doubles_and_is_capped_by_max_wait():
    slept = []
    function, _calls = _flaky([Failed() for attempt in range(4)])
    RetryPolicy(max_retries=5, max_wait=1.5, sleep=slept.append).call(function)
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 1.5 and slept[2:] == [1.5, 1.5]


def test_retries_are_bounded_and_the_last_error_says_how_many_attempts():
    slept = []
    function, calls = _flaky([Failed() for attempt in range(10)])
    with pytest.raises(Failed) as caught:
        RetryPolicy(max_retries=2, max_wait=0.01, sleep=slept.append).call(function)
    assert len(calls) == 3 and caught.value.attempts == 3 and len(slept) == 2


def test_an_error_that_is_not_retryable_is_raised_at_once():
    function, calls = _flaky([Failed(retryable_=False)])
    with pytest.raises(Failed) as caught:
        RetryPolicy(sleep=pytest.fail).call(function)
    assert len(calls) == 1 and caught.value.attempts == 1


def test_a_retry_after_longer_than_max_wait_is_not_waited_for_and_says_so():
    function, calls = _flaky([Failed(retry_after=600)])
    with pytest.raises(Failed) as caught:
        RetryPolicy(max_wait=60, sleep=pytest.fail).call(function)
    assert len(calls) == 1
    assert caught.value.retry_note == "the limit resets in 600 s, longer than the 60 s this client waits"


def test_the_sleep_is_time_sleep_looked_up_when_waiting(monkeypatch):
    slept = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    function, _calls = _flaky([Failed(retry_after=1)])
    RetryPolicy().call(function)
    assert slept == [1.0]


# ------------------------------------------------ no client reaches into its library
def _private_uses(source):
    """Name-mangled or private attributes used on anything but self/cls, and classes built on a library's classes."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
            mangled = "__" in node.attr[1:]
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if mangled or not on_self:
                found.append(ast.unparse(node))
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if ast.unparse(base) not in ("object", "Exception"):
                    found.append("class %s(%s)" % (node.name, ast.unparse(base)))
    return found


@pytest.mark.parametrize("name", CLIENTS)
def test_no_client_calls_a_private_method_of_its_library(name):
    assert _private_uses((MODULE_UTILS / name).read_text()) == []


def test_the_private_use_check_finds_the_old_digitalocean_transport():
    old = ("class _Transport(_BaseAPI):\n"
           "    def send(self, method, url, params=None):\n"
           "        return self._BaseAPI__perform_request(url, method, params)\n")
    assert _private_uses(old) == ["class _Transport(_BaseAPI)", "self._BaseAPI__perform_request"]
