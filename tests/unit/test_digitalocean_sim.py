"""The DigitalOcean API v2 simulator answers like the documented API, over real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import digitalocean
import httpx
import pytest

from tests.support.digitalocean_sim import DigitalOceanSimulator, public_key_fingerprint

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sim-token-dop_v1_0123456789abcdef"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
FINGERPRINT = "37:b7:65:e3:49:30:40:9e:ad:e2:78:4d:b4:5f:51:9c"  # ssh-keygen -l -E md5
CREATE = {"name": "mx1.example.test", "region": "fra1", "size": "s-1vcpu-1gb", "image": "debian-12-x64",
          "ipv6": True, "tags": ["coldrig_role:mta"]}


@pytest.fixture
def sim() -> Iterator[DigitalOceanSimulator]:
    with DigitalOceanSimulator(tokens=[TOKEN], action_seconds=0.05) as simulator:
        yield simulator


@pytest.fixture
def api(sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as client:
        yield client


def _wait_for(api: httpx.Client, action_id: int, deadline: float = 3.0) -> dict:
    stop = time.monotonic() + deadline
    while True:
        action = api.get(f"/actions/{action_id}").json()["action"]
        if action["status"] != "in-progress" or time.monotonic() > stop:
            return action
        time.sleep(0.02)


def _create(api: httpx.Client, **changes) -> tuple[dict, int]:
    response = api.post("/droplets", json={**CREATE, **changes})
    assert response.status_code == 202, response.text
    body = response.json()
    return body["droplet"], body["links"]["actions"][0]["id"]


# ------------------------------------------------------------ auth and errors
def test_a_request_without_a_known_bearer_token_is_401_unauthorized(sim):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {TOKEN}"}):
        response = httpx.get(sim.base_url + "/droplets", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["id"] == "unauthorized" and body["message"] == "Unable to authenticate you"
        assert body["request_id"] == response.headers["X-Request-Id"]


def test_an_unknown_droplet_and_an_unknown_path_are_404_not_found(api):
    for path in ("/droplets/1", "/droplets/abc", "/nothing-here"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["id"] == "not_found"


def test_a_body_that_is_not_a_json_object_is_400_bad_request(api):
    response = api.post("/droplets", content=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["id"] == "bad_request"


def test_every_answer_carries_the_rate_limit_headers(api):
    first, second = api.get("/account"), api.get("/account")
    assert first.headers["RateLimit-Limit"] == "5000"
    assert int(first.headers["RateLimit-Remaining"]) == int(second.headers["RateLimit-Remaining"]) + 1
    assert int(first.headers["RateLimit-Reset"]) >= time.time() + 3500


def test_beyond_the_hourly_limit_the_answer_is_429_with_retry_after():
    with DigitalOceanSimulator(tokens=[TOKEN], rate_limit=3) as sim:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        statuses = [httpx.get(sim.base_url + "/account", headers=headers) for _unused in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    limited = statuses[-1]
    assert limited.json()["id"] == "too_many_requests"
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert 3500 <= int(limited.headers["Retry-After"]) <= 3600


def test_beyond_the_per_minute_burst_the_answer_is_429_within_a_minute():
    with DigitalOceanSimulator(tokens=[TOKEN], burst_limit=2) as sim:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        statuses = [httpx.get(sim.base_url + "/account", headers=headers) for _unused in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60


def test_fail_next_answers_429_or_5xx_in_the_error_envelope_then_serves_again(sim, api):
    sim.fail_next(429, retry_after=7)
    sim.fail_next(503, times=1)
    limited, failed, served = api.get("/account"), api.get("/account"), api.get("/account")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["id"] == "too_many_requests"
    assert failed.status_code == 503 and failed.json()["id"] == "server_error"
    assert served.status_code == 200
    with pytest.raises(ValueError, match="429 and 5xx"):
        sim.fail_next(404)


def test_fail_after_next_makes_the_droplet_then_answers_500(sim, api):
    sim.fail_after_next("POST", "/droplets", 500)
    assert api.get("/droplets").status_code == 200  # a GET to the path is not the POST it waits for
    failed = api.post("/droplets", json=CREATE)
    assert failed.status_code == 500 and failed.json()["id"] == "server_error"
    assert [d["name"] for d in api.get("/droplets").json()["droplets"]] == [CREATE["name"]]


def test_fail_next_with_skip_lets_the_first_pages_through(sim, api):
    sim.add_droplets(["web-%d" % i for i in range(3)])
    sim.fail_next(503, path="/droplets", skip=1)
    assert api.get("/droplets", params={"per_page": 1, "page": 1}).status_code == 200
    assert api.get("/droplets", params={"per_page": 1, "page": 2}).status_code == 503
    assert api.get("/droplets", params={"per_page": 1, "page": 2}).status_code == 200


def test_fail_next_with_a_path_only_hits_matching_requests(sim, api):
    sim.fail_next(500, path="/actions")
    assert api.get("/account").status_code == 200
    assert api.get("/actions").status_code == 500
    assert api.get("/actions").status_code == 200


# ------------------------------------------------------------ droplet lists
def test_the_droplet_list_pages_with_absolute_links_and_a_total(sim, api):
    sim.add_droplets([f"mta-{i:02d}.example.test" for i in range(45)])
    first = api.get("/droplets").json()  # per_page defaults to 20
    assert len(first["droplets"]) == 20 and first["meta"] == {"total": 45}
    pages = first["links"]["pages"]
    assert set(pages) == {"next", "last"}
    assert pages["next"].startswith(sim.base_url + "/droplets?")
    assert parse_qs(urlsplit(pages["next"]).query) == {"page": ["2"], "per_page": ["20"]}
    assert parse_qs(urlsplit(pages["last"]).query)["page"] == ["3"]
    middle = api.get("/droplets", params={"page": 2}).json()["links"]["pages"]
    assert set(middle) == {"first", "prev", "next", "last"}
    last = api.get("/droplets", params={"page": 3}).json()
    assert len(last["droplets"]) == 5 and set(last["links"]["pages"]) == {"first", "prev"}
    names = [d["name"] for p in (1, 2, 3) for d in api.get("/droplets", params={"page": p}).json()["droplets"]]
    assert names == [f"mta-{i:02d}.example.test" for i in range(45)]


def test_per_page_is_capped_at_200_and_must_be_a_positive_integer(sim, api):
    sim.add_droplets([f"d{i}" for i in range(201)])
    capped = api.get("/droplets", params={"per_page": 500}).json()
    assert len(capped["droplets"]) == 200 and "next" in capped["links"]["pages"]
    for bad in ("0", "-3", "many"):
        response = api.get("/droplets", params={"per_page": bad})
        assert response.status_code == 400 and response.json()["id"] == "bad_request"


def test_tag_name_filters_and_the_next_link_keeps_it(sim, api):
    sim.add_droplets([f"mta{i}" for i in range(3)], tags=["coldrig_role:mta"])
    sim.add_droplets(["web1", "web2"], tags=["web"])
    body = api.get("/droplets", params={"tag_name": "coldrig_role:mta", "per_page": 2}).json()
    assert [d["name"] for d in body["droplets"]] == ["mta0", "mta1"] and body["meta"]["total"] == 3
    assert parse_qs(urlsplit(body["links"]["pages"]["next"]).query)["tag_name"] == ["coldrig_role:mta"]
    assert api.get("/droplets", params={"tag_name": "nobody"}).json()["droplets"] == []


def test_name_filters_exactly_ignoring_case_and_cannot_be_combined_with_tag_name(sim, api):
    sim.add_droplets(["MX1.example.test", "mx1.example.test.other"])
    body = api.get("/droplets", params={"name": "mx1.EXAMPLE.test"}).json()
    assert [d["name"] for d in body["droplets"]] == ["MX1.example.test"]
    response = api.get("/droplets", params={"name": "mx1", "tag_name": "web"})
    assert response.status_code == 422 and response.json()["id"] == "unprocessable_entity"


def test_a_droplet_has_the_documented_shape(sim, api):
    droplet_id = sim.add_droplet("mx1.example.test", region="ams3", tags=["coldrig_role:mta"])
    droplet = api.get(f"/droplets/{droplet_id}").json()["droplet"]
    required = {"id", "name", "memory", "vcpus", "disk", "locked", "status", "created_at", "features", "backup_ids",
                "next_backup_window", "snapshot_ids", "image", "volume_ids", "size", "size_slug", "networks",
                "region", "tags"}
    assert required <= set(droplet)
    assert droplet["status"] == "active" and droplet["size_slug"] == droplet["size"]["slug"] == "s-1vcpu-1gb"
    assert droplet["image"]["slug"] == "debian-12-x64" and droplet["region"]["slug"] == "ams3"
    kinds = {net["type"]: net for net in droplet["networks"]["v4"]}
    assert kinds["public"]["ip_address"].startswith("198.1") and kinds["private"]["gateway"] is None
    assert droplet["networks"]["v6"][0]["netmask"] == 64 and droplet["networks"]["v6"][0]["type"] == "public"
    assert droplet["vpc_uuid"] and droplet["tags"] == ["coldrig_role:mta"]


# ------------------------------------------------------------ create and actions
def test_a_created_droplet_is_new_without_networks_until_its_create_action_completes(api):
    droplet, action_id = _create(api)
    assert droplet["status"] == "new" and droplet["networks"] == {"v4": [], "v6": []}
    action = api.get(f"/actions/{action_id}").json()["action"]
    assert action["status"] == "in-progress" and action["completed_at"] is None
    assert action["type"] == "create" and action["resource_id"] == droplet["id"]
    assert action["resource_type"] == "droplet" and action["region_slug"] == "fra1"
    done = _wait_for(api, action_id)
    assert done["status"] == "completed" and done["completed_at"]
    active = api.get(f"/droplets/{droplet['id']}").json()["droplet"]
    assert active["status"] == "active"
    assert {n["type"] for n in active["networks"]["v4"]} == {"public", "private"}
    assert active["networks"]["v6"] and active["tags"] == ["coldrig_role:mta"]


def test_names_creates_several_droplets_each_with_its_action(api):
    response = api.post("/droplets", json={**{k: v for k, v in CREATE.items() if k != "name"},
                                           "names": ["mx1.example.test", "mx2.example.test"]})
    assert response.status_code == 202
    body = response.json()
    assert [d["name"] for d in body["droplets"]] == ["mx1.example.test", "mx2.example.test"]
    assert [link["rel"] for link in body["links"]["actions"]] == ["create", "create"]


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "mx_1.example.test"}, "name: \"mx_1.example.test\" is not a valid droplet name"),
    ({"name": "mx1.example.test."}, "is not a valid droplet name"),
    ({"name": "mx 1"}, "is not a valid droplet name"),
    ({"name": "x" * 256}, "at most 255 characters"),
    ({"size": "s-64vcpu-1tb"}, "You specified an invalid size for Droplet creation."),
    ({"region": "mars1"}, "You specified an invalid region for Droplet creation."),
    ({"image": "windows-11"}, "You specified an invalid image for Droplet creation."),
    ({"tags": ["coldrig_role:mta", "domain:outreach.example"]}, "tags[1]: \"domain:outreach.example\" is not a valid tag"),
    ({"ssh_keys": [12345]}, "ssh_keys[0]: 12345 is neither the id nor the fingerprint"),
    ({"user_data": "x" * (64 * 1024 + 1)}, "may not exceed 64 KiB"),
    ({"ipv6": "yes"}, "ipv6 must be a boolean"),
    ({"names": ["a", "b"]}, "give either name"),
    ({"vpc_uuid": "00000000-0000-0000-0000-000000000000"}, "is not a VPC of region fra1"),
])
def test_create_refuses_invalid_fields_with_422_naming_them(api, change, message):
    response = api.post("/droplets", json={**CREATE, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["id"] == "unprocessable_entity" and message in body["message"]


def test_at_most_ten_names_at_once_and_no_more_than_the_droplet_limit():
    with DigitalOceanSimulator(tokens=[TOKEN], droplet_limit=2) as sim, \
            httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        base = {k: v for k, v in CREATE.items() if k != "name"}
        eleven = api.post("/droplets", json={**base, "names": [f"d{i}" for i in range(11)]})
        assert eleven.status_code == 422 and "1 to 10" in eleven.json()["message"]
        assert api.post("/droplets", json={**base, "names": ["d1", "d2"]}).status_code == 202
        over = api.post("/droplets", json={**base, "name": "d3"})
        assert over.status_code == 422 and "droplet limit" in over.json()["message"]
        assert api.get("/account").json()["account"]["droplet_limit"] == 2


def test_an_action_while_another_is_in_progress_is_a_pending_event(sim, api):
    sim.set_action_duration(5.0, action_type="create")
    droplet, _action_id = _create(api)
    response = api.post(f"/droplets/{droplet['id']}/actions", json={"type": "power_off"})
    assert response.status_code == 422
    assert response.json()["message"] == "Droplet already has a pending event."


def test_actions_can_complete_after_a_number_of_polls(sim, api):
    sim.set_action_duration(polls=2)
    droplet, action_id = _create(api)
    statuses = [api.get(f"/actions/{action_id}").json()["action"]["status"] for _unused in range(3)]
    assert statuses == ["in-progress", "completed", "completed"]
    assert api.get(f"/droplets/{droplet['id']}").json()["droplet"]["status"] == "active"


def test_an_errored_create_leaves_the_droplet_new(sim, api):
    sim.fail_next_action("create")
    droplet, action_id = _create(api)
    assert _wait_for(api, action_id)["status"] == "errored"
    assert api.get(f"/droplets/{droplet['id']}").json()["droplet"]["status"] == "new"


def test_power_rename_and_ipv6_actions_change_the_droplet_when_they_complete(sim, api):
    droplet_id = sim.add_droplet("node1", ipv6=False)

    def act(body: dict) -> dict:
        response = api.post(f"/droplets/{droplet_id}/actions", json=body)
        assert response.status_code == 201, response.text
        assert _wait_for(api, response.json()["action"]["id"])["status"] == "completed"
        return api.get(f"/droplets/{droplet_id}").json()["droplet"]

    assert act({"type": "power_off"})["status"] == "off"
    assert act({"type": "power_on"})["status"] == "active"
    assert act({"type": "shutdown"})["status"] == "off"
    assert act({"type": "resize", "size": "s-2vcpu-4gb"})["memory"] == 4096
    assert act({"type": "rename", "name": "mx1.example.test"})["name"] == "mx1.example.test"
    with_ipv6 = act({"type": "enable_ipv6"})
    assert "ipv6" in with_ipv6["features"] and with_ipv6["networks"]["v6"]
    listed = api.get(f"/droplets/{droplet_id}/actions").json()
    assert [a["type"] for a in listed["actions"]] == [
        "power_off", "power_on", "shutdown", "resize", "rename", "enable_ipv6"]
    one = listed["actions"][0]["id"]
    assert api.get(f"/droplets/{droplet_id}/actions/{one}").json()["action"]["type"] == "power_off"


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "explode"}, "is not a droplet action type"),
    ({"type": "snapshot", "name": "s"}, "the snapshot action is not simulated"),
    ({"type": "rename", "name": "bad_name"}, "is not a valid droplet name"),
    ({"type": "resize", "size": "s-2vcpu-4gb"}, "Droplet must be powered off before resizing."),
])
def test_invalid_actions_are_422(sim, api, body, message):
    droplet_id = sim.add_droplet("node1")
    response = api.post(f"/droplets/{droplet_id}/actions", json=body)
    assert response.status_code == 422 and message in response.json()["message"]


def test_actions_by_tag_and_deletion_by_tag(sim, api):
    tagged = sim.add_droplets(["a", "b"], tags=["batch:1"])
    other = sim.add_droplet("c")
    response = api.post("/droplets/actions", params={"tag_name": "batch:1"}, json={"type": "power_off"})
    assert response.status_code == 201
    assert sorted(a["resource_id"] for a in response.json()["actions"]) == tagged
    assert api.delete("/droplets", params={"tag_name": "batch:1"}).status_code == 204
    assert [d["id"] for d in api.get("/droplets").json()["droplets"]] == [other]


def test_deleting_a_droplet_is_204_then_404(sim, api):
    droplet_id = sim.add_droplet("gone")
    first = api.delete(f"/droplets/{droplet_id}")
    assert first.status_code == 204 and first.content == b""
    assert api.delete(f"/droplets/{droplet_id}").status_code == 404


# ------------------------------------------------------------ SSH keys and tags
def test_ssh_keys_get_the_md5_fingerprint_and_are_found_by_id_or_fingerprint(api):
    response = api.post("/account/keys", json={"name": "ops", "public_key": PUBLIC_KEY})
    assert response.status_code == 201
    key = response.json()["ssh_key"]
    assert key["fingerprint"] == FINGERPRINT == public_key_fingerprint(PUBLIC_KEY)
    assert api.get(f"/account/keys/{key['id']}").json()["ssh_key"] == key
    assert api.get(f"/account/keys/{FINGERPRINT}").json()["ssh_key"] == key
    assert api.get("/account/keys").json()["meta"] == {"total": 1}
    renamed = api.put(f"/account/keys/{FINGERPRINT}", json={"name": "ops-2"}).json()["ssh_key"]
    assert renamed["name"] == "ops-2"
    assert api.delete(f"/account/keys/{key['id']}").status_code == 204
    assert api.get(f"/account/keys/{FINGERPRINT}").status_code == 404


def test_the_same_key_twice_or_a_malformed_key_is_422(api):
    assert api.post("/account/keys", json={"name": "ops", "public_key": PUBLIC_KEY}).status_code == 201
    again = api.post("/account/keys", json={"name": "other name", "public_key": PUBLIC_KEY})
    assert again.status_code == 422 and again.json()["message"] == "SSH Key is already in use on your account"
    broken = api.post("/account/keys", json={"name": "x", "public_key": "ssh-ed25519 bm90IGEga2V5"})
    assert broken.status_code == 422 and "Key invalid" in broken.json()["message"]


def test_a_droplet_can_be_created_with_a_key_by_fingerprint(sim, api):
    key_id = sim.add_ssh_key("ops", PUBLIC_KEY)
    _create(api, ssh_keys=[FINGERPRINT])
    _create(api, name="mx2.example.test", ssh_keys=[key_id])


def test_tags_are_created_listed_assigned_and_removed(sim, api):
    droplet_id = sim.add_droplet("node1")
    created = api.post("/tags", json={"name": "coldrig_fleet:eu-1"})
    assert created.status_code == 201 and created.json()["tag"]["resources"]["count"] == 0
    resources = {"resources": [{"resource_id": str(droplet_id), "resource_type": "droplet"}]}
    assert api.post("/tags/coldrig_fleet:eu-1/resources", json=resources).status_code == 204
    assert api.get(f"/droplets/{droplet_id}").json()["droplet"]["tags"] == ["coldrig_fleet:eu-1"]
    tag = api.get("/tags/coldrig_fleet:eu-1").json()["tag"]
    assert tag["resources"]["droplets"]["count"] == 1
    assert tag["resources"]["droplets"]["last_tagged_uri"].endswith(f"/droplets/{droplet_id}")
    assert [t["name"] for t in api.get("/tags").json()["tags"]] == ["coldrig_fleet:eu-1"]
    assert api.request("DELETE", "/tags/coldrig_fleet:eu-1/resources", json=resources).status_code == 204
    assert api.get(f"/droplets/{droplet_id}").json()["droplet"]["tags"] == []
    assert api.delete("/tags/coldrig_fleet:eu-1").status_code == 204
    assert api.get("/tags/coldrig_fleet:eu-1").status_code == 404


def test_tag_names_are_case_stable(api):
    assert api.post("/tags", json={"name": "PROD"}).json()["tag"]["name"] == "PROD"
    assert api.post("/tags", json={"name": "prod"}).json()["tag"]["name"] == "PROD"
    droplet, _unused = _create(api, tags=["prod"])
    assert droplet["tags"] == ["PROD"]


def test_an_invalid_tag_name_is_400_in_the_documented_root_causes_shape(api):
    response = api.post("/tags", json={"name": "outreach.example"})
    assert response.status_code == 400
    body = response.json()
    assert "contains invalid characters" in body["error"]
    assert body["messages"] is None and body["root_causes"][0].startswith("rpc error")


def test_the_catalogue_has_regions_sizes_and_the_distribution_images(api):
    regions = api.get("/regions").json()
    assert {"fra1", "ams3", "nyc3"} <= {r["slug"] for r in regions["regions"]}
    assert all(set(r) >= {"name", "slug", "features", "available", "sizes"} for r in regions["regions"])
    sizes = api.get("/sizes").json()["sizes"]
    assert "s-1vcpu-1gb" in {s["slug"] for s in sizes}
    slugs = {i["slug"] for i in api.get("/images", params={"type": "distribution"}).json()["images"]}
    assert {"debian-12-x64", "ubuntu-24-04-x64"} <= slugs
    assert api.get("/images/debian-12-x64").json()["image"]["distribution"] == "Debian"
    assert api.get("/images", params={"private": "true"}).json()["images"] == []
    account = api.get("/account").json()["account"]
    assert account["status"] == "active" and account["email_verified"] is True


# ------------------------------------------------------------ the real python-digitalocean
def test_python_digitalocean_lists_creates_and_acts_unchanged(sim):
    sim.add_droplets([f"mta-{i:03d}.example.test" for i in range(250)], tags=["coldrig_role:mta"])
    manager = digitalocean.Manager(token=TOKEN, end_point=sim.end_point)
    sim.reset_metrics()
    droplets = manager.get_all_droplets(tag_name="coldrig_role:mta")
    assert len(droplets) == 250 and sim.request_count == 2  # follows links.pages.next, per_page 200
    first = droplets[0]
    assert first.ip_address.startswith("198.1") and first.private_ip_address.startswith("10.")
    assert first.ip_v6_address.startswith("2001:db8:") and first.ipv6 is True
    key = digitalocean.SSHKey(token=TOKEN, end_point=sim.end_point, name="ops", public_key=PUBLIC_KEY)
    key.create()
    by_fingerprint = digitalocean.SSHKey(token=TOKEN, end_point=sim.end_point, fingerprint=FINGERPRINT)
    by_fingerprint.load()
    assert by_fingerprint.id == key.id
    new = digitalocean.Droplet(token=TOKEN, end_point=sim.end_point, name="mx1.example.test", region="fra1",
                               size_slug="s-1vcpu-1gb", image="debian-12-x64", ssh_keys=[key.id], ipv6=True,
                               tags=["coldrig_role:mta"])
    new.create()
    action = digitalocean.Action(token=TOKEN, end_point=sim.end_point, id=new.action_ids[0])
    action.load_directly()
    assert action.status == "in-progress"
    time.sleep(0.1)
    action.load_directly()
    assert action.status == "completed"
    new.load()
    assert new.status == "active" and new.ip_address and new.ip_v6_address
    assert new.rename("mx2.example.test")["action"]["type"] == "rename"
    tag = digitalocean.Tag(token=TOKEN, end_point=sim.end_point, name="web")
    tag.create()
    tag.add_droplets([new.id])
    assert [str(t) for t in manager.get_all_tags()] == ["<Tag: coldrig_role:mta>", "<Tag: web>"]
    assert len(manager.get_all_regions()) == 10 and manager.get_all_sizes() and manager.get_distro_images()
    account = digitalocean.Account(token=TOKEN, end_point=sim.end_point)
    account.load()
    assert account.status == "active"
    assert new.destroy() is True


def test_python_digitalocean_sees_the_error_messages(sim):
    with pytest.raises(digitalocean.DataReadError, match="Unable to authenticate you"):
        digitalocean.Manager(token="wrong", end_point=sim.end_point).get_all_droplets()
    with pytest.raises(digitalocean.NotFoundError):
        digitalocean.Droplet(token=TOKEN, end_point=sim.end_point, id=1).load()


def test_base_url_is_the_documented_form_and_end_point_adds_the_slash(sim):
    assert sim.base_url.startswith("http://127.0.0.1:") and sim.base_url.endswith("/v2")
    assert sim.end_point == sim.base_url + "/"
    assert httpx.get(sim.base_url + "/droplets/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_bulk_seeding_a_thousand_droplets_is_fast_and_lists_in_five_pages(sim, api):
    started = time.perf_counter()
    sim.add_droplets([f"mta-{i:04d}.example.test" for i in range(1000)], tags=["coldrig_role:mta"])
    assert time.perf_counter() - started < 2.0
    sim.reset_metrics()
    seen, page = 0, 1
    while True:
        body = api.get("/droplets", params={"page": page, "per_page": 200}).json()
        seen += len(body["droplets"])
        if "next" not in body["links"]["pages"]:
            break
        page += 1
    assert seen == 1000 and sim.request_count == 5


def test_the_simulator_runs_standalone_and_prints_its_address():
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "digitalocean_sim.py"),
                                "--token", TOKEN, "--droplets", "3"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(process.stdout.readline())
        assert info["droplets"] == 3 and info["end_point"] == info["base_url"] + "/"
        body = httpx.get(info["base_url"] + "/droplets", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert body["meta"]["total"] == 3
        assert body["droplets"][0]["tags"] == ["coldrig_role:mta"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_an_ipv4_pool_gives_droplets_public_addresses_from_it():
    with DigitalOceanSimulator(tokens=[TOKEN], action_seconds=0, ipv4_pool="127.0.202.0/24") as pool_sim:
        pool_sim.add_droplet("mx1.example.test")
        public = [n for n in pool_sim.droplet("mx1.example.test")["networks"]["v4"] if n["type"] == "public"][0]
        assert public == {"ip_address": "127.0.202.17", "netmask": "255.255.255.0", "gateway": "127.0.202.1",
                          "type": "public"}


def test_user_data_is_kept_for_the_metadata_service_but_not_answered(sim, api):
    created = api.post("/droplets", json=dict(CREATE, user_data="#cloud-config\n")).json()["droplet"]
    assert "user_data" not in created
    assert sim.user_data(created["id"]) == "#cloud-config\n"
