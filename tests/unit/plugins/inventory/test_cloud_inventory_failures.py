"""A cloud inventory that cannot be read fails the run: the real ansible-inventory and ansible-playbook, with the
project's ansible.cfg, against the API simulators (a 401, a 5xx that outlives the retries, a failure on page 2)."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.digitalocean_sim import DigitalOceanSimulator
from tests.support.hcloud_sim import HcloudSimulator

ROOT = Path(__file__).resolve().parents[4]
TOKEN = "coldrig-good-token-Ab3Cd5Ef7Gh9Jk2Lm4Np6Qr8St0Uv2Wx4Yz6"
WRONG = "coldrig-wrong-token-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"
PLAYBOOK = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug:\n        msg: reached\n"


class Provider:
    """What differs between the two cloud inventories in these tests."""

    def __init__(self, name, token_env, page_size, path, sim_class):
        self.name, self.token_env, self.page_size, self.path, self.sim_class = name, token_env, page_size, path, sim_class

    def __repr__(self):
        return self.name

    def add_nodes(self, sim, count):
        for i in range(count):
            if self.name == "hcloud":
                sim.add_server("mx%03d" % i)
            else:
                sim.add_droplet("mx%03d" % i)


PROVIDERS = [
    Provider("hcloud", "HCLOUD_TOKEN", 50, "/servers", HcloudSimulator),
    Provider("digitalocean", "DIGITALOCEAN_TOKEN", 200, "/droplets", DigitalOceanSimulator),
]


@pytest.fixture(params=PROVIDERS, ids=repr)
def cloud(request, tmp_path) -> Iterator[tuple[Provider, object, Path]]:
    provider = request.param
    with provider.sim_class(tokens=[TOKEN]) as sim:
        source = tmp_path / ("test.%s.yml" % provider.name)
        source.write_text("plugin: coldrig.infra.%s\napi_endpoint: %s\n" % (provider.name, sim.base_url))
        yield provider, sim, source


def _run(command, provider, tmp_path, token=TOKEN, stdin=None):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    for name in ("HCLOUD_TOKEN", "DIGITALOCEAN_TOKEN", "DO_API_TOKEN", "DO_API_KEY", "DO_OAUTH_TOKEN",
                 "DIGITALOCEAN_ACCESS_TOKEN", "ANSIBLE_INVENTORY_UNPARSED_FAILED",
                 "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"):
        env.pop(name, None)
    env[provider.token_env] = token
    result = subprocess.run(command, env=env, cwd=tmp_path, input=stdin, capture_output=True, text=True, timeout=120,
                            check=False)
    return result.returncode, result.stdout + result.stderr


def _inventory(source, provider, tmp_path, token=TOKEN):
    return _run(["ansible-inventory", "-i", str(source), "--list"], provider, tmp_path, token)


def test_the_inventory_parses_when_the_api_answers(cloud, tmp_path):
    provider, sim, source = cloud
    provider.add_nodes(sim, 2)
    code, output = _inventory(source, provider, tmp_path)
    assert code == 0, output
    assert '"mx000"' in output and '"mx001"' in output


def test_a_wrong_token_fails_the_inventory_and_the_playbook_naming_the_fix_not_the_token(cloud, tmp_path):
    provider, sim, source = cloud
    provider.add_nodes(sim, 1)
    code, output = _inventory(source, provider, tmp_path, token=WRONG)
    assert code != 0, output
    assert "API token is wrong or lacks access" in output and "HTTP 401" in output
    assert "Completely failed to parse inventory source" in output
    assert WRONG not in output and TOKEN not in output
    code, output = _run(["ansible-playbook", "-i", str(source), "/dev/stdin"], provider, tmp_path, WRONG, PLAYBOOK)
    assert code != 0 and "reached" not in output, output
    assert "HTTP 401" in output and WRONG not in output


def test_a_5xx_that_outlives_the_retries_fails_the_inventory(cloud, tmp_path):
    provider, sim, source = cloud
    provider.add_nodes(sim, 1)
    sim.fail_next(503, times=6, retry_after=0)  # 1 + 5 retries, each told to come back at once
    code, output = _inventory(source, provider, tmp_path)
    assert code != 0, output
    assert "HTTP 503, after 6 attempts" in output
    assert sim.request_count == 6


def test_a_failure_on_page_2_fails_the_inventory_instead_of_listing_page_1(cloud, tmp_path):
    provider, sim, source = cloud
    provider.add_nodes(sim, provider.page_size + 1)
    sim.fail_next(500, times=6, retry_after=0, path=provider.path, skip=1)
    code, output = _inventory(source, provider, tmp_path)
    assert code != 0, output
    assert "HTTP 500, after 6 attempts" in output
    assert '"mx000"' not in output  # no partial inventory


def test_a_failure_on_page_2_that_a_retry_cures_lists_every_node(cloud, tmp_path):
    provider, sim, source = cloud
    provider.add_nodes(sim, provider.page_size + 1)
    sim.fail_next(500, times=1, retry_after=0, path=provider.path, skip=1)
    code, output = _inventory(source, provider, tmp_path)
    assert code == 0, output
    assert '"mx%03d"' % provider.page_size in output
