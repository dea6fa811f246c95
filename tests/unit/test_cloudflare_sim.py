"""The Cloudflare API v4 simulator behaves like the documented API, over real HTTP on 127.0.0.1."""
from __future__ import annotations

import importlib.util
import json
import selectors
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SIM_PATH = ROOT / "tests" / "support" / "cloudflare_sim.py"
TOKEN = "sim-token-0123456789abcdefghijklmnopqrstu"
ZONE = "example.test"
TLS = ssl.create_default_context()  # built once: httpx would load the CA bundle for every client


def _load_by_path() -> ModuleType:
    """Import the simulator by file path, the way a benchmark outside the tests package would."""
    spec = importlib.util.spec_from_file_location("cloudflare_sim_under_test", SIM_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cloudflare_sim = _load_by_path()


@pytest.fixture
def sim() -> Iterator:
    api_keys = {"ops@example.test": "k" * 37}
    with cloudflare_sim.CloudflareSimulator(tokens=[TOKEN], api_keys=api_keys) as simulator:
        simulator.add_zone(ZONE)
        yield simulator


@pytest.fixture
def raw(sim) -> Iterator[httpx.Client]:
    """A client that sends no credentials."""
    with httpx.Client(base_url=sim.base_url, timeout=5, verify=TLS) as client:
        yield client


@pytest.fixture
def api(sim) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=5, verify=TLS) as client:
        yield client


@pytest.fixture
def zone_id(api: httpx.Client) -> str:
    return api.get("/zones", params={"name": ZONE}).json()["result"][0]["id"]


def _records_url(zone_id: str) -> str:
    return f"/zones/{zone_id}/dns_records"


def _create(api: httpx.Client, zone_id: str, **record) -> dict:
    response = api.post(_records_url(zone_id), json=record)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def _error_codes(response: httpx.Response) -> list[int]:
    body = response.json()
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    return [error["code"] for error in body["errors"]]


# ----------------------------------------------------------------- auth
def test_unknown_bearer_token_gets_403_with_the_9109_envelope(raw):
    response = raw.get("/zones", headers={"Authorization": "Bearer not-a-known-token"})
    assert response.status_code == 403
    assert response.json() == {
        "success": False, "errors": [{"code": 9109, "message": "Invalid access token"}],
        "messages": [], "result": None}


def test_missing_credentials_get_400_with_code_9106(raw):
    response = raw.get("/zones")
    assert response.status_code == 400
    assert _error_codes(response) == [9106]


def test_legacy_email_and_global_key_authenticate_and_a_wrong_key_gets_9103(raw):
    good = {"X-Auth-Email": "ops@example.test", "X-Auth-Key": "k" * 37}
    assert raw.get("/zones", headers=good).status_code == 200
    response = raw.get("/zones", headers={**good, "X-Auth-Key": "x" * 37})
    assert response.status_code == 403
    assert _error_codes(response) == [9103]


# ---------------------------------------------------------------- zones
def test_zone_lookup_by_name_returns_only_that_zone_with_result_info(sim, api):
    other = sim.add_zone("other.test")
    body = api.get("/zones", params={"name": ZONE}).json()
    assert body["success"] is True
    assert [z["name"] for z in body["result"]] == [ZONE]
    zone = body["result"][0]
    assert len(zone["id"]) == 32 and int(zone["id"], 16) >= 0 and zone["id"] != other
    assert zone["status"] == "active" and "id" in zone["account"]
    assert body["result_info"] == {"page": 1, "per_page": 20, "count": 1, "total_count": 1, "total_pages": 1}
    assert api.get(f"/zones/{zone['id']}").json()["result"]["name"] == ZONE


def test_unknown_zone_id_gets_1001_and_a_malformed_one_gets_7003(api):
    assert _error_codes(api.get(f"/zones/{'0' * 32}/dns_records")) == [1001]
    response = api.get(f"/zones/{ZONE}/dns_records")
    assert response.status_code == 400
    assert _error_codes(response) == [7003, 7000]


