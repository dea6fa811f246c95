"""coldrig's Hetzner Cloud client, through the real hcloud library, against the local API simulator."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import hcloud as hc
from ansible_collections.coldrig.infra.plugins.module_utils import retry
from ansible_collections.coldrig.infra.plugins.module_utils.hcloud import HcloudClient, HcloudError
from tests.support.hcloud_sim import HcloudSimulator

TOKEN = "coldrig-client-token-Zq8x4Vd1Lr0Pn6Ty3Wc5Hb9Mk2Js7Fg4Ae1Ru8Io0Py6Tx3Nw5Qv9Bm2Ch7Dk4Lf"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
FINGERPRINT = "37:b7:65:e3:49:30:40:9e:ad:e2:78:4d:b4:5f:51:9c"  # ssh-keygen -l -E md5
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPceLFyAU+rZTnd4K7llqnuT07mbdhV+RtHb1wimXw+W other@example.test"


@pytest.fixture
def sim() -> Iterator[HcloudSimulator]:
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0.03) as simulator:
        yield simulator


@pytest.fixture
def client(sim) -> HcloudClient:
    return HcloudClient(TOKEN, api_endpoint=sim.base_url, timeout=5, poll_interval=0.01)


@pytest.fixture
def no_backoff(monkeypatch) -> list[float]:
    """The client's retry sleeps (retry.py's policy), recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    return slept


def _writes(sim) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sim.requests if m != "GET"]


# ------------------------------------------------------------ the token
@pytest.mark.parametrize("token", ["", None])
def test_no_token_says_where_to_set_one(token):
    with pytest.raises(HcloudError, match="no Hetzner Cloud API token: set HCLOUD_TOKEN or api_token"):
        HcloudClient(token)


def test_a_token_with_a_newline_is_refused_without_showing_it():
    secret = "secret-token-with-newline-0123456789"
    with pytest.raises(HcloudError) as caught:
        HcloudClient(secret + "\n")
    assert "stray newline" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_a_wrong_token_gets_the_friendly_401_message_without_the_token(sim):
    wrong = "wrong-token-" + "a" * 52
    client = HcloudClient(wrong, api_endpoint=sim.base_url, timeout=5)
    with pytest.raises(HcloudError) as caught:
        client.list_servers()
    error = caught.value
    assert (error.code, error.status) == ("unauthorized", 401)
    assert str(error).startswith("listing servers: the Hetzner Cloud API token is wrong or lacks access")
    assert "set HCLOUD_TOKEN or api_token" in str(error)
    for text in (str(error), repr(error), repr(client)):
        assert wrong not in text


def test_an_unreachable_endpoint_is_one_error_that_names_it_and_not_the_token():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HcloudClient(TOKEN, api_endpoint="http://127.0.0.1:%d/v1" % port, timeout=2, max_retries=1, max_wait=0.01)
    with pytest.raises(HcloudError) as caught:
        client.list_servers()
    assert caught.value.attempts == 2  # a connection never made is retried, whatever the method
    assert "cannot reach the Hetzner Cloud API at http://127.0.0.1:%d/v1" % port in str(caught.value)
    assert "Connection refused" in str(caught.value) and TOKEN not in str(caught.value)


def test_an_endpoint_that_is_not_a_url_is_refused():
    with pytest.raises(HcloudError, match="api_endpoint: 'api.hetzner.cloud' is not an http"):
        HcloudClient(TOKEN, api_endpoint="api.hetzner.cloud")


# ---------------------------------------------------- retries and errors
def test_a_429_is_retried_and_then_succeeds(sim, client, no_backoff):
    sim.add_server("mx1")
    sim.fail_next(429)
    assert [s.name for s in client.list_servers()] == ["mx1"]
    assert [entry["status"] for entry in sim.request_log] == [429, 200]
    assert len(no_backoff) == 1


def test_429_until_the_retries_run_out_is_an_error_with_code_and_status(sim, client, no_backoff):
    sim.fail_next(429, times=10)
    with pytest.raises(HcloudError) as caught:
        client.list_servers()
    assert (caught.value.code, caught.value.status) == ("rate_limit_exceeded", 429)
    assert sim.request_count == 6 and len(no_backoff) == 5  # 1 + 5 tries, as every client
    assert "(rate_limit_exceeded, HTTP 429, after 6 attempts, correlation id " in str(caught.value)


def test_a_429_waits_as_long_as_retry_after_says(sim, client, no_backoff):
    sim.fail_next(429, retry_after=3, times=2)
    assert client.list_servers() == []
    assert no_backoff == [3.0, 3.0]


