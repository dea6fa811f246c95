"""coldrig's DigitalOcean client, through the real python-digitalocean library, against the local API simulator."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import digitalocean
import pytest

from ansible_collections.coldrig.infra.plugins.module_utils import digitalocean as do
from ansible_collections.coldrig.infra.plugins.module_utils.digitalocean import DigitalOceanClient, DigitalOceanError
from tests.support.digitalocean_sim import DigitalOceanSimulator

TOKEN = "dop_v1_coldrig_client_token_Zq8x4Vd1Lr0Pn6Ty3Wc5Hb9Mk2Js7Fg4Ae1Ru8Io0Py6Tx3Nw5"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
FINGERPRINT = "37:b7:65:e3:49:30:40:9e:ad:e2:78:4d:b4:5f:51:9c"  # ssh-keygen -l -E md5
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPceLFyAU+rZTnd4K7llqnuT07mbdhV+RtHb1wimXw+W other@example.test"

# The first droplet of the API reference's "List All Droplets" example, trimmed to what matters here.
API_DROPLET = {
    "id": 3164444, "name": "example.com", "memory": 1024, "vcpus": 1, "disk": 25, "locked": False,
    "status": "active", "created_at": "2020-07-21T18:37:44Z", "features": ["backups", "private_networking", "ipv6"],
    "backup_ids": [53893572], "snapshot_ids": [67512819], "volume_ids": [],
    "image": {"id": 63663980, "name": "20.04 (LTS) x64", "distribution": "Ubuntu", "slug": "ubuntu-20-04-x64"},
    "size": {"slug": "s-1vcpu-1gb", "memory": 1024, "vcpus": 1, "disk": 25}, "size_slug": "s-1vcpu-1gb",
    "networks": {
        "v4": [{"ip_address": "10.128.192.124", "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
               {"ip_address": "192.241.165.154", "netmask": "255.255.255.0", "gateway": "192.241.165.1",
                "type": "public"}],
        "v6": [{"ip_address": "2604:a880:0:1010::18a:a001", "netmask": 64, "gateway": "2604:a880:0:1010::1",
                "type": "public"}],
    },
    "region": {"name": "New York 3", "slug": "nyc3"}, "tags": ["web", "env:prod"],
    "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000",
}


@pytest.fixture(autouse=True)
def no_library_environment(monkeypatch):
    """python-digitalocean reads these at every object's creation; the client must not depend on them."""
    for name in ("DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_END_POINT", "PYTHON_DIGITALOCEAN_REQUEST_TIMEOUT_SEC"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[DigitalOceanSimulator]:
    with DigitalOceanSimulator(tokens=[TOKEN], action_seconds=0.03) as simulator:
        yield simulator


@pytest.fixture
def client(sim) -> DigitalOceanClient:
    return DigitalOceanClient(TOKEN, api_endpoint=sim.base_url, timeout=5, poll_interval=0.01)


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The client's retry and poll sleeps, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(do.time, "sleep", waits.append)
    return waits


def _writes(sim) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sim.requests if m != "GET"]


# ------------------------------------------------------------ pure helpers
def test_tags_become_labels_key_value_at_the_first_colon_and_plain_tags_empty():
    labels, conflicts = do.tag_labels(["coldrig_role:mta", "coldrig_fleet:eu-1", "web", "note:a:b", ":odd"])
    assert labels == {"coldrig_role": "mta", "coldrig_fleet": "eu-1", "web": "", "note": "a:b", ":odd": ""}
    assert conflicts == []


def test_two_values_for_one_label_keep_the_first_and_report_the_key():
    labels, conflicts = do.tag_labels(["coldrig_role", "coldrig_role:mta", "coldrig_role:relay", "coldrig_role:mta"])
    assert labels == {"coldrig_role": "mta"} and conflicts == ["coldrig_role"]


@pytest.mark.parametrize(("name", "fqdn"), [
    ("mx1.outreach-example.com", True), ("MX1.Example.COM.", True), ("example.com", True),
    ("mx1", False), ("mx_1.example.com", False), ("-mx.example.com", False), ("10.0.0.1", False),
    ("a." + "b" * 64 + ".com", False), ("", False), (None, False),
])
def test_fqdn_means_two_or_more_host_labels_and_a_tld_that_is_not_a_number(name, fqdn):
    assert do.is_fqdn(name) is fqdn