# ----------------------------------------------------------- pagination
def _post_many(api: httpx.Client, zone_id: str, count: int) -> None:
    posts = [{"type": "A", "name": f"h{i}", "content": f"192.0.2.{i % 250 + 1}"} for i in range(count)]
    for start in range(0, count, 200):
        response = api.post(f"{_records_url(zone_id)}/batch", json={"posts": posts[start:start + 200]})
        assert response.status_code == 200, response.text


def test_250_records_at_per_page_100_come_back_in_3_pages_with_correct_result_info(api, zone_id):
    _post_many(api, zone_id, 250)
    seen: list[str] = []
    for page, count in ((1, 100), (2, 100), (3, 50)):
        body = api.get(_records_url(zone_id), params={"page": page, "per_page": 100}).json()
        assert body["result_info"] == {"page": page, "per_page": 100, "count": count,
                                       "total_count": 250, "total_pages": 3}
        seen += [r["id"] for r in body["result"]]
    assert len(set(seen)) == 250
    past_end = api.get(_records_url(zone_id), params={"page": 4, "per_page": 100}).json()
    assert past_end["result"] == [] and past_end["result_info"]["count"] == 0


def test_per_page_defaults_to_100_and_an_empty_zone_reports_one_page(api, zone_id):
    empty = api.get(_records_url(zone_id)).json()["result_info"]
    assert empty == {"page": 1, "per_page": 100, "count": 0, "total_count": 0, "total_pages": 1}
    _post_many(api, zone_id, 101)
    info = api.get(_records_url(zone_id)).json()["result_info"]
    assert (info["per_page"], info["count"], info["total_pages"]) == (100, 100, 2)


# -------------------------------------------------------------- filters
def test_name_and_type_filters_match_the_exact_fqdn_and_type(api, zone_id):
    _create(api, zone_id, type="A", name="mail", content="192.0.2.10")
    _create(api, zone_id, type="AAAA", name="mail", content="2001:db8::10")
    _create(api, zone_id, type="A", name="mail2", content="192.0.2.11")
    _create(api, zone_id, type="TXT", name="@", content="v=spf1 -all")

    def names_types(**params) -> list[tuple[str, str]]:
        records = api.get(_records_url(zone_id), params=params).json()["result"]
        return [(r["name"], r["type"]) for r in records]

    assert names_types(name=f"mail.{ZONE}") == [(f"mail.{ZONE}", "A"), (f"mail.{ZONE}", "AAAA")]
    assert names_types(**{"name.exact": f"mail.{ZONE}", "type": "AAAA"}) == [(f"mail.{ZONE}", "AAAA")]
    assert names_types(name=ZONE, type="TXT") == [(ZONE, "TXT")]
    assert names_types(**{"name.startswith": "mail2"}) == [(f"mail2.{ZONE}", "A")]
    assert names_types(content="192.0.2.11") == [(f"mail2.{ZONE}", "A")]
    assert names_types(type="MX") == []


def test_match_any_ors_the_filters_instead_of_anding_them(api, zone_id):
    _create(api, zone_id, type="A", name="a", content="192.0.2.1")
    _create(api, zone_id, type="TXT", name="b", content="hello")
    params = {"name": f"a.{ZONE}", "type": "TXT"}
    assert api.get(_records_url(zone_id), params=params).json()["result"] == []
    both = api.get(_records_url(zone_id), params={**params, "match": "any"}).json()["result"]
    assert sorted(r["name"] for r in both) == [f"a.{ZONE}", f"b.{ZONE}"]


