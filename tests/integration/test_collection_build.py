"""The collection as users get it: the tarball of `ansible-galaxy collection build`.

The tarball is installed into an empty collections path and used from a directory that knows
nothing of the checkout (no ansible.cfg with collections_path = ./collections, no
collections/ link), so each test proves something about the shipped collection, not the
checkout. No root, no VMs: the lab inventory reads a hand-written state file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Paths that exist only in the checkout and must stay out of the tarball (galaxy.yml build_ignore).
CHECKOUT_ONLY = (".venv", "collections", "src")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(name="installed", scope="module")
def fixture_installed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build the tarball, install it into an empty collections path, and give the env to use it."""
    tmp = tmp_path_factory.mktemp("collection_build")
    config = tmp / "empty-ansible.cfg"
    config.write_text("")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "COLDRIG_")) and key != "PYTHONPATH"}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_COLLECTIONS_PATH": str(tmp / "collections"),
        # Only the path above: no collections from the Python environment's site-packages.
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
    })
    run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(tmp / "dist")],
        cwd=tmp, env=env)
    tarballs = sorted((tmp / "dist").glob("coldrig-infra-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(tmp / "collections"),
         str(tarballs[0])], cwd=tmp, env=env)
    return {"tmp": tmp, "env": env, "tarball": tarballs[0],
            "collection": tmp / "collections" / "ansible_collections" / "coldrig" / "infra"}


def test_tarball_ships_the_collection_without_checkout_only_paths(installed):
    with tarfile.open(installed["tarball"]) as tarball:
        names = tarball.getnames()
    assert "MANIFEST.json" in names
    assert "plugins/inventory/lab.py" in names
    assert "roles/base/tasks/main.yml" in names
    leaked = [name for name in names
              if name.split("/")[0] in CHECKOUT_ONLY or ".git" in name.split("/")]
    assert not leaked, f"checkout-only paths in {installed['tarball'].name}: {leaked}"


def test_install_puts_the_collection_into_an_empty_collections_path(installed):
    manifest = json.loads((installed["collection"] / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "coldrig"
    assert manifest["collection_info"]["name"] == "infra"
    assert (installed["collection"] / "plugins" / "inventory" / "lab.py").is_file()
    assert not (installed["collection"] / "collections").exists()


def test_installed_lab_inventory_plugin_documents_itself(installed):
    result = run([str(BIN / "ansible-doc"), "-t", "inventory", "coldrig.infra.lab"],
                 cwd=installed["tmp"], env=installed["env"])
    assert "coldrig.infra.lab" in result.stdout
    assert "include_stopped" in result.stdout
    assert "lab_dir" in result.stdout
    # ansible-doc names the file it read: the installed copy, not the checkout.
    assert str(installed["collection"] / "plugins" / "inventory" / "lab.py") in result.stdout


def untagged(value: dict):
    """ansible-inventory --list (ansible-core 2.19) wraps strings that inventory plugins set, which
    are not trusted as templates, as {"__ansible_unsafe": "..."}; the tests compare plain values."""
    return value["__ansible_unsafe"] if value.keys() == {"__ansible_unsafe"} else value


def write_lab(lab_dir: Path) -> None:
    """A lab state file (src/coldrig/lab/state.py, version 1) with one stopped node."""
    lab_dir.mkdir()
    state = {
        "version": 1,
        "domain": "lab.test",
        "created": "2026-11-21T12:00:00Z",
        "lab_id": "feedc0de",
        "ssh": {"user": "root", "private_key": str(lab_dir / "id_ed25519"),
                "known_hosts": str(lab_dir / "known_hosts")},
        "dns": {"server": "127.0.0.1", "port": 10053, "pid": None, "zones": ["lab.test", "100.0.127.in-addr.arpa"],
                "tsig_key_name": "coldrig-lab", "tsig_algorithm": "hmac-sha256",
                "tsig_secret_file": str(lab_dir / "tsig.key")},
        "nodes": {
            "node1": {
                "name": "node1", "fqdn": "Node1.Lab.Test.", "address": "127.0.100.1", "pid": None,
                "accel": "tcg", "memory_mb": 1024, "cpus": 2, "image": "bookworm-0123abcd",
                "overlay": str(lab_dir / "node1" / "overlay.qcow2"),
                "console_log": str(lab_dir / "node1" / "console.log"),
                "ports": {"ssh": 2222, "smtp": 2525, "submissions": 4465, "submission": 5587,
                          "imaps": 9993, "http": 8080},
                "labels": {"coldrig_role": "mta", "coldrig_fleet": "lab"},
                "ready": True, "booted_at": "2026-11-21T12:01:00Z",
            },
        },
    }
    (lab_dir / "state.json").write_text(json.dumps(state, indent=2))


def test_installed_lab_inventory_lists_a_stopped_node_with_normalised_vars(installed):
    tmp = installed["tmp"]
    lab_dir = tmp / "lab"
    write_lab(lab_dir)
    inventory = tmp / "lab.yml"
    inventory.write_text(f"plugin: coldrig.infra.lab\nlab_dir: {lab_dir}\ninclude_stopped: true\n")

    result = run([str(BIN / "ansible-inventory"), "-i", str(inventory), "--list"], cwd=tmp, env=installed["env"])
    listed = json.loads(result.stdout, object_hook=untagged)

    host = listed["_meta"]["hostvars"]["node1"]
    assert {key: host[key] for key in host if key.startswith("coldrig_") and key != "coldrig_lab"} == {
        "coldrig_provider": "lab",
        "coldrig_public_ipv4": "127.0.100.1",
        "coldrig_public_ipv6": None,
        "coldrig_ptr": "node1.lab.test",
        "coldrig_region": "local",
        "coldrig_size": "2vcpu-1024mb",
        "coldrig_labels": {"coldrig_role": "mta", "coldrig_fleet": "lab"},
        "coldrig_admin_ssh_keys": [],  # the lab key's .pub: not in this fake lab
        "coldrig_trusted_networks": ["10.0.2.2/32"],
        "coldrig_lab_dns": {
            "provider": "rfc2136", "server": "127.0.0.1", "port": 10053,
            "tsig_key_name": "coldrig-lab", "tsig_algorithm": "hmac-sha256",
            "tsig_key_file": str(lab_dir / "tsig.key"), "lab_dir": str(lab_dir),
            "zones": ["lab.test", "100.0.127.in-addr.arpa"],
        },
    }
    assert host["ansible_host"] == "127.0.100.1"
    assert host["ansible_port"] == 2222
    assert host["ansible_ssh_private_key_file"] == str(lab_dir / "id_ed25519")
    assert host["coldrig_lab"]["name"] == "node1"
    assert "node1" in listed["coldrig_role_mta"]["hosts"]
    assert "node1" in listed["coldrig_fleet_lab"]["hosts"]