def test_a_500_and_a_503_on_a_read_are_retried_like_the_other_clients(sim, client, no_backoff):
    sim.fail_next(502)
    assert client.list_servers() == []
    sim.fail_next(500)
    sim.fail_next(503)
    assert client.list_servers() == []
    assert [entry["status"] for entry in sim.request_log] == [502, 200, 500, 503, 200]
    assert len(no_backoff) == 3 and all(0.5 <= wait <= 1.5 for wait in no_backoff)


def test_a_5xx_that_survives_the_retries_is_reported_with_code_status_and_attempts(sim, no_backoff):
    client = HcloudClient(TOKEN, api_endpoint=sim.base_url, timeout=5, max_retries=2)
    sim.fail_next(503, times=3)
    with pytest.raises(HcloudError) as caught:
        client.list_servers()
    assert (caught.value.code, caught.value.status) == ("unavailable", 503)
    assert str(caught.value).startswith("listing servers: Service Unavailable (injected by the simulator) "
                                        "(unavailable, HTTP 503, after 3 attempts, correlation id ")


def test_a_failed_action_post_is_not_repeated(sim, client, no_backoff):
    sim.add_server("mx1", status="off")
    server = client.get_server_by_name("mx1")
    sim.fail_next(500, path="/actions/poweron")
    with pytest.raises(HcloudError) as caught:
        client.power_on(server)
    assert caught.value.status == 500 and caught.value.attempts == 1 and no_backoff == []


# ----------------------------------------------------------- listing
def test_list_servers_follows_pages_and_filters_by_labels_status_location_and_type(sim, client):
    for i in range(60):
        sim.add_server("mx%02d" % i, labels={"coldrig_role": "mta" if i % 2 else "relay"},
                       location="nbg1" if i % 3 else "hel1", server_type="cpx11" if i % 5 else "cx22",
                       status="off" if i == 59 else "running")
    assert len(client.list_servers()) == 60
    assert sim.requests == [("GET", "/v1/servers")] * 2  # 50 a page
    mta = client.list_servers(label_selector="coldrig_role=mta")
    assert {s.labels["coldrig_role"] for s in mta} == {"mta"} and len(mta) == 30
    assert [s.name for s in client.list_servers(status="off")] == ["mx59"]
    picked = client.list_servers(label_selector="coldrig_role=mta", status=["running"], location=["hel1"],
                                 server_type="cx22")
    assert [s.name for s in picked] == ["mx15", "mx45"]


def test_list_networks_maps_ids_to_names(sim, client):
    nid = sim.add_network("backend")
    assert client.list_networks() == {nid: "backend"}


# ----------------------------------------------------------- SSH keys
def test_ssh_key_fingerprint_is_the_md5_one_ssh_keygen_prints():
    assert hc.ssh_key_fingerprint(PUBLIC_KEY) == FINGERPRINT
    with pytest.raises(HcloudError, match="not in OpenSSH format"):
        hc.ssh_key_fingerprint("ssh-ed25519 AAAA== me")


def test_ensure_ssh_key_uploads_once_and_then_finds_it_by_fingerprint(sim, client):
    key, changed = client.ensure_ssh_key("ops", PUBLIC_KEY)
    assert changed and key.fingerprint == FINGERPRINT
    again, changed = client.ensure_ssh_key("ops-renamed", PUBLIC_KEY + "\n")
    assert not changed and again.id == key.id and again.name == "ops"
    assert _writes(sim) == [("POST", "/v1/ssh_keys")]


def test_ensure_ssh_key_under_a_name_taken_by_another_key_says_so(sim, client):
    sim.add_ssh_key("ops", OTHER_KEY)
    with pytest.raises(HcloudError) as caught:
        client.ensure_ssh_key("ops", PUBLIC_KEY)
    assert "an SSH key named ops already exists with another key" in str(caught.value)
    assert FINGERPRINT in str(caught.value) and caught.value.status == 409


# ------------------------------------------------------- servers
def test_create_server_waits_until_it_runs(sim, client):
    key, created = client.ensure_ssh_key("ops", PUBLIC_KEY)
    assert created
    started = time.monotonic()
    server = client.create_server("mx1", "cx22", "debian-12", location="nbg1", ssh_keys=[key],
                                  labels={"coldrig_role": "mta"}, user_data="#cloud-config\n")
    assert server.status == "running" and server.location.name == "nbg1"
    assert server.labels == {"coldrig_role": "mta"}
    assert time.monotonic() - started >= 0.06  # create_server, then start_server, 0.03 s each
    assert ("GET", "/v1/actions") in sim.requests
    assert client.get_server_by_name("mx1").id == server.id
    assert client.get_server_by_name("mx2") is None