def test_invalid_names_and_tags_are_refused_naming_the_field():
    with pytest.raises(DigitalOceanError, match=r"^name: 'mx_1\.example\.com' is not a valid droplet name"):
        do.check_droplet_name("mx_1.example.com")
    with pytest.raises(DigitalOceanError, match=r"^tags\[2\]: 'domain:outreach\.example' is not a valid "
                                                r"DigitalOcean tag: .*\(no dots\)"):
        do.check_tag("domain:outreach.example", "tags[2]")


def test_the_fingerprint_is_the_md5_of_the_key_blob():
    assert do.ssh_key_fingerprint(PUBLIC_KEY) == FINGERPRINT
    with pytest.raises(DigitalOceanError, match="public_key: not an OpenSSH public key"):
        do.ssh_key_fingerprint("ssh-ed25519 not-base64!")
    with pytest.raises(DigitalOceanError, match="public_key: not an OpenSSH public key"):
        do.ssh_key_fingerprint("ssh-rsa " + PUBLIC_KEY.split()[1])  # an ed25519 blob declared as RSA


def test_host_vars_of_the_documented_droplet():
    host_vars = do.host_vars(API_DROPLET)
    assert {k: v for k, v in host_vars.items() if k.startswith("coldrig_")} == {
        "coldrig_provider": "digitalocean",
        "coldrig_public_ipv4": "192.241.165.154",
        "coldrig_public_ipv6": "2604:a880:0:1010::18a:a001",
        "coldrig_ptr": "example.com",
        "coldrig_region": "nyc3",
        "coldrig_size": "s-1vcpu-1gb",
        "coldrig_labels": {"web": "", "env": "prod"},
    }
    assert host_vars["ansible_host"] == "192.241.165.154"
    assert host_vars["do_id"] == 3164444 and host_vars["do_private_ipv4"] == "10.128.192.124"
    assert host_vars["do_image"] == "ubuntu-20-04-x64" and host_vars["do_image_id"] == 63663980
    assert host_vars["do_region_name"] == "New York 3" and host_vars["do_tags"] == ["web", "env:prod"]
    assert host_vars["do_memory"] == 1024 and host_vars["do_vcpus"] == 1 and host_vars["do_disk"] == 25
    assert host_vars["do_vpc_uuid"] == "760e09ef-dc84-11e8-981e-3cfdfeaae000"


def test_the_ptr_is_the_name_only_when_it_is_a_fqdn_and_there_is_an_address():
    assert do.host_vars(dict(API_DROPLET, name="web-01"))["coldrig_ptr"] is None
    assert do.host_vars(dict(API_DROPLET, name="MX1.Example.com"))["coldrig_ptr"] == "mx1.example.com"
    new = dict(API_DROPLET, status="new", networks={"v4": [], "v6": []})
    host_vars = do.host_vars(new)
    assert host_vars["coldrig_ptr"] is None and host_vars["coldrig_public_ipv4"] is None
    assert "ansible_host" not in host_vars


@pytest.mark.parametrize(("connect_with", "address"), [
    ("public_ipv4", "192.241.165.154"), ("public_ipv6", "2604:a880:0:1010::18a:a001"),
    ("private_ipv4", "10.128.192.124"), ("name", "example.com"),
])
def test_connect_with_chooses_ansible_host(connect_with, address):
    assert do.host_vars(API_DROPLET, connect_with=connect_with)["ansible_host"] == address


def test_a_missing_address_says_why_and_an_unknown_choice_is_an_error():
    facts = do.droplet_facts(dict(API_DROPLET, status="new", networks={"v4": [], "v6": []}))
    address, why = do.connect_address(facts, "public_ipv6")
    assert address is None
    assert why == ("it has no IPv6 address (the enable_ipv6 action adds one) (it is new: networks come once it is "
                   "active) (connect_with: public_ipv6)")
    assert do.connect_address(do.droplet_facts(API_DROPLET), "private_ipv4") == ("10.128.192.124", None)
    with pytest.raises(DigitalOceanError, match="connect_with: 'hostname' is not one of public_ipv4, public_ipv6, "
                                                "private_ipv4, name"):
        do.connect_address(facts, "hostname")


def test_host_vars_are_the_same_from_the_api_dict_the_library_object_and_the_cached_facts():
    from_dict = do.host_vars(API_DROPLET)
    library = digitalocean.Droplet(token="unused", end_point="http://127.0.0.1:9/v2/", **API_DROPLET)
    assert do.host_vars(library) == from_dict
    assert do.host_vars(do.droplet_facts(API_DROPLET)) == from_dict


