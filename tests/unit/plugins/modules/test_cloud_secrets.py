"""No API token in anything a real ansible-playbook run prints: the server and rdns modules (argument-spec
errors, API errors, a token from the environment) and the cloud inventories, at -vvv, against the simulators."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.digitalocean_sim import DigitalOceanSimulator
from tests.support.hcloud_sim import HcloudSimulator

ROOT = Path(__file__).resolve().parents[4]
GOOD = "coldrig-GOOD-secret-Kx4Vb7Nm2Qw9Er5Ty1"
WRONG = "coldrig-WRONG-secret-Pz8Lk3Jh6Gf1Ds4Aq7"
ENV_TOKEN = {"hcloud": "HCLOUD_TOKEN", "digitalocean": "DIGITALOCEAN_TOKEN"}
SIMULATOR = {"hcloud": HcloudSimulator, "digitalocean": DigitalOceanSimulator}

# Each task fails (ignore_errors), each in its own way; `secret` is a variable given with -e.
TASKS = """
- hosts: localhost
  gather_facts: false
  vars:
    common: &common
      provider: {provider}
      api_endpoint: {endpoint}
  tasks:
    - name: a value of the wrong type
      coldrig.infra.server: {{<<: *common, name: mx1.example.test, api_token: "{{{{ secret }}}}", wait_timeout: soon}}
      ignore_errors: true
    - name: an option the module does not have
      coldrig.infra.server: {{<<: *common, name: mx1.example.test, api_token: "{{{{ secret }}}}", colour: blue}}
      ignore_errors: true
    - name: a value that is not one of the choices
      coldrig.infra.rdns: {{provider: nowhere, name: mx1.example.test, ptr: mx1.example.test, api_token: "{{{{ secret }}}}"}}
      ignore_errors: true
    - name: the token where a dict belongs
      coldrig.infra.server: {{<<: *common, name: mx1.example.test, api_token: "{{{{ secret }}}}", labels: "{{{{ secret }}}}"}}
      ignore_errors: true
    - name: the token inside a name the module refuses
      coldrig.infra.server: {{<<: *common, name: "{{{{ secret }}}}_x", api_token: "{{{{ secret }}}}"}}
      ignore_errors: true
    - name: a token the API refuses (401)
      coldrig.infra.server: {{<<: *common, name: mx1.example.test, api_token: "{{{{ secret }}}}", server_type: x, image: y}}
      ignore_errors: true
    - name: a token with a stray newline
      coldrig.infra.rdns: {{<<: *common, name: mx1.example.test, ptr: mx1.example.test, api_token: "{{{{ secret }}}}\\n"}}
      ignore_errors: true
    - name: the token from the environment, inside a name the module refuses
      coldrig.infra.rdns: {{<<: *common, name: "{{{{ lookup('env', '{env}') }}}}_x", ptr: mx1.example.test}}
      ignore_errors: true
    - name: the token from the environment, refused by the API
      coldrig.infra.rdns: {{<<: *common, name: mx1.example.test, ptr: mx1.example.test}}
      ignore_errors: true
"""


def _run(command, tmp_path, env_token):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "ansible-home"),
               ANSIBLE_NOCOLOR="1")
    for names in ("HCLOUD_TOKEN", "DIGITALOCEAN_TOKEN", "DO_API_TOKEN", "DO_API_KEY", "DO_OAUTH_TOKEN",
                  "DIGITALOCEAN_ACCESS_TOKEN"):
        env.pop(names, None)
    env.update(env_token)
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    return result.stdout, result.stderr


@pytest.mark.parametrize("provider", ["hcloud", "digitalocean"])
def test_no_token_appears_in_the_output_of_a_failing_cloud_playbook(provider, tmp_path):
    with SIMULATOR[provider](tokens=[GOOD]) as sim:
        playbook = tmp_path / "play.yml"
        playbook.write_text(TASKS.format(provider=provider, endpoint=sim.base_url, env=ENV_TOKEN[provider]))
        stdout, stderr = _run(["ansible-playbook", "-vvv", str(playbook), "-e", "secret=" + WRONG], tmp_path,
                              {ENV_TOKEN[provider]: WRONG})
    output = stdout + stderr
    assert "ignored=9" in output, output  # every task ran, and failed
    assert "API token is wrong or lacks access" in output  # the 401 was reached and reported
    assert "is not a fully qualified domain name" in output  # so was the name check
    for secret in (WRONG, GOOD):
        assert secret not in output
        assert secret[:16] not in output  # not even a truncated echo


@pytest.mark.parametrize("provider", ["hcloud", "digitalocean"])
def test_no_token_appears_in_the_output_of_a_failing_cloud_inventory(provider, tmp_path):
    with SIMULATOR[provider](tokens=[GOOD]) as sim:
        source = tmp_path / ("test.%s.yml" % provider)
        source.write_text("plugin: coldrig.infra.%s\napi_endpoint: %s\n" % (provider, sim.base_url))
        stdout, stderr = _run(["ansible-inventory", "-vvv", "-i", str(source), "--list"], tmp_path,
                              {ENV_TOKEN[provider]: WRONG})
    output = stdout + stderr
    assert "HTTP 401" in output, output
    assert WRONG not in output and WRONG[:16] not in output