def test_create_server_with_ssh_keys_by_name_and_networks_by_name(sim, client):
    sim.add_ssh_key("ops", PUBLIC_KEY)
    sim.add_network("backend", "10.20.0.0/16")
    server = client.create_server("mx1", "cpx11", "ubuntu-24.04", ssh_keys=["ops"], networks=["backend"],
                                  enable_ipv4=False)
    assert server.public_net.ipv4 is None and server.public_net.ipv6 is not None
    assert server.private_net[0].ip == "10.20.0.2"


def test_create_server_without_wait_returns_it_initializing(sim, client):
    server = client.create_server("mx1", "cx22", "debian-12", wait=False)
    assert server.status == "initializing"


def test_a_taken_name_is_a_uniqueness_error_naming_what_was_done(sim, client):
    sim.add_server("mx1")
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx22", "debian-12")
    assert str(caught.value).startswith("creating server mx1: server name is already used (uniqueness_error, HTTP 409")


def test_invalid_input_names_the_field_and_the_reason(client):
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx99", "debian-12")
    assert caught.value.code == "invalid_input" and caught.value.status == 400
    assert "invalid input in field 'server_type': server type 'cx99' not found" in str(caught.value)


def test_an_action_that_never_finishes_times_out_naming_it(sim, client):
    sim.set_action_duration(polls=10_000)
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx22", "debian-12", timeout=0.1)
    assert caught.value.code == "timeout"
    assert "creating server mx1: Actions still running after 0.1 s: create_server" in str(caught.value)


def test_a_failed_action_is_an_error_with_its_code_and_message(sim, client):
    sim.fail_next_action("server_create_failed", "no capacity in nbg1")
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx22", "debian-12", location="nbg1")
    assert caught.value.code == "server_create_failed"
    assert "Action create_server" in str(caught.value) and "failed: no capacity in nbg1" in str(caught.value)


def test_power_off_and_on_are_idempotent(sim, client):
    sim.add_server("mx1")
    server = client.get_server_by_name("mx1")
    assert client.power_off(server) is True
    assert client.reload(server).status == "off"
    assert client.power_off(server) is False
    assert client.power_on(server) is True and client.reload(server).status == "running"
    assert client.power_on(server) is False
    assert client.power_off(server, graceful=True) is True and client.reload(server).status == "off"
    commands = [a["command"] for a in sim.actions()]
    assert commands == ["stop_server", "start_server", "shutdown_server"]


def test_delete_server_waits_and_a_second_delete_is_no_change(sim, client):
    sim.add_server("mx1")
    server = client.get_server_by_name("mx1")
    assert client.delete_server(server) is True
    assert client.get_server_by_name("mx1") is None
    assert client.delete_server(server) is False
    assert client.delete_server(None) is False


# ------------------------------------------------------ reverse DNS
def test_set_ptr_changes_ipv4_once_and_a_rerun_is_no_change(sim, client):
    sim.add_server("mx1")
    server = client.get_server_by_name("mx1")
    ipv4 = server.public_net.ipv4.ip
    assert client.set_ptr(server, ipv4, "mx1.outreach.example") is True
    sim.reset_metrics()
    assert client.set_ptr(server, ipv4, "MX1.outreach.example.") is False  # case and trailing dot do not matter
    assert sim.requests == [("GET", "/v1/servers/%d" % server.id)]
    assert client.get_ptrs(client.reload(server)) == {ipv4: "mx1.outreach.example"}


def test_set_ptrs_sets_ipv4_and_ipv6_in_turn_and_none_resets(sim, client):
    sim.add_server("mx1")
    server = client.get_server_by_name("mx1")
    ipv4, ipv6 = server.public_net.ipv4.ip, hc.first_ipv6_address(server.public_net.ipv6.ip)
    assert client.set_ptrs(server, {ipv4: "mx1.example.com", ipv6: "mx1.example.com"}) is True
    assert client.get_ptrs(client.reload(server)) == {ipv4: "mx1.example.com", ipv6: "mx1.example.com"}
    sim.set_action_duration(seconds=1.0)  # long enough to be running however busy the machine
    assert client.set_ptr(server, ipv6, None, wait=False) is True
    sim.reset_metrics()
    # the IPv6 reset still runs: Hetzner answers "locked", the client waits for that Action and retries
    assert client.set_ptr(server, ipv4, None) is True
    log = [(e["method"], e["path"], e["status"]) for e in sim.request_log]
    change = "/v1/servers/%d/actions/change_dns_ptr" % server.id
    assert log.index(("POST", change, 423)) < log.index(("GET", "/v1/servers/%d/actions" % server.id, 200))
    assert log.index(("POST", change, 201)) > log.index(("POST", change, 423))
    assert client.get_ptrs(client.reload(server)) == {ipv4: hc.default_ipv4_ptr(ipv4)}
    assert client.set_ptrs(server, {ipv4: None, ipv6: None}) is False


