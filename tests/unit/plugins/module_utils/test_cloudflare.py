"""The Cloudflare API v4 client, against the local simulator over real HTTP on 127.0.0.1."""
from __future__ import annotations

import email.utils
import socket
import ssl
import time
from collections.abc import Iterator

import httpx
import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import cloudflare
from tests.support import cloudflare_sim
from ansible_collections.coldrig.infra.plugins.module_utils.cloudflare import CloudflareClient, CloudflareError

TOKEN = "cf-client-token-0123456789abcdefghijklmn"
ZONE = "example.test"
TLS = ssl.create_default_context()  # built once: httpx would load the CA bundle for every client


@pytest.fixture
def sim() -> Iterator:
    with cloudflare_sim.CloudflareSimulator(tokens=[TOKEN]) as simulator:
        yield simulator


def _client(sim, **options) -> CloudflareClient:
    options.setdefault("timeout", 5.0)
    return CloudflareClient(options.pop("token", TOKEN), base_url=sim.base_url, verify=TLS, **options)


@pytest.fixture
def client(sim) -> Iterator[CloudflareClient]:
    with _client(sim) as api:
        yield api


@pytest.fixture
def zone_id(sim) -> str:
    """The simulator's id of ZONE, which it creates."""
    return sim.add_zone(ZONE)


def _post(client: CloudflareClient, zone_id: str, count: int, prefix: str = "h") -> list[dict]:
    posts = [{"type": "A", "name": f"{prefix}{i}", "content": f"192.0.2.{i + 1}"} for i in range(count)]
    return client.batch(zone_id, posts=posts)["posts"]


def _mock(handler) -> CloudflareClient:
    return CloudflareClient(TOKEN, base_url="https://api.invalid/client/v4", transport=httpx.MockTransport(handler),
                            verify=TLS, max_retries=1, max_wait=0.01)


# ------------------------------------------------------------------ zones
def test_zone_id_finds_the_zone_by_name_in_one_request_whatever_the_spelling(sim, client, zone_id):
    sim.add_zone("other.test")
    assert client.zone_id(ZONE) == zone_id
    assert client.zone_id("Example.Test.") == zone_id
    assert client.request_count == 2
    assert sim.requests == [("GET", "/client/v4/zones")] * 2


def test_an_unknown_zone_raises_an_error_that_names_the_zone(client, zone_id):
    with pytest.raises(CloudflareError) as caught:
        client.zone_id("missing.test")
    assert "zone missing.test not found in this Cloudflare account (or the token cannot read it)" in str(caught.value)
    assert caught.value.path == "/zones" and caught.value.method == "GET"


# ---------------------------------------------------------------- listing
def test_list_records_follows_total_pages_and_returns_every_record(sim, client, zone_id):
    created = _post(client, zone_id, 12)
    sim.reset_metrics()
    before = client.request_count
    records = client.list_records(zone_id, per_page=5)
    assert client.request_count - before == 3
    assert len(sim.requests) == 3
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in created)


def test_list_records_sends_one_request_when_the_zone_fits_in_one_page(sim, client, zone_id):
    _post(client, zone_id, 12)
    sim.reset_metrics()
    assert len(client.list_records(zone_id)) == 12
    assert sim.requests == [("GET", f"/client/v4/zones/{zone_id}/dns_records")]


def test_list_records_of_an_empty_zone_is_one_request_and_an_empty_list(sim, client, zone_id):
    sim.reset_metrics()
    assert client.list_records(zone_id) == []
    assert len(sim.requests) == 1