# ----------------------------------------------------------------- CRUD
def test_create_returns_the_documented_fields_and_stores_the_fqdn_for_any_name_form(api, zone_id):
    apex = _create(api, zone_id, type="A", name="@", content="192.0.2.1")
    relative = _create(api, zone_id, type="A", name="www", content="192.0.2.2", ttl=300, comment="web")
    fqdn = _create(api, zone_id, type="MX", name=f"{ZONE}.", content="Mail.Example.Test.", priority=10)
    assert (apex["name"], relative["name"], fqdn["name"]) == (ZONE, f"www.{ZONE}", ZONE)
    assert set(relative) >= {"id", "zone_id", "zone_name", "name", "type", "content", "proxiable", "proxied",
                             "ttl", "comment", "tags", "settings", "meta", "created_on", "modified_on"}
    assert len(relative["id"]) == 32 and relative["zone_id"] == zone_id and relative["zone_name"] == ZONE
    assert (relative["ttl"], relative["proxied"], relative["proxiable"]) == (300, False, True)
    assert relative["tags"] == [] and relative["comment"] == "web"
    assert (fqdn["content"], fqdn["priority"], fqdn["proxiable"]) == ("mail.example.test", 10, False)
    assert "priority" not in apex and apex["ttl"] == 1 and apex["comment"] is None


def test_a_name_outside_the_zone_gets_the_zone_appended(api, zone_id):
    record = _create(api, zone_id, type="A", name="www.elsewhere.test", content="192.0.2.1")
    assert record["name"] == f"www.elsewhere.test.{ZONE}"


def test_patch_changes_only_the_given_fields(api, zone_id):
    record = _create(api, zone_id, type="A", name="www", content="192.0.2.1", ttl=300, comment="keep me")
    response = api.patch(f"{_records_url(zone_id)}/{record['id']}", json={"content": "192.0.2.2"})
    patched = response.json()["result"]
    assert (patched["content"], patched["ttl"], patched["comment"]) == ("192.0.2.2", 300, "keep me")
    assert patched["created_on"] == record["created_on"]
    assert api.get(f"{_records_url(zone_id)}/{record['id']}").json()["result"]["content"] == "192.0.2.2"


def test_put_overwrites_the_record_and_resets_unspecified_fields_to_defaults(api, zone_id):
    record = _create(api, zone_id, type="A", name="www", content="192.0.2.1", ttl=300, comment="gone")
    body = {"type": "CNAME", "name": "www", "content": "target.example.net"}
    put = api.put(f"{_records_url(zone_id)}/{record['id']}", json=body).json()["result"]
    assert put["id"] == record["id"]
    assert (put["type"], put["content"]) == ("CNAME", "target.example.net")
    assert (put["ttl"], put["comment"]) == (1, None)


def test_delete_answers_the_id_then_the_record_is_gone_with_81044(api, zone_id):
    record = _create(api, zone_id, type="A", name="www", content="192.0.2.1")
    deleted = api.delete(f"{_records_url(zone_id)}/{record['id']}")
    assert deleted.status_code == 200 and deleted.json()["result"] == {"id": record["id"]}
    missing = api.get(f"{_records_url(zone_id)}/{record['id']}")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"code": 81044, "message": "Record does not exist."}]


def test_an_identical_record_is_rejected_with_81058(api, zone_id):
    _create(api, zone_id, type="TXT", name="@", content="v=spf1 -all")
    response = api.post(_records_url(zone_id), json={"type": "TXT", "name": ZONE, "content": "v=spf1 -all"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 81058, "message": "An identical record already exists."}]
    assert len(api.get(_records_url(zone_id)).json()["result"]) == 1


def test_cname_cannot_share_a_name_with_a_aaaa_or_cname_records(api, zone_id):
    _create(api, zone_id, type="A", name="www", content="192.0.2.1")
    _create(api, zone_id, type="CNAME", name="alias", content="www.example.test")
    cname = {"type": "CNAME", "name": "www", "content": "x.example.net"}
    assert _error_codes(api.post(_records_url(zone_id), json=cname)) == [81053]
    aaaa = {"type": "AAAA", "name": "alias", "content": "2001:db8::1"}
    assert _error_codes(api.post(_records_url(zone_id), json=aaaa)) == [81054]
    _create(api, zone_id, type="TXT", name="www", content="a TXT next to an A is fine")