def test_set_ptr_for_an_address_the_server_does_not_have_names_its_addresses(sim, client):
    sim.add_server("mx1")
    server = client.get_server_by_name("mx1")
    with pytest.raises(HcloudError) as caught:
        client.set_ptr(server, "192.0.2.7", "mx1.example.com")
    text = str(caught.value)
    assert "192.0.2.7 is not a public address of server mx1 (IPv4 %s, IPv6 %s)" % (
        server.public_net.ipv4.ip, server.public_net.ipv6.ip) in text
    assert _writes(sim) == []


def test_plan_ptrs_lists_only_what_differs_and_changes_nothing(sim, client):
    sim.add_server("mx1", ptr="mx1.example.com")
    server = client.get_server_by_name("mx1")
    ipv4, ipv6 = server.public_net.ipv4.ip, hc.first_ipv6_address(server.public_net.ipv6.ip)
    sim.reset_metrics()
    plan = client.plan_ptrs(server, {ipv4: "MX1.example.com.", ipv6: "mx1.example.com."})
    assert plan == [{"ip": ipv6, "before": None, "after": "mx1.example.com"}]
    assert client.plan_ptrs(server, {ipv4: None}) == [
        {"ip": ipv4, "before": "mx1.example.com", "after": None}]
    assert sim.requests == []  # the plan reads the server object it was given
    with pytest.raises(HcloudError, match="192.0.2.7 is not a public address of server mx1"):
        client.plan_ptrs(server, {"192.0.2.7": "mx1.example.com"})


def test_update_labels_merges_and_writes_only_when_a_value_differs(sim, client):
    sim.add_server("mx1", labels={"coldrig_role": "mta", "team": "ops"})
    server = client.get_server_by_name("mx1")
    assert client.update_labels(server, {"coldrig_role": "mta"}) is False
    assert _writes(sim) == []
    assert client.update_labels(server, {"coldrig_role": "relay", "coldrig_fleet": "eu-1"}) is True
    assert sim.server("mx1")["labels"] == {"coldrig_role": "relay", "team": "ops", "coldrig_fleet": "eu-1"}
    assert _writes(sim) == [("PUT", "/v1/servers/%d" % server.id)]


def test_default_ipv4_ptr_is_hetzners_static_name():
    assert hc.default_ipv4_ptr("198.51.100.7") == "static.7.100.51.198.clients.your-server.de"
    assert hc.first_ipv6_address("2001:db8:0:1::/64") == "2001:db8:0:1::1"


# ------------------------------------------- a create whose answer is lost
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_create_answered_5xx_after_the_server_was_made_carries_on_with_that_server(sim, client, no_backoff, status):
    sim.fail_after_next("POST", "/servers", status)
    server = client.create_server("mx1", "cx22", "debian-12", location="nbg1", labels={"coldrig_role": "mta"})
    assert server.name == "mx1" and server.status == "running"
    assert [s["name"] for s in sim.servers()] == ["mx1"]
    assert _writes(sim) == [("POST", "/v1/servers")]  # the POST was not repeated


def test_a_create_answered_500_without_a_server_says_none_was_made(sim, client, no_backoff):
    sim.fail_next(500, path="/servers")
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx22", "debian-12")
    assert caught.value.status == 500 and caught.value.attempts == 1
    assert "no server named mx1 was made: run again" in str(caught.value)
    assert sim.servers() == []


def test_a_create_refused_with_a_4xx_is_not_looked_up(sim, client):
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "nope", "debian-12")
    assert caught.value.status == 400
    assert _writes(sim) == [("POST", "/v1/servers")] and len(sim.requests) == 1


def test_a_create_answered_500_whose_lookup_fails_too_says_the_server_may_have_been_made(sim, no_backoff):
    client = HcloudClient(TOKEN, api_endpoint=sim.base_url, timeout=5, poll_interval=0.01, max_retries=1)
    sim.fail_after_next("POST", "/servers", 500)
    sim.fail_next(503, times=2, path="/servers", skip=1)  # the POST is served, the two lookups fail
    with pytest.raises(HcloudError) as caught:
        client.create_server("mx1", "cx22", "debian-12")
    assert caught.value.status == 500
    assert "the server may have been made, and looking for it failed too (" in str(caught.value)
    assert [s["name"] for s in sim.servers()] == ["mx1"]