# ------------------------------------------------------------ the token and the end point
@pytest.mark.parametrize("token", ["", None])
def test_no_token_says_where_to_set_one(token):
    with pytest.raises(DigitalOceanError, match="no DigitalOcean API token: set DIGITALOCEAN_TOKEN or api_token"):
        DigitalOceanClient(token)


def test_a_token_with_a_newline_is_refused_without_showing_it():
    secret = "dop_v1_secret_with_newline_0123456789"
    with pytest.raises(DigitalOceanError) as caught:
        DigitalOceanClient(secret + "\n")
    assert "stray newline" in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)


def test_a_wrong_token_gets_the_friendly_401_message_without_the_token(sim):
    wrong = "dop_v1_wrong_" + "a" * 52
    client = DigitalOceanClient(wrong, api_endpoint=sim.base_url)
    with pytest.raises(DigitalOceanError) as caught:
        client.list_droplets()
    text = str(caught.value)
    assert text.startswith("listing droplets: the DigitalOcean API token is wrong or lacks access "
                           "(Unable to authenticate you): set DIGITALOCEAN_TOKEN or api_token")
    assert "(unauthorized, HTTP 401, request id " in text
    assert caught.value.status == 401 and caught.value.error_id == "unauthorized"
    assert wrong not in text and wrong not in repr(caught.value) and wrong not in repr(client)
    assert sim.request_count == 1  # a 401 is not retried


def test_an_unreachable_endpoint_is_named_without_the_token():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    client = DigitalOceanClient(TOKEN, api_endpoint="http://127.0.0.1:%d/v2" % port, timeout=2, max_retries=0)
    with pytest.raises(DigitalOceanError) as caught:
        client.account()
    assert "cannot reach the DigitalOcean API at http://127.0.0.1:%d/v2: ConnectError" % port in str(caught.value)
    assert TOKEN not in str(caught.value) and caught.value.status is None


def test_an_endpoint_that_is_not_a_url_is_refused():
    with pytest.raises(DigitalOceanError, match="api_endpoint: 'api.digitalocean.com' is not an http"):
        DigitalOceanClient(TOKEN, api_endpoint="api.digitalocean.com")


def test_the_library_environment_does_not_leak_into_the_client_or_its_droplets(sim, monkeypatch):
    monkeypatch.setenv("DIGITALOCEAN_END_POINT", "http://127.0.0.1:9/v2/")
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_someone_elses_token")
    sim.add_droplet("mx1.example.test")
    client = DigitalOceanClient(TOKEN, api_endpoint=sim.base_url + "/")  # a trailing slash is fine too
    droplet = client.list_droplets()[0]
    assert droplet.end_point == sim.end_point and droplet.tokens == [TOKEN]
    droplet.load()  # the library's own request goes to the simulator, with this client's token
    assert droplet.status == "active"


# ------------------------------------------------------------ droplets
def test_list_droplets_pages_through_a_thousand_in_five_requests(sim, client):
    sim.add_droplets([f"mta-{i:04d}.example.test" for i in range(1000)], tags=["coldrig_role:mta"])
    sim.reset_metrics()
    droplets = client.list_droplets()
    assert len(droplets) == 1000 and sim.request_count == 5
    assert all(entry["query"]["per_page"] == ["200"] for entry in sim.request_log)
    assert isinstance(droplets[0], digitalocean.Droplet) and droplets[0].ip_address.startswith("198.1")
    assert client.rate_limit["RateLimit-Limit"] == "5000"


def test_the_tag_filters_on_the_api_and_status_region_size_here(sim, client):
    sim.add_droplet("a", region="fra1", tags=["coldrig_role:mta"])
    sim.add_droplet("b", region="ams3", size="s-2vcpu-4gb", tags=["coldrig_role:mta"])
    sim.add_droplet("c", region="fra1", status="off", tags=["coldrig_role:mta"])
    sim.add_droplet("d", region="fra1")
    sim.reset_metrics()
    assert [d.name for d in client.list_droplets(tag="coldrig_role:mta")] == ["a", "b", "c"]
    assert sim.request_log[-1]["query"]["tag_name"] == ["coldrig_role:mta"]
    assert [d.name for d in client.list_droplets(status="active", region="fra1")] == ["a", "d"]
    assert [d.name for d in client.list_droplets(size=["s-2vcpu-4gb"])] == ["b"]
    assert [f["do_name"] for f in client.list_droplet_facts(status=["off"])] == ["c"]
    with pytest.raises(DigitalOceanError, match="status: 'running' is not one of new, active, off, archive"):
        client.list_droplets(status="running")