def test_a_txt_or_mx_beside_a_cname_is_accepted_as_by_cloudflare(api, zone_id):
    """Cloudflare refuses only A/AAAA/CNAME at a CNAME's name (records-with-same-name page); a TXT or MX
    there is accepted (cloudflare/cloudflare-docs#30376), so a client must find that conflict itself."""
    _create(api, zone_id, type="CNAME", name="_dmarc", content="dmarc.vendor.example")
    _create(api, zone_id, type="TXT", name="_dmarc", content="v=DMARC1; p=reject")
    _create(api, zone_id, type="MX", name="_dmarc", content="mx.example.test", priority=10)


def test_a_batch_that_posts_a_cname_over_an_a_record_is_refused_whole_with_81053(api, zone_id, sim):
    _create(api, zone_id, type="A", name="track", content="192.0.2.1")
    before = sim.records(ZONE)
    body = {"posts": [{"type": "TXT", "name": "ok", "content": "fine"},
                      {"type": "CNAME", "name": "track", "content": "t.vendor.example"}]}
    response = api.post(f"{_records_url(zone_id)}/batch", json=body)
    assert response.status_code == 400 and _error_codes(response) == [81053]
    assert sim.records(ZONE) == before
    # deleting the A record in the same batch first makes room (deletes run before posts)
    body["deletes"] = [{"id": before[0]["id"]}]
    assert api.post(f"{_records_url(zone_id)}/batch", json=body).status_code == 200


def test_txt_content_is_stored_exactly_as_sent_quoted_or_not(api, zone_id):
    for content in ('"v=DMARC1; p=reject"', "v=DKIM1; k=rsa; p=MIGf", "x" * 300):
        assert _create(api, zone_id, type="TXT", name="t", content=content)["content"] == content


# ---------------------------------------------------------------- batch
def test_batch_runs_deletes_patches_puts_posts_in_that_order(api, zone_id, sim):
    old = _create(api, zone_id, type="A", name="www", content="192.0.2.1")
    mx = _create(api, zone_id, type="MX", name="@", content="mx1.example.test", priority=10)
    body = {  # listed in reverse order on purpose: each step only succeeds if the previous ran first
        "posts": [{"type": "A", "name": "www", "content": "192.0.2.1"}],  # needs the delete first (81058)
        "puts": [{"id": mx["id"], "type": "MX", "name": "@", "content": "mx3.example.test", "priority": 30}],
        "patches": [{"id": mx["id"], "content": "mx2.example.test"}],
        "deletes": [{"id": old["id"]}],
    }
    response = api.post(f"{_records_url(zone_id)}/batch", json=body)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert set(result) == {"deletes", "patches", "puts", "posts"}
    assert result["deletes"][0]["id"] == old["id"]
    assert result["patches"][0]["content"] == "mx2.example.test"
    assert (result["puts"][0]["content"], result["puts"][0]["priority"]) == ("mx3.example.test", 30)
    assert result["posts"][0]["id"] != old["id"]
    assert sorted((r["type"], r["content"]) for r in sim.records(ZONE)) == [
        ("A", "192.0.2.1"), ("MX", "mx3.example.test")]


def test_a_batch_whose_last_post_is_invalid_changes_nothing(api, zone_id, sim):
    keep = _create(api, zone_id, type="A", name="www", content="192.0.2.1")
    before = sim.records(ZONE)
    body = {"deletes": [{"id": keep["id"]}],
            "posts": [{"type": "A", "name": "ok", "content": "192.0.2.2"},
                      {"type": "A", "name": "bad", "content": "not-an-ip"}]}
    response = api.post(f"{_records_url(zone_id)}/batch", json=body)
    assert response.status_code == 400
    assert _error_codes(response) == [9005]
    assert sim.records(ZONE) == before


