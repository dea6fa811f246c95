"""The provider-neutral node helpers: names, labels, keys, cloud-init, the SSH banner wait, label plans."""
from __future__ import annotations

import time

import pytest
import yaml

from ansible_collections.coldrig.infra.plugins.module_utils import cloud, validate
from ansible_collections.coldrig.infra.plugins.module_utils import digitalocean as do
from ansible_collections.coldrig.infra.plugins.module_utils.cloud import CloudError
from tests.support.banner import BannerServer, closed_port
from tests.support.digitalocean_sim import DigitalOceanSimulator

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw9OFQ8oDA4wwbwkPNRybfB7sHxAT7uTvDK0TfsRuCN ops@example.test"
TOKEN = "coldrig-cloud-utils-token-Po9Iu8Yt7Re6We5Qa4Sd3Fg2"


@pytest.mark.parametrize("name", ["MX1.Example.COM.", "mx-1.a.example.co.uk", "a.b"])
def test_fqdns_are_lower_cased_without_the_trailing_dot(name):
    assert cloud.check_fqdn(name) == name.lower().rstrip(".")


@pytest.mark.parametrize("name", ["mx1", "mx1.", "-mx.example.com", "mx_1.example.com", "mx.example.123", "", None,
                                  "a" * 64 + ".example.com"])
def test_names_that_are_no_fqdn_are_refused_naming_the_field(name):
    with pytest.raises(CloudError, match=r"^ptr: "):
        cloud.check_fqdn(name, "ptr")


def test_key_names_carry_the_comment_and_fingerprint():
    assert cloud.ssh_key_name(KEY) == "ops@example.test (coldrig 37b765e3)"
    assert cloud.ssh_key_name(" ".join(KEY.split()[:2])) == "coldrig 37b765e3"
    assert cloud.check_ssh_keys([KEY, KEY + "  \n"]) == [KEY]  # the same key once


def test_cloud_init_is_yaml_that_keeps_the_default_user_and_adds_the_admin():
    document = cloud.cloud_init("ops", [KEY + ' "quoted": comment'])
    assert document.startswith("#cloud-config\n")
    data = yaml.safe_load(document)
    assert data["users"][0] == "default"
    assert data["users"][1]["ssh_authorized_keys"] == [KEY + ' "quoted": comment']
    assert data["users"][1]["sudo"] == "ALL=(ALL) NOPASSWD:ALL" and data["users"][1]["lock_passwd"] is True
    with pytest.raises(CloudError, match="^admin_ssh_keys: the admin user ops needs at least one"):
        cloud.cloud_init("ops", [])


def test_the_token_comes_from_the_first_environment_variable_that_is_set():
    env = {"DO_API_KEY": "from-key", "DIGITALOCEAN_ACCESS_TOKEN": "from-access"}
    assert cloud.token_from("digitalocean", None, env) == "from-key"
    assert cloud.token_from("digitalocean", "given", env) == "given"
    with pytest.raises(CloudError, match="^api_token: not given, and none of HCLOUD_TOKEN is set"):
        cloud.token_from("hcloud", "", {})


def test_hetzner_and_digitalocean_label_rules():
    assert cloud.check_labels("hcloud", {"coldrig_fleet": "eu.1", "example.com/team": "ops"})
    assert cloud.check_labels("digitalocean", {"web": None}) == {"web": ""}
    assert cloud.labels_to_tags({"coldrig_role": "mta", "web": ""}) == ["coldrig_role:mta", "web"]
    with pytest.raises(CloudError, match=r"^labels\.a: 'x:y' cannot be part of a DigitalOcean tag"):
        cloud.check_labels("digitalocean", {"a": "x:y"})
    with pytest.raises(CloudError, match=r"^labels\.hetzner\.cloud/x: 'hetzner\.cloud/x' is not a Hetzner label key"):
        cloud.check_labels("hcloud", {"hetzner.cloud/x": "1"})
    with pytest.raises(CloudError, match=r"^labels\.n: True is not a string"):
        cloud.check_labels("hcloud", {"n": True})


def test_wait_for_ssh_returns_the_banner_and_gives_up_in_time():
    with BannerServer(b"SSH-2.0-OpenSSH_9.2p1 test") as ssh:
        found = cloud.wait_for_ssh("127.0.0.1", ssh.port, timeout=5)
    assert found["banner"] == "SSH-2.0-OpenSSH_9.2p1 test" and found["attempts"] == 1
    port = closed_port()
    start = time.monotonic()
    with pytest.raises(CloudError, match=r"SSH at 127\.0\.0\.1 port %d gave no SSH banner within 1\.5 s \(\d+ "
                                         r"attempts; last: Connection refused\)" % port):
        cloud.wait_for_ssh("127.0.0.1", port, timeout=1.5, interval=0.2)
    assert time.monotonic() - start < 3


def test_a_port_that_greets_with_something_else_is_no_ssh():
    with BannerServer(b"220 mail ESMTP") as smtp:
        banner, why = cloud.read_ssh_banner("127.0.0.1", smtp.port, 2)
    assert banner is None and why == "answered '220 mail ESMTP', not an SSH banner"


def test_a_digitalocean_label_with_a_new_value_replaces_its_old_tags():
    with DigitalOceanSimulator(tokens=[TOKEN], action_seconds=0) as sim:
        nodes = cloud.nodes_for("digitalocean", TOKEN, sim.base_url)
        sim.add_droplet("mx1.example.com", tags=["coldrig_fleet:eu-1", "coldrig_fleet", "web", "coldrig_role:mta"])
        droplet = nodes.find("mx1.example.com")
        after, changes = nodes.plan_labels(droplet, {"coldrig_fleet": "eu-2", "web": ""})
        assert changes == {"coldrig_fleet": ["eu-1", "eu-2"]}
        assert after == {"coldrig_fleet": "eu-2", "web": "", "coldrig_role": "mta"}
        assert nodes.set_labels(droplet, {"coldrig_fleet": "eu-2", "web": ""}) is True
        assert sorted(sim.droplet("mx1.example.com")["tags"]) == ["coldrig_fleet:eu-2", "coldrig_role:mta", "web"]
        assert nodes.plan_labels(nodes.find("mx1.example.com"), {"coldrig_fleet": "eu-2"})[1] == {}


# ------------------------------------------------ one rule for host names
HOST_NAMES = ["mx1.outreach-example.com", "MX1.Example.COM.", "example.com", "mx1", "mx_1.example.com",
              "-mx.example.com", "mx-.example.com", "10.0.0.1", "a." + "b" * 64 + ".com", "mx1..example.com",
              "mx1.example.com..", ".mx1.example.com", "mx1.example.123", "xn--bcher-kva.example", " mx1.example.com ",
              "a." * 126 + "com"]


@pytest.mark.parametrize("name", HOST_NAMES)
def test_server_rdns_and_the_digitalocean_client_judge_host_names_by_the_one_validator(name):
    valid = validate.fqdn_problem(name) is None
    assert do.is_fqdn(name) is valid
    if valid:
        assert cloud.check_fqdn(name) == validate.normalise_name(name)
    else:
        with pytest.raises(cloud.CloudError, match=r"^name: .* is not a fully qualified domain name \(it "):
            cloud.check_fqdn(name)


def test_a_mail_host_with_two_trailing_dots_is_refused_as_the_spec_checker_refuses_it():
    with pytest.raises(cloud.CloudError, match="has an empty label"):
        cloud.check_fqdn("mx1.example.com..")