def test_list_droplet_facts_equals_the_facts_of_the_listed_droplets(sim, client):
    sim.add_droplets(["mx1.example.test", "mx2.example.test"], tags=["coldrig_role:mta", "web"])
    assert client.list_droplet_facts() == [do.droplet_facts(d) for d in client.list_droplets()]


def test_get_droplet_by_name_finds_one_none_or_refuses_duplicates(sim, client):
    first = sim.add_droplet("mx1.example.test")
    assert client.get_droplet_by_name("MX1.example.test").id == first
    assert client.get_droplet_by_name("mx9.example.test") is None
    second = sim.add_droplet("mx1.example.test")
    with pytest.raises(DigitalOceanError, match="2 droplets are named mx1.example.test \\(ids %d, %d\\)" % (
            first, second)):
        client.get_droplet_by_name("mx1.example.test")
    assert client.get_droplet(first).name == "mx1.example.test" and client.get_droplet(1) is None


def test_create_waits_until_the_droplet_is_active(sim, client):
    sim.set_action_duration(0.3)
    key, _changed = client.ensure_ssh_key("ops", PUBLIC_KEY)
    started = time.monotonic()
    droplet = client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64", region="fra1",
                                    ssh_keys=[key.id], tags=["coldrig_role:mta", "coldrig_fleet:eu-1"],
                                    user_data="#cloud-config\n")
    assert time.monotonic() - started >= 0.3
    assert droplet.status == "active" and droplet.ip_address and droplet.ip_v6_address
    assert droplet.tags == ["coldrig_role:mta", "coldrig_fleet:eu-1"]
    assert ("GET", "/v2/actions/%d" % sim.actions()[0]["id"]) in sim.requests
    assert sim.actions()[0]["status"] == "completed"


def test_create_without_wait_returns_the_new_droplet_and_its_action(sim, client):
    droplet = client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64", wait=False)
    assert droplet.status == "new" and droplet.action_ids == [sim.actions()[0]["id"]]


def test_ssh_keys_for_create_may_be_public_keys_fingerprints_or_objects(sim, client):
    key, _unused = client.ensure_ssh_key("ops", PUBLIC_KEY)
    other, _unused = client.ensure_ssh_key("other", OTHER_KEY)
    client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64", ssh_keys=[PUBLIC_KEY, other],
                          wait=False)
    client.create_droplet("mx2.example.test", "s-1vcpu-1gb", "debian-12-x64", ssh_keys=[FINGERPRINT.upper()],
                          wait=False)
    with pytest.raises(DigitalOceanError, match=r"ssh_keys\[1\]: 'me@laptop' is neither an SSH key id"):
        client.create_droplet("mx3.example.test", "s-1vcpu-1gb", "debian-12-x64", ssh_keys=[key.id, "me@laptop"])


def test_create_checks_name_and_tags_before_any_request(sim, client):
    with pytest.raises(DigitalOceanError, match="^name: 'mx_1' is not a valid droplet name"):
        client.create_droplet("mx_1", "s-1vcpu-1gb", "debian-12-x64")
    with pytest.raises(DigitalOceanError, match=r"^tags\[1\]: 'domain:example\.com' is not a valid"):
        client.create_droplet("mx1", "s-1vcpu-1gb", "debian-12-x64", tags=["coldrig_role:mta", "domain:example.com"])
    assert sim.request_count == 0


def test_the_apis_422_keeps_its_id_and_message(sim, client):
    with pytest.raises(DigitalOceanError) as caught:
        client.create_droplet("mx1.example.test", "s-64vcpu-1tb", "debian-12-x64")
    assert caught.value.status == 422 and caught.value.error_id == "unprocessable_entity"
    assert str(caught.value).startswith("creating droplet mx1.example.test: You specified an invalid size for "
                                        "Droplet creation. (unprocessable_entity, HTTP 422, request id ")
    assert _writes(sim) == [("POST", "/v2/droplets")]  # a 422 is not retried


def test_an_errored_create_is_an_error_that_names_the_action(sim, client):
    sim.fail_next_action("create")
    with pytest.raises(DigitalOceanError, match="creating droplet mx1.example.test: the create action \\d+ on "
                                                "droplet \\d+ errored") as caught:
        client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64")
    assert caught.value.error_id == "action_errored"


def test_waiting_for_an_action_gives_up_after_the_timeout(sim, client):
    sim.set_action_duration(30.0)
    droplet = client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64", wait=False)
    with pytest.raises(DigitalOceanError, match="the create action \\d+ is still in progress after 0 s") as caught:
        client.wait_for_action(droplet.action_ids[0], timeout=0.1)
    assert caught.value.error_id == "timeout"