# ------------------------------------------------------------------ batch
def test_batch_applies_deletes_patches_and_posts_in_one_request_and_returns_them(sim, client, zone_id):
    old, keep = _post(client, zone_id, 2)
    sim.reset_metrics()
    result = client.batch(zone_id, deletes=[{"id": old["id"]}], patches=[{"id": keep["id"], "content": "192.0.2.99"}],
                          posts=[{"type": "TXT", "name": "@", "content": "v=spf1 -all"}])
    assert sim.requests == [("POST", f"/client/v4/zones/{zone_id}/dns_records/batch")]
    assert [r["id"] for r in result["deletes"]] == [old["id"]]
    assert result["patches"][0]["content"] == "192.0.2.99"
    assert (result["posts"][0]["type"], result["posts"][0]["name"]) == ("TXT", ZONE)
    assert sorted((r["type"], r["content"]) for r in sim.records(ZONE)) == [("A", "192.0.2.99"), ("TXT", "v=spf1 -all")]


def test_an_empty_batch_sends_no_request(sim, client, zone_id):
    sim.reset_metrics()
    before = client.request_count
    assert client.batch(zone_id, deletes=[], patches=(), puts=[], posts=[]) == {}
    assert client.request_count == before and sim.requests == []


def test_a_batch_with_an_invalid_record_raises_cloudflares_code_and_changes_nothing(sim, client, zone_id):
    (keep,) = _post(client, zone_id, 1)
    before = sim.records(ZONE)
    with pytest.raises(CloudflareError) as caught:
        client.batch(zone_id, deletes=[{"id": keep["id"]}], posts=[{"type": "A", "name": "bad", "content": "not-an-ip"}])
    assert caught.value.status == 400 and [e["code"] for e in caught.value.errors] == [9005]
    assert str(caught.value).startswith("Cloudflare API error 9005: Content for A record must be a valid IPv4 address.")
    assert sim.records(ZONE) == before


# ----------------------------------------------------------------- errors
def test_a_wrong_token_raises_9109_and_the_token_appears_in_no_error_text(sim, zone_id):
    wrong = "wrong-token-" + "s3cr3t" * 5
    with _client(sim, token=wrong) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    exc = caught.value
    assert (exc.status, [e["code"] for e in exc.errors]) == (403, [9109])
    assert str(exc) == "Cloudflare API error 9109: Invalid access token (HTTP 403 on GET /zones)"
    assert api.request_count == 1  # a 403 is not retried
    for text in (str(exc), repr(exc), repr(exc.args), repr(api)):
        assert wrong not in text and "s3cr3t" not in text


def test_a_token_that_is_not_a_valid_header_value_is_refused_without_echoing_it():
    with pytest.raises(CloudflareError) as caught:
        CloudflareClient("s3cr3t\nX-Injected: yes", verify=TLS)
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in repr(caught.value)