def test_a_batch_above_the_plan_limit_is_refused_whole(api, zone_id, sim):
    posts = [{"type": "A", "name": f"h{i}", "content": "192.0.2.1"} for i in range(201)]
    response = api.post(f"{_records_url(zone_id)}/batch", json={"posts": posts})
    assert response.status_code == 400 and sim.records(ZONE) == []


# ----------------------------------------------------------- validation
@pytest.mark.parametrize(("record", "code", "field"), [
    ({"type": "A", "name": "x", "content": "300.1.1.1"}, 9005, "content"),
    ({"type": "AAAA", "name": "x", "content": "192.0.2.1"}, 9006, "content"),
    ({"type": "MX", "name": "x", "content": "mx.example.test"}, 9100, "priority"),
    ({"type": "MX", "name": "x", "content": "mx.example.test", "priority": 70000}, 9008, "priority"),
    ({"type": "MX", "name": "x", "content": "192.0.2.1", "priority": 10}, 9009, "content"),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "ttl": 30}, 9021, "ttl"),
    ({"type": "A", "name": "x", "content": "192.0.2.1", "ttl": 86401}, 9021, "ttl"),
    ({"type": "TXT", "name": "x", "content": "hi", "proxied": True}, 9004, "proxied"),
    ({"type": "BOGUS", "name": "x", "content": "hi"}, 1004, "type"),
    ({"type": "TXT", "name": "x", "content": "y" * 4097}, 1004, "content"),
    ({"type": "CNAME", "name": "x", "content": "192.0.2.1"}, 1004, "content"),
    ({"type": "A", "name": "a..b", "content": "192.0.2.1"}, 9000, "name"),
    ({"type": "A", "name": "x"}, 9100, "content"),
])
def test_invalid_records_get_the_documented_code_and_name_the_field(api, zone_id, record, code, field):
    response = api.post(_records_url(zone_id), json=record)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["code"] == code
    assert error["source"] == {"pointer": f"/{field}"}
    assert isinstance(error["message"], str) and error["message"]


def test_ttl_accepts_auto_and_the_documented_bounds(api, zone_id):
    for i, ttl in enumerate((1, 60, 86400)):
        assert _create(api, zone_id, type="A", name=f"t{i}", content="192.0.2.1", ttl=ttl)["ttl"] == ttl


# ------------------------------------------------------- fault injection
def test_429_carries_retry_after_and_code_971_then_the_retry_succeeds(sim, api):
    sim.fail_next(1, status=429, retry_after=2)
    throttled = api.get("/zones")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert _error_codes(throttled) == [971]
    assert api.get("/zones").status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503])
def test_injected_server_errors_hit_the_next_n_requests_only(sim, api, status):
    sim.fail_next(2, status=status, retry_after=None)
    assert [api.get("/zones").status_code for _attempt in range(3)] == [status, status, 200]


# -------------------------------------------------------------- metrics
def test_fail_after_applying_makes_the_change_then_answers_the_5xx(sim, api, zone_id):
    sim.fail_after_applying(1, status=502, path="/batch")
    response = api.post(f"{_records_url(zone_id)}/batch", json={"posts": [{"type": "A", "name": "a", "content": "192.0.2.1"}]})
    assert response.status_code == 502 and response.json()["success"] is False
    assert [r["name"] for r in sim.records(ZONE)] == ["a.example.test"]  # applied all the same
    assert api.get(_records_url(zone_id)).status_code == 200  # the fault was for one request to /batch


def test_fail_next_with_a_path_hits_only_requests_to_that_path(sim, api, zone_id):
    sim.fail_next(1, status=503, retry_after=None, path="/batch")
    assert api.get(_records_url(zone_id)).status_code == 200
    response = api.post(f"{_records_url(zone_id)}/batch", json={"posts": [{"type": "A", "name": "a", "content": "192.0.2.1"}]})
    assert response.status_code == 503 and sim.records(ZONE) == []