def test_power_off_and_on_change_the_droplet_once(sim, client):
    droplet = client.get_droplet(sim.add_droplet("mx1.example.test"))
    assert client.power_off(droplet) is True and client.reload(droplet).status == "off"
    assert client.power_off(droplet) is False
    assert client.power_on(droplet) is True and client.reload(droplet).status == "active"
    assert client.power_on(droplet) is False
    assert [a["type"] for a in sim.actions()] == ["power_off", "power_on"]


def test_a_graceful_power_off_shuts_down_and_only_cuts_power_when_needed(sim, client):
    droplet = client.get_droplet(sim.add_droplet("mx1.example.test"))
    assert client.power_off(droplet, graceful=True) is True
    assert [a["type"] for a in sim.actions()] == ["shutdown"]
    assert client.reload(droplet).status == "off"


def test_an_action_on_a_droplet_with_a_pending_event_waits_for_it_then_runs(sim, client):
    sim.set_action_duration(seconds=1.0, action_type="create")  # long enough to be pending however busy the machine
    droplet = client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64", wait=False)
    assert client.power_off(droplet) is True  # the create action is still in progress at first
    assert [(a["type"], a["status"]) for a in sim.actions()] == [("create", "completed"), ("power_off", "completed")]
    assert client.reload(droplet).status == "off"
    assert sum(1 for m, p in _writes(sim) if p.endswith("/actions")) == 2  # refused once, then accepted


def test_rename_changes_the_name_once_and_checks_it(sim, client):
    droplet = client.get_droplet(sim.add_droplet("web-01"))
    assert client.rename_droplet(droplet, "mx1.example.test") is True
    assert client.rename_droplet(droplet, "mx1.example.test") is False
    renamed = client.get_droplet_by_name("mx1.example.test")
    assert renamed.id == droplet.id and do.host_vars(renamed)["coldrig_ptr"] == "mx1.example.test"
    with pytest.raises(DigitalOceanError, match="^name: 'mx1.example.test.' is not a valid droplet name"):
        client.rename_droplet(droplet, "mx1.example.test.")


def test_delete_is_true_once_then_false(sim, client):
    droplet = client.get_droplet(sim.add_droplet("mx1.example.test"))
    assert client.delete_droplet(droplet) is True
    assert client.delete_droplet(droplet) is False
    assert client.delete_droplet(None) is False
    assert sim.droplets() == []


def test_delete_by_tag_removes_only_the_tagged_droplets(sim, client):
    sim.add_droplets(["a", "b"], tags=["batch:7"])
    keep = sim.add_droplet("c")
    client.delete_droplets_by_tag("batch:7")
    assert [d["id"] for d in sim.droplets()] == [keep]


def test_ensure_tags_adds_only_the_missing_ones(sim, client):
    droplet = client.get_droplet(sim.add_droplet("mx1", tags=["coldrig_role:mta"]))
    assert client.ensure_tags(droplet, ["coldrig_role:mta", "coldrig_fleet:eu-1"]) is True
    assert client.reload(droplet).tags == ["coldrig_role:mta", "coldrig_fleet:eu-1"]
    sim.reset_metrics()
    assert client.ensure_tags(client.reload(droplet), ["coldrig_fleet:eu-1"]) is False
    assert _writes(sim) == []


def test_remove_tags_takes_off_only_the_tags_the_droplet_has(sim, client):
    droplet = client.get_droplet(sim.add_droplet("mx1", tags=["coldrig_role:mta", "coldrig_fleet:eu-1"]))
    assert client.remove_tags(droplet, ["COLDRIG_ROLE:mta", "absent:tag"]) is True
    assert client.reload(droplet).tags == ["coldrig_fleet:eu-1"]
    assert "coldrig_role:mta" in sim.tags()  # the tag stays in the account
    sim.reset_metrics()
    assert client.remove_tags(client.reload(droplet), ["coldrig_role:mta"]) is False
    assert _writes(sim) == []
    with pytest.raises(DigitalOceanError, match=r"tags\[0\]: 'a.b' is not a valid DigitalOcean tag"):
        client.remove_tags(droplet, ["a.b"])


