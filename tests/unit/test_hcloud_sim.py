"""The Hetzner Cloud API simulator answers like the documented API, over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hcloud_sim import HcloudSimulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hcloud-sim-token-0123456789abcdefghijklmnopqrstuvwxyz0123456789ab"
# An ed25519 key and the fingerprint `ssh-keygen -l -E md5` prints for it.
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
FINGERPRINT = "37:b7:65:e3:49:30:40:9e:ad:e2:78:4d:b4:5f:51:9c"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPceLFyAU+rZTnd4K7llqnuT07mbdhV+RtHb1wimXw+W other@example.test"


@pytest.fixture
def sim() -> Iterator[HcloudSimulator]:
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0.05) as simulator:
        yield simulator


@pytest.fixture
def api(sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as client:
        yield client


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message", "details"}
    return error


def _create(api: httpx.Client, name: str = "mx1", **fields) -> dict:
    body = {"name": name, "server_type": "cx22", "image": "debian-12", **fields}
    response = api.post("/servers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# ------------------------------------------------------------------- auth
def test_a_missing_or_unknown_token_gets_401_unauthorized_in_the_error_envelope(sim):
    with httpx.Client(base_url=sim.base_url, timeout=5) as raw:
        _error(raw.get("/servers"), 401, "unauthorized")
        error = _error(raw.get("/servers", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert error == {"code": "unauthorized", "message": "unable to authenticate", "details": {}}


def test_every_answer_carries_rate_limit_headers_that_count_down(api):
    first, second = api.get("/locations"), api.get("/locations")
    assert first.headers["RateLimit-Limit"] == "3600"
    assert int(first.headers["RateLimit-Remaining"]) - int(second.headers["RateLimit-Remaining"]) == 1
    assert int(second.headers["RateLimit-Reset"]) >= int(time.time())
    assert first.headers["X-Correlation-Id"] != second.headers["X-Correlation-Id"]


def test_the_rate_limit_is_enforced_with_429_rate_limit_exceeded():
    with HcloudSimulator(tokens=[TOKEN], rate_limit=3) as small, \
            httpx.Client(base_url=small.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert [client.get("/locations").status_code for attempt in range(3)] == [200, 200, 200]
        response = client.get("/locations")
        _error(response, 429, "rate_limit_exceeded")
        assert response.headers["RateLimit-Remaining"] == "0"


# ------------------------------------------------------------- pagination
def test_lists_paginate_at_25_by_default_with_meta_and_link_header(sim, api):
    for i in range(60):
        sim.add_server(f"mx{i:02d}")
    first = api.get("/servers")
    assert len(first.json()["servers"]) == 25
    assert first.json()["meta"]["pagination"] == {"page": 1, "per_page": 25, "previous_page": None,
                                                  "next_page": 2, "last_page": 3, "total_entries": 60}
    assert 'page=2&per_page=25>; rel="next"' in first.headers["Link"]
    assert 'page=3&per_page=25>; rel="last"' in first.headers["Link"]
    last = api.get("/servers", params={"page": 3}).json()
    assert len(last["servers"]) == 10
    assert last["meta"]["pagination"]["previous_page"] == 2 and last["meta"]["pagination"]["next_page"] is None
    names = [s["name"] for page in (1, 2, 3) for s in api.get("/servers", params={"page": page}).json()["servers"]]
    assert names == [f"mx{i:02d}" for i in range(60)]


def test_per_page_is_capped_at_50_and_a_page_that_is_not_a_positive_integer_is_invalid_input(sim, api):
    for i in range(60):
        sim.add_server(f"mx{i:02d}")
    assert api.get("/servers", params={"per_page": 100}).json()["meta"]["pagination"]["per_page"] == 50
    error = _error(api.get("/servers", params={"page": 0}), 400, "invalid_input")
    assert error["details"] == {"fields": [{"name": "page", "messages": ["must be a positive integer, not '0'"]}]}


def test_1000_servers_list_in_20_pages_of_50_quickly(sim, api):
    for i in range(1000):
        sim.add_server(f"mta-{i:04d}", labels={"coldrig_role": "mta"})
    started = time.monotonic()
    ids = []
    for page in range(1, 21):
        ids += [s["id"] for s in api.get("/servers", params={"page": page, "per_page": 50}).json()["servers"]]
    assert len(set(ids)) == 1000
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------- filters
@pytest.mark.parametrize(("selector", "expected"), [
    ("role=mta", ["a", "b"]),
    ("role==mta", ["a", "b"]),
    ("role!=mta", ["c", "d"]),  # d has no role: != matches it, as in Kubernetes
    ("fleet", ["a", "c"]),
    ("!fleet", ["b", "d"]),
    ("fleet in (eu-1,us-1)", ["a", "c"]),
    ("fleet in (eu-1)", ["a"]),
    ("fleet notin (eu-1)", ["b", "c", "d"]),
    ("role=mta,!fleet", ["b"]),
    ("role=mta, fleet in (eu-1, us-1)", ["a"]),
    ("example.com/tier=gold", ["c"]),
])
def test_label_selectors_follow_the_documented_language(sim, api, selector, expected):
    sim.add_server("a", labels={"role": "mta", "fleet": "eu-1"})
    sim.add_server("b", labels={"role": "mta"})
    sim.add_server("c", labels={"role": "relay", "fleet": "us-1", "example.com/tier": "gold"})
    sim.add_server("d", labels={})
    servers = api.get("/servers", params={"label_selector": selector}).json()["servers"]
    assert [s["name"] for s in servers] == expected


@pytest.mark.parametrize("selector", ["role=a=b", "role in mta", "role in (mta", "=mta", "role=mta,", "a b"])
def test_a_malformed_label_selector_is_invalid_input_naming_the_field(api, selector):
    error = _error(api.get("/servers", params={"label_selector": selector}), 400, "invalid_input")
    assert error["details"]["fields"][0]["name"] == "label_selector"


def test_servers_filter_by_name_and_repeated_status_and_sort(sim, api):
    sim.add_server("b-on")
    sim.add_server("a-off", status="off")
    sim.add_server("c-off", status="off")
    assert [s["name"] for s in api.get("/servers", params={"name": "a-off"}).json()["servers"]] == ["a-off"]
    off = api.get("/servers", params=[("status", "off"), ("sort", "name:desc")]).json()["servers"]
    assert [s["name"] for s in off] == ["c-off", "a-off"]
    both = api.get("/servers", params=[("status", "off"), ("status", "running"), ("sort", "name")]).json()
    assert [s["name"] for s in both["servers"]] == ["a-off", "b-on", "c-off"]
    _error(api.get("/servers", params={"status": "sleeping"}), 400, "invalid_input")
    _error(api.get("/servers", params={"sort": "memory"}), 400, "invalid_input")


# ---------------------------------------------------------- server shape
def test_a_server_has_the_documented_shape_with_default_ptr_and_primary_ips(sim, api):
    sid = sim.add_server("mx1", server_type="cpx11", location="hel1", labels={"coldrig_role": "mta"})
    server = api.get(f"/servers/{sid}").json()["server"]
    ipv4, ipv6 = server["public_net"]["ipv4"], server["public_net"]["ipv6"]
    reversed_ip = ".".join(reversed(ipv4["ip"].split(".")))
    assert ipv4["dns_ptr"] == f"static.{reversed_ip}.clients.your-server.de" and ipv4["blocked"] is False
    assert ipv6["ip"].endswith("::/64") and ipv6["dns_ptr"] == []
    assert server["status"] == "running" and server["labels"] == {"coldrig_role": "mta"}
    assert server["server_type"]["name"] == "cpx11" and server["server_type"]["architecture"] == "x86"
    assert server["location"]["name"] == "hel1" and server["location"]["network_zone"] == "eu-central"
    assert server["datacenter"]["name"] == "hel1-dc2" and server["datacenter"]["location"]["name"] == "hel1"
    assert server["image"]["name"] == "debian-12" and server["image"]["os_flavor"] == "debian"
    assert server["protection"] == {"delete": False, "rebuild": False}
    for key in ("created", "private_net", "volumes", "iso", "rescue_enabled", "locked", "backup_window",
                "outgoing_traffic", "ingoing_traffic", "included_traffic", "load_balancers",
                "primary_disk_size", "placement_group"):
        assert key in server
    pip = api.get(f"/primary_ips/{ipv4['id']}").json()["primary_ip"]
    assert pip["assignee_id"] == sid and pip["type"] == "ipv4" and pip["auto_delete"] is True
    assert pip["dns_ptr"] == [{"ip": ipv4["ip"], "dns_ptr": ipv4["dns_ptr"]}]
    assert api.get("/primary_ips", params={"ip": ipv6["ip"]}).json()["primary_ips"][0]["id"] == ipv6["id"]


def test_without_the_datacenter_property_servers_answer_as_after_its_removal():
    with HcloudSimulator(tokens=[TOKEN], datacenter_property=False) as sim, \
            httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        sim.add_server("mx1")
        server = client.get("/servers").json()["servers"][0]
    assert "datacenter" not in server and server["location"]["name"] == "fsn1"


def test_unknown_ids_and_paths_get_404_not_found(api):
    error = _error(api.get("/servers/12345"), 404, "not_found")
    assert error["message"] == "server with ID '12345' not found"
    _error(api.get("/servers/abc"), 404, "not_found")
    _error(api.get("/volumes"), 404, "not_found")
    _error(api.patch("/servers"), 404, "not_found")


# ------------------------------------------------- create, Actions, status
def test_create_answers_201_with_a_create_action_and_a_start_action_then_runs(sim, api):
    sim.set_action_duration(polls=2)
    sim.add_ssh_key("ops", PUBLIC_KEY)
    body = _create(api, ssh_keys=["ops"], labels={"coldrig_role": "mta"}, location="nbg1", user_data="#cloud-config\n")
    server, create, (start,) = body["server"], body["action"], body["next_actions"]
    assert body["root_password"] is None  # an SSH key was given
    assert server["status"] == "initializing" and server["location"]["name"] == "nbg1"
    assert (create["command"], create["status"], create["progress"]) == ("create_server", "running", 0)
    assert create["resources"] == [{"id": server["id"], "type": "server"}] and create["finished"] is None
    assert start["command"] == "start_server"
    assert api.get(f"/actions/{create['id']}").json()["action"]["status"] == "running"  # poll 1
    done = api.get(f"/servers/{server['id']}/actions/{create['id']}").json()["action"]  # poll 2
    assert done["status"] == "success" and done["progress"] == 100 and done["finished"]
    assert api.get(f"/servers/{server['id']}").json()["server"]["status"] == "starting"
    polled = api.get("/actions", params=[("id", create["id"]), ("id", start["id"])]).json()["actions"]
    assert [a["status"] for a in polled] == ["success", "running"]
    assert api.get(f"/actions/{start['id']}").json()["action"]["status"] == "success"
    assert api.get(f"/servers/{server['id']}").json()["server"]["status"] == "running"


def test_time_driven_actions_report_progress_and_finish(sim, api):
    sim.set_action_duration(seconds=0.4)
    body = _create(api)
    assert body["root_password"]  # no SSH key: Hetzner answers a root password
    time.sleep(0.1)
    midway = api.get(f"/actions/{body['action']['id']}").json()["action"]
    assert midway["status"] == "running" and 20 <= midway["progress"] <= 99
    seen, deadline = [], time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or seen[-1] != "running"):
        status = api.get(f"/servers/{body['server']['id']}").json()["server"]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        time.sleep(0.02)
    assert seen == ["initializing", "starting", "running"]


def test_an_action_can_be_made_to_fail_and_its_chained_action_fails_with_it(sim, api):
    sim.set_action_duration(polls=1)
    sim.fail_next_action("server_create_failed", "no capacity")
    body = _create(api)
    failed = api.get(f"/actions/{body['action']['id']}").json()["action"]
    assert failed["status"] == "error"
    assert failed["error"] == {"code": "server_create_failed", "message": "no capacity"}
    assert api.get(f"/actions/{body['next_actions'][0]['id']}").json()["action"]["status"] == "error"


def test_create_refuses_a_taken_name_with_409_uniqueness_error(sim, api):
    sim.add_server("mx1")
    error = _error(api.post("/servers", json={"name": "mx1", "server_type": "cx22", "image": "debian-12"}),
                   409, "uniqueness_error")
    assert error["details"] == {"fields": [{"name": "name"}]}


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"server_type": "cx99"}, "server_type", "server type 'cx99' not found"),
    ({"image": "windows-11"}, "image", "image 'windows-11' not found for architecture x86"),
    ({"location": "mars1"}, "location", "location 'mars1' not found"),
    ({"location": "ash"}, "server_type", "server type cx22 is not available in location ash"),
    ({"name": "not_a host"}, "name", "'not_a host' is not a valid hostname (RFC 1123)"),
    ({"ssh_keys": ["missing"]}, "ssh_keys", "SSH key 'missing' not found"),
    ({"labels": {"hetzner.cloud/x": "1"}}, "labels", "label key 'hetzner.cloud/x' uses the reserved prefix hetzner.cloud/"),
    ({"labels": {"role": "-bad"}}, "labels", "label value '-bad' of key 'role' is invalid"),
    ({"user_data": "x" * (32 * 1024 + 1)}, "user_data", "must be a string of at most 32768 bytes"),
    ({"firewalls": [{"firewall": 7}]}, "firewalls", "firewall '{'firewall': 7}' not found"),
])
def test_create_validation_names_the_field_and_the_reason(api, body, field, reason):
    request = {"name": "mx1", "server_type": "cx22", "image": "debian-12", **body}
    error = _error(api.post("/servers", json=request), 400, "invalid_input")
    assert error["message"] == f"invalid input in field '{field}': {reason}"
    assert error["details"] == {"fields": [{"name": field, "messages": [reason]}]}


def test_a_body_that_is_not_json_gets_json_error(api):
    response = api.post("/servers", content=b"{name: mx1", headers={"Content-Type": "application/json"})
    _error(response, 400, "json_error")


def test_an_arm_server_type_gets_the_arm_build_of_the_image(api):
    server = _create(api, server_type="cax11")["server"]
    assert server["image"]["architecture"] == "arm" and server["image"]["name"] == "debian-12"


def test_power_actions_move_the_status_and_a_second_action_meanwhile_is_locked(sim, api):
    sid = sim.add_server("mx1")
    sim.set_action_duration(polls=1)
    off = api.post(f"/servers/{sid}/actions/poweroff").json()["action"]
    assert off["command"] == "stop_server"
    assert api.get(f"/servers/{sid}").json()["server"]["status"] == "stopping"
    error = _error(api.post(f"/servers/{sid}/actions/poweron"), 423, "locked")
    assert "stop_server" in error["message"]
    api.get(f"/actions/{off['id']}")
    assert api.get(f"/servers/{sid}").json()["server"]["status"] == "off"
    on = api.post(f"/servers/{sid}/actions/poweron").json()["action"]
    api.get(f"/actions/{on['id']}")
    assert api.get(f"/servers/{sid}").json()["server"]["status"] == "running"


def test_delete_runs_a_delete_action_then_the_server_and_its_primary_ips_are_gone(sim, api):
    sid = sim.add_server("mx1")
    ipv4_id = api.get(f"/servers/{sid}").json()["server"]["public_net"]["ipv4"]["id"]
    sim.set_action_duration(polls=1)
    action = api.delete(f"/servers/{sid}").json()["action"]
    assert action["command"] == "delete_server"
    assert api.get(f"/servers/{sid}").json()["server"]["status"] == "deleting"
    api.get(f"/actions/{action['id']}")
    _error(api.get(f"/servers/{sid}"), 404, "not_found")
    _error(api.get(f"/primary_ips/{ipv4_id}"), 404, "not_found")
    _create(api, "mx1")  # the name is free again


def test_put_renames_and_relabels_a_server(sim, api):
    sid = sim.add_server("mx1", labels={"a": "1"})
    sim.add_server("mx2")
    server = api.put(f"/servers/{sid}", json={"name": "mx9", "labels": {"b": "2"}}).json()["server"]
    assert (server["name"], server["labels"]) == ("mx9", {"b": "2"})
    _error(api.put(f"/servers/{sid}", json={"name": "mx2"}), 409, "uniqueness_error")


# ------------------------------------------------------------ reverse DNS
def test_change_dns_ptr_sets_ipv4_and_ipv6_and_null_resets(sim, api):
    sim.set_action_duration(polls=1)
    sid = sim.add_server("mx1")
    net = api.get(f"/servers/{sid}").json()["server"]["public_net"]
    ipv4, network = net["ipv4"]["ip"], net["ipv6"]["ip"]
    host6 = network.replace("::/64", "::1")

    def change(ip, ptr):
        response = api.post(f"/servers/{sid}/actions/change_dns_ptr", json={"ip": ip, "dns_ptr": ptr})
        assert response.status_code == 201, response.text
        action = response.json()["action"]
        assert action["command"] == "change_dns_ptr"
        api.get(f"/actions/{action['id']}")
        return api.get(f"/servers/{sid}").json()["server"]["public_net"]

    assert change(ipv4, "mx1.example.com")["ipv4"]["dns_ptr"] == "mx1.example.com"
    assert change(host6, "mx1.example.com")["ipv6"]["dns_ptr"] == [{"ip": host6, "dns_ptr": "mx1.example.com"}]
    pip = api.get(f"/primary_ips/{net['ipv4']['id']}").json()["primary_ip"]
    assert pip["dns_ptr"] == [{"ip": ipv4, "dns_ptr": "mx1.example.com"}]
    reset = change(ipv4, None)
    assert reset["ipv4"]["dns_ptr"].startswith("static.") and reset["ipv4"]["dns_ptr"].endswith(".clients.your-server.de")
    assert change(host6, None)["ipv6"]["dns_ptr"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"ip": "192.0.2.1", "dns_ptr": "mx1.example.com"}, "ip"),  # not the server's
    ({"ip": "2001:db9::1", "dns_ptr": "mx1.example.com"}, "ip"),  # outside its /64
    ({"ip": "not-an-ip", "dns_ptr": "mx1.example.com"}, "ip"),
    ({"dns_ptr": "mx1.example.com"}, "ip"),
    ({"ip": "IPV4", "dns_ptr": "not a host name"}, "dns_ptr"),
    ({"ip": "IPV4"}, "dns_ptr"),
])
def test_change_dns_ptr_validates_the_ip_and_the_name(sim, api, body, field):
    sid = sim.add_server("mx1")
    ipv4 = api.get(f"/servers/{sid}").json()["server"]["public_net"]["ipv4"]["ip"]
    body = {k: (ipv4 if v == "IPV4" else v) for k, v in body.items()}
    error = _error(api.post(f"/servers/{sid}/actions/change_dns_ptr", json=body), 400, "invalid_input")
    assert error["details"]["fields"][0]["name"] == field


def test_primary_ip_change_dns_ptr_shows_on_the_server(sim, api):
    sim.set_action_duration(polls=1)
    sid = sim.add_server("mx1")
    ipv4 = api.get(f"/servers/{sid}").json()["server"]["public_net"]["ipv4"]
    action = api.post(f"/primary_ips/{ipv4['id']}/actions/change_dns_ptr",
                      json={"ip": ipv4["ip"], "dns_ptr": "mail.example.com"}).json()["action"]
    assert action["resources"] == [{"id": ipv4["id"], "type": "primary_ip"}]
    assert api.get(f"/primary_ips/{ipv4['id']}/actions/{action['id']}").json()["action"]["status"] == "success"
    assert api.get(f"/servers/{sid}").json()["server"]["public_net"]["ipv4"]["dns_ptr"] == "mail.example.com"


# --------------------------------------------------------------- SSH keys
def test_ssh_keys_get_the_md5_fingerprint_and_are_found_by_it(api):
    created = api.post("/ssh_keys", json={"name": "ops", "public_key": PUBLIC_KEY})
    assert created.status_code == 201
    key = created.json()["ssh_key"]
    assert key["fingerprint"] == FINGERPRINT and key["public_key"] == PUBLIC_KEY
    found = api.get("/ssh_keys", params={"fingerprint": FINGERPRINT}).json()["ssh_keys"]
    assert [k["id"] for k in found] == [key["id"]]
    assert api.get("/ssh_keys", params={"fingerprint": "00:11"}).json()["ssh_keys"] == []
    assert api.delete(f"/ssh_keys/{key['id']}").status_code == 204
    _error(api.get(f"/ssh_keys/{key['id']}"), 404, "not_found")


def test_a_key_or_a_name_twice_is_a_uniqueness_error_naming_the_field(api):
    api.post("/ssh_keys", json={"name": "ops", "public_key": PUBLIC_KEY})
    same_key = _error(api.post("/ssh_keys", json={"name": "ops2", "public_key": PUBLIC_KEY}), 409, "uniqueness_error")
    assert same_key["message"] == "SSH key with the same fingerprint already exists"
    assert same_key["details"] == {"fields": [{"name": "public_key"}]}
    same_name = _error(api.post("/ssh_keys", json={"name": "ops", "public_key": OTHER_KEY}), 409, "uniqueness_error")
    assert same_name["details"] == {"fields": [{"name": "name"}]}


@pytest.mark.parametrize("public_key", ["", "ssh-ed25519", "ssh-ed25519 !!notbase64!!",
                                        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN"])
def test_a_public_key_that_is_not_openssh_is_invalid_input(api, public_key):
    error = _error(api.post("/ssh_keys", json={"name": "ops", "public_key": public_key}), 400, "invalid_input")
    assert error["details"]["fields"][0]["name"] == "public_key"


# ------------------------------------------------------- catalogue, networks
def test_catalogue_lists_find_by_name(api):
    assert [t["name"] for t in api.get("/server_types", params={"name": "cpx11"}).json()["server_types"]] == ["cpx11"]
    assert api.get("/locations", params={"name": "ash"}).json()["locations"][0]["network_zone"] == "us-east"
    images = api.get("/images", params={"name": "ubuntu-24.04", "architecture": "x86"}).json()["images"]
    assert [(i["name"], i["architecture"], i["type"]) for i in images] == [("ubuntu-24.04", "x86", "system")]


def test_servers_in_a_network_get_a_private_address_and_the_network_lists_them(sim, api):
    nid = sim.add_network("backend", "10.10.0.0/16")
    sid = sim.add_server("mx1", networks=["backend"])
    private = api.get(f"/servers/{sid}").json()["server"]["private_net"]
    assert private == [{"network": nid, "ip": "10.10.0.2", "alias_ips": [], "mac_address": private[0]["mac_address"]}]
    network = api.get("/networks", params={"name": "backend"}).json()["networks"][0]
    assert network["servers"] == [sid] and network["ip_range"] == "10.10.0.0/16"
    created = _create(api, "mx2", networks=[nid])["server"]
    assert created["private_net"][0]["ip"] == "10.10.0.3"


# ------------------------------------------------------------------ faults
def test_fail_next_answers_429_with_retry_after_then_serves_again(sim, api):
    sim.fail_next(429, times=2, retry_after=3)
    for attempt in range(2):
        response = api.get("/servers")
        _error(response, 429, "rate_limit_exceeded")
        assert response.headers["Retry-After"] == "3" and response.headers["RateLimit-Remaining"] == "0"
    assert api.get("/servers").status_code == 200
    assert [entry["status"] for entry in sim.request_log] == [429, 429, 200]
    sim.reset_metrics()
    assert sim.request_count == 0


def test_fail_after_next_makes_the_server_then_answers_500(sim, api):
    sim.fail_after_next("POST", "/servers", 500)
    assert api.get("/servers").status_code == 200  # a GET to the path is not the POST it waits for
    _error(api.post("/servers", json={"name": "mx1", "server_type": "cx22", "image": "debian-12"}), 500, "server_error")
    assert [s["name"] for s in api.get("/servers").json()["servers"]] == ["mx1"]
    _error(api.post("/servers", json={"name": "mx1", "server_type": "cx22", "image": "debian-12"}),
           409, "uniqueness_error")  # served again: the name is taken


def test_fail_next_with_skip_lets_the_first_pages_through(sim, api):
    for i in range(3):
        sim.add_server("mx%d" % i)
    sim.fail_next(503, path="/servers", skip=1)
    assert api.get("/servers", params={"per_page": 1, "page": 1}).status_code == 200
    _error(api.get("/servers", params={"per_page": 1, "page": 2}), 503, "unavailable")
    assert api.get("/servers", params={"per_page": 1, "page": 2}).status_code == 200


def test_fail_next_5xx_answers_the_envelope_or_a_gateway_page(sim, api):
    sim.fail_next(503)
    _error(api.get("/servers"), 503, "unavailable")
    sim.fail_next(502)
    gateway = api.get("/servers")
    assert gateway.status_code == 502 and gateway.headers["Content-Type"] == "text/html"
    with pytest.raises(ValueError):
        sim.fail_next(404)


# --------------------------------------------------------------------- CLI
def test_main_serves_seeded_servers_until_sigterm():
    command = [sys.executable, "tests/support/hcloud_sim.py", "--servers", "3", "--token", "cli-token",
               "--network", "backend"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=5), "the simulator printed nothing within 5 s"
        ready = json.loads(process.stdout.readline())
        assert ready["base_url"].startswith("http://127.0.0.1:") and ready["base_url"].endswith("/v1")
        servers = httpx.get(ready["base_url"] + "/servers", headers={"Authorization": "Bearer cli-token"}).json()
        assert [s["name"] for s in servers["servers"]] == ["mta-0001", "mta-0002", "mta-0003"]
        assert all(s["labels"] == {"coldrig_role": "mta"} and s["private_net"] for s in servers["servers"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_an_ipv4_pool_gives_servers_addresses_from_it_and_runs_out_with_an_error():
    with HcloudSimulator(tokens=[TOKEN], action_seconds=0, ipv4_pool="127.0.201.0/30") as pool_sim:
        pool_sim.add_server("mx1")
        assert pool_sim.server("mx1")["public_net"]["ipv4"]["ip"] == "127.0.201.2"
        with httpx.Client(base_url=pool_sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=5) as client:
            answer = client.post("/servers", json={"name": "mx2", "server_type": "cx22", "image": "debian-12"})
        _error(answer, 503, "resource_unavailable")
        assert "127.0.201.0/30" in answer.json()["error"]["message"]