def test_requests_are_recorded_as_method_and_path_and_can_be_reset(sim, api, zone_id):
    sim.reset_metrics()
    api.get(_records_url(zone_id), params={"type": "A"})
    api.post(_records_url(zone_id), json={"type": "A", "name": "m", "content": "192.0.2.1"})
    assert sim.requests == [("GET", f"/client/v4/zones/{zone_id}/dns_records"),
                            ("POST", f"/client/v4/zones/{zone_id}/dns_records")]
    sim.reset_metrics()
    assert sim.requests == []


def test_a_stopped_simulator_closes_kept_alive_connections(sim, api):
    assert api.get("/zones").status_code == 200
    sim.stop()
    with pytest.raises(httpx.TransportError):
        api.get("/zones")


# ------------------------------------------------------------------ CLI
def test_the_cli_prints_its_base_url_serves_and_exits_on_sigterm():
    command = [sys.executable, "-m", "tests.support.cloudflare_sim", "--port", "0", "--token", TOKEN,
               "--zones", "a.test,b.test"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=5), "the simulator printed nothing within 5 s"
        ready = json.loads(process.stdout.readline())
        assert ready["base_url"].startswith("http://127.0.0.1:") and ready["base_url"].endswith("/client/v4")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = httpx.get(f"{ready['base_url']}/zones", headers=auth, verify=TLS)
        assert sorted(z["name"] for z in response.json()["result"]) == ["a.test", "b.test"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()


# ---- zones: create, activation through the registry, delete
def test_a_created_zone_is_pending_until_the_registry_shows_its_nameservers(sim, api):
    shown: dict[str, list[str]] = {"new-outreach.com": ["dns1.registrar-servers.com"]}
    sim.registry = lambda name: shown.get(name, [])
    created = api.post("/zones", json={"name": "New-Outreach.com", "account": {"id": sim.account_id}, "type": "full"})
    assert created.status_code == 200, created.text
    zone = created.json()["result"]
    assert zone["status"] == "pending" and zone["activated_on"] is None
    assert zone["name_servers"] == cloudflare_sim.assigned_nameservers("new-outreach.com")
    assert len(set(zone["name_servers"])) == 2
    assert zone["original_name_servers"] == ["dns1.registrar-servers.com"]
    assert api.get(f"/zones/{zone['id']}").json()["result"]["status"] == "pending"
    shown["new-outreach.com"] = [ns.upper() + "." for ns in reversed(zone["name_servers"])]
    assert api.get(f"/zones/{zone['id']}").json()["result"]["status"] == "active"
    listed = api.get("/zones", params={"status": "active", "account.id": sim.account_id}).json()["result"]
    assert "new-outreach.com" in [z["name"] for z in listed]


@pytest.mark.parametrize("body,code", [
    ({"name": "fresh.com", "account": {"id": "0" * 32}}, 1067),
    ({"name": "fresh.com"}, 1067),
    ({"name": "not a domain", "account": {"id": None}}, 1067),
    ({"name": "nodot", "account": {"id": "ACCOUNT"}}, 1049),
    ({"name": ZONE, "account": {"id": "ACCOUNT"}}, 1061),
])
def test_zone_create_refusals_carry_the_observed_codes(sim, api, body, code):
    if body.get("account", {}).get("id") == "ACCOUNT":
        body = {**body, "account": {"id": sim.account_id}}
    response = api.post("/zones", json=body)
    assert response.status_code == 400 and _error_codes(response) == [code]
    assert len(api.get("/zones").json()["result"]) == 1


def test_a_deleted_zone_is_gone_with_its_records(sim, api, zone_id):
    _create(api, zone_id, type="A", name="www", content="192.0.2.1")
    assert api.delete(f"/zones/{zone_id}").json()["result"] == {"id": zone_id}
    assert _error_codes(api.get(f"/zones/{zone_id}")) == [1001]
    assert api.get("/zones", params={"name": ZONE}).json()["result"] == []