# ------------------------------------------------------------ SSH keys
def test_ensure_ssh_key_uploads_once_and_matches_by_fingerprint(sim, client):
    key, changed = client.ensure_ssh_key("ops", PUBLIC_KEY)
    assert changed is True and key.fingerprint == FINGERPRINT and isinstance(key, digitalocean.SSHKey)
    sim.reset_metrics()
    again, changed = client.ensure_ssh_key("a different name", PUBLIC_KEY + "\n")
    assert changed is False and again.id == key.id and again.name == "ops"
    assert sim.requests == [("GET", "/v2/account/keys/%s" % FINGERPRINT)]
    assert [k["name"] for k in sim.ssh_keys()] == ["ops"]


def test_ensure_ssh_key_refuses_a_malformed_key_before_any_request(sim, client):
    with pytest.raises(DigitalOceanError, match="public_key: not an OpenSSH public key"):
        client.ensure_ssh_key("ops", "not a key")
    assert sim.request_count == 0


def test_a_key_uploaded_meanwhile_is_used(sim, client, monkeypatch):
    original = client.get_ssh_key
    calls = []

    def racing(fingerprint):  # the first lookup misses, then someone else uploads the key
        calls.append(fingerprint)
        if len(calls) == 1:
            sim.add_ssh_key("uploaded-elsewhere", PUBLIC_KEY)
            return None
        return original(fingerprint)

    monkeypatch.setattr(client, "get_ssh_key", racing)
    key, changed = client.ensure_ssh_key("ops", PUBLIC_KEY)
    assert changed is False and key.name == "uploaded-elsewhere"


# ------------------------------------------------------------ 429 and 5xx
def test_a_429_is_retried_after_retry_after(sim, client, slept):
    sim.fail_next(429, retry_after=2, times=2)
    assert client.account()["status"] == "active"
    assert slept == [2.0, 2.0] and sim.request_count == 3


def test_a_retry_after_longer_than_the_client_waits_fails_at_once(sim, client, slept):
    sim.fail_next(429, retry_after=3600)
    with pytest.raises(DigitalOceanError, match="API rate limit exceeded.; the limit resets in 3600 s, longer than "
                                                "the 60 s this client waits \\(too_many_requests, HTTP 429"):
        client.account()
    assert slept == [] and sim.request_count == 1


def test_the_real_limit_is_honoured_from_its_headers(slept):
    with DigitalOceanSimulator(tokens=[TOKEN], burst_limit=1) as sim:
        client = DigitalOceanClient(TOKEN, api_endpoint=sim.base_url, max_wait=120)
        client.account()
        with pytest.raises(DigitalOceanError) as caught:
            client.account()  # the simulator's minute never passes: the recorded sleeps do not sleep
    assert caught.value.status == 429 and caught.value.attempts == 6
    assert len(slept) == 5 and all(1 <= s <= 60 for s in slept)


def test_retries_stop_after_max_retries_and_say_so(sim, slept):
    client = DigitalOceanClient(TOKEN, api_endpoint=sim.base_url, max_retries=1)
    sim.fail_next(503, times=3)
    with pytest.raises(DigitalOceanError, match=r"Unexpected server-side error \(Service Unavailable\) "
                                                r"\(server_error, HTTP 503, after 2 attempts"):
        client.list_droplets()
    assert len(slept) == 1 and 0.5 <= slept[0] <= 1.0  # backoff, there is no Retry-After


def test_a_failed_get_is_retried_but_a_failed_create_is_not(sim, client, slept):
    sim.fail_next(502)
    assert client.list_droplets() == []
    sim.fail_next(500, path="/droplets")
    with pytest.raises(DigitalOceanError) as caught:
        client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64")
    assert caught.value.status == 500 and caught.value.attempts == 1
    assert _writes(sim) == [("POST", "/v2/droplets")] and sim.droplets() == []


# ------------------------------------------- a create whose answer is lost
@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_create_answered_5xx_after_the_droplet_was_made_carries_on_with_that_droplet(sim, client, slept, status):
    sim.fail_after_next("POST", "/droplets", status)
    droplet = client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64")
    assert droplet.name == "mx1.example.test" and droplet.status == "active"
    assert [d["name"] for d in sim.droplets()] == ["mx1.example.test"]  # one droplet: the POST was not repeated
    assert _writes(sim) == [("POST", "/v2/droplets")]


def test_a_create_answered_500_without_a_droplet_says_none_was_made(sim, client, slept):
    sim.fail_next(500, path="/droplets")
    with pytest.raises(DigitalOceanError, match="no droplet named mx1.example.test was made: run again"):
        client.create_droplet("mx1.example.test", "s-1vcpu-1gb", "debian-12-x64")
    assert sim.droplets() == []