def test_the_older_nested_error_chain_is_flattened_into_the_errors():
    body = {"success": False, "result": None, "messages": [], "errors": [
        {"code": 6003, "message": "Invalid request headers",
         "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}]}]}
    with _mock(lambda request: httpx.Response(400, json=body)) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    assert caught.value.errors == [{"code": 6003, "message": "Invalid request headers"},
                                   {"code": 6111, "message": "Invalid format for Authorization header"}]
    assert str(caught.value) == ("Cloudflare API error 6003: Invalid request headers; "
                                 "6111: Invalid format for Authorization header (HTTP 400 on GET /zones)")


def test_a_non_json_body_raises_with_the_status_and_the_start_of_the_body():
    page = "<html>" + "x" * 500 + "</html>"
    with _mock(lambda request: httpx.Response(403, text=page)) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    assert caught.value.status == 403
    assert page[:200] in str(caught.value) and page[:201] not in str(caught.value)


def test_success_false_in_a_200_answer_is_an_error():
    body = {"success": False, "result": None, "messages": [], "errors": [{"code": 1000, "message": "odd"}]}
    with _mock(lambda request: httpx.Response(200, json=body)) as api, pytest.raises(CloudflareError) as caught:
        api.list_records("0" * 32)
    assert caught.value.status == 200 and caught.value.errors == [{"code": 1000, "message": "odd"}]


def test_requests_carry_the_bearer_token_json_content_type_and_a_coldrig_user_agent():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": {}})

    with _mock(handler) as api:
        api.batch("0" * 32, posts=[{"type": "A", "name": "a", "content": "192.0.2.1"}])
    (request,) = seen
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("coldrig.infra")
    assert request.content == b'{"posts":[{"type":"A","name":"a","content":"192.0.2.1"}]}'


# ---------------------------------------------------------------- retries
def test_a_429_with_retry_after_1_is_retried_after_about_one_second_and_succeeds(sim, client, zone_id):
    sim.fail_next(1, status=429, retry_after=1)
    start = time.monotonic()
    assert client.zone_id(ZONE) == zone_id
    elapsed = time.monotonic() - start
    assert client.request_count == 2
    assert 0.95 <= elapsed <= 2.0


def test_a_503_twice_is_retried_with_backoff_then_succeeds(sim, client, zone_id):
    sim.fail_next(2, status=503, retry_after=None)
    start = time.monotonic()
    assert client.zone_id(ZONE) == zone_id
    elapsed = time.monotonic() - start
    assert client.request_count == 3
    assert 1.4 <= elapsed <= 3.0  # about 0.5 s then 1 s, each plus up to 0.5 s of jitter


def test_exhausted_retries_raise_with_the_last_status_and_cloudflares_code(sim, zone_id):
    sim.fail_next(3, status=502, retry_after=None)
    with _client(sim, max_retries=2, max_wait=0.01) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    assert api.request_count == 3
    assert (caught.value.status, [e["code"] for e in caught.value.errors]) == (502, [502])
    assert str(caught.value) == "Cloudflare API error 502: Bad Gateway (HTTP 502 on GET /zones, after 3 attempts)"


def test_a_429_retry_after_longer_than_max_wait_fails_at_once_saying_when_the_limit_resets(sim, zone_id):
    sim.fail_next(1, status=429, retry_after=30)
    start = time.monotonic()
    with _client(sim, max_wait=0.2) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    assert api.request_count == 1 and time.monotonic() - start < 1.0
    assert caught.value.status == 429
    assert str(caught.value).endswith("; the limit resets in 30 s, longer than the 0.2 s this client waits")


def test_connection_failures_are_retried_then_raised_without_an_http_status():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the client connects: nothing listens there
    with CloudflareClient(TOKEN, base_url=f"http://127.0.0.1:{port}/client/v4", max_retries=2, max_wait=0.01,
                          verify=TLS) as api, pytest.raises(CloudflareError) as caught:
        api.zone_id(ZONE)
    assert api.request_count == 3 and caught.value.status is None
    assert str(caught.value).startswith("Cloudflare API error: ConnectError")
    assert str(caught.value).endswith("(on GET /zones, after 3 attempts)")


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = time.time()
    assert cloudflare._retry_after("7", now) == 7.0  # pylint: disable=protected-access
    assert cloudflare._retry_after(email.utils.formatdate(now + 3, usegmt=True), now) == pytest.approx(3, abs=1)
    assert cloudflare._retry_after("not a date", now) is None
    assert cloudflare._retry_after(None, now) is None


def test_a_batch_is_not_retried_after_a_5xx_because_it_may_have_been_applied(sim, zone_id):
    sim.fail_next(1, status=502, retry_after=None)
    with _client(sim, max_retries=3, max_wait=0.01) as api, pytest.raises(CloudflareError) as caught:
        api.batch(zone_id, posts=[{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 3600}])
    assert api.request_count == 1 and caught.value.status == 502


def test_a_batch_is_retried_after_a_429(sim, zone_id):
    sim.fail_next(1, status=429, retry_after=0)
    with _client(sim, max_retries=3, max_wait=0.01) as api:
        api.batch(zone_id, posts=[{"type": "A", "name": "mail", "content": "192.0.2.1", "ttl": 3600}])
    assert api.request_count == 2
