"""coldrig.infra.dkim_key run through ansible on this machine, and a key rotation by the mail_dns role with this
machine as the node and the lab's real Knot DNS server (OpenDKIM signing on a lab node is in molecule/onboard)."""

from __future__ import annotations

import getpass
import grp
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import dkim
import dns.message
import dns.query
import pytest

from tests.integration.helpers import BIN, ansible_env, lab_root, run_module

MESSAGE = (b"From: Alice <alice@send.example.test>\r\nTo: bob@example.org\r\n"
           b"Subject: hello\r\nDate: Sat, 21 Nov 2026 12:00:00 +0000\r\n\r\nHello Bob.\r\n")


def key_args(key_dir, **extra):
    args = {"domain": "send.example.test", "selector": "s1", "key_dir": str(key_dir),
            "owner": getpass.getuser(), "group": grp.getgrgid(os.getgid()).gr_name}
    args.update(extra)
    return args


def signed_by(key_dir, selector):
    private = (key_dir / f"send.example.test.{selector}.key").read_bytes()
    return dkim.sign(MESSAGE, selector.encode(), b"send.example.test", private,
                     include_headers=[b"from", b"to", b"subject"]) + MESSAGE


def verifies(message, records):
    """dkimpy's verdict with the DNS answering ``records`` ({record name: TXT value}) only."""
    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode() or None
    return dkim.verify(message, dnsfunc=dnsfunc)


def test_new_key_is_private_and_its_txt_verifies_a_real_signature(tmp_path):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path))
    path = tmp_path / "send.example.test.s1.key"
    assert result["changed"] and result["record_name"] == "s1._domainkey.send.example.test"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result["dns_txt"].startswith("v=DKIM1; k=rsa; p=") and result["key_size"] == 2048
    private = path.read_bytes()
    assert b"PRIVATE KEY" in private
    assert private.decode().split("\n")[1] not in result["_output"]  # never in the output
    assert verifies(signed_by(tmp_path, "s1"), {result["record_name"]: result["dns_txt"]})


def test_rerun_keeps_the_key_and_changes_nothing(tmp_path):
    first = run_module("coldrig.infra.dkim_key", key_args(tmp_path))
    second = run_module("coldrig.infra.dkim_key", key_args(tmp_path))
    assert not second["changed"] and second["fingerprint"] == first["fingerprint"]


def test_mail_signed_before_and_after_a_rotation_verifies_with_the_published_records(tmp_path):
    run_module("coldrig.infra.dkim_key", key_args(tmp_path))
    in_flight = signed_by(tmp_path, "s1")  # queued before the rotation
    asked = run_module("coldrig.infra.dkim_key", key_args(tmp_path, rotate=True, grace_days=0))
    assert asked["pending"] == "s2" and asked["selector"] == "s1"
    published = {p["record_name"]: p["dns_txt"] for p in asked["publish"]}
    assert sorted(published) == ["s1._domainkey.send.example.test", "s2._domainkey.send.example.test"]
    done = run_module("coldrig.infra.dkim_key", key_args(tmp_path, rotate=True, grace_days=0,
                                                         answering=["s1", "s2"]))
    assert done["selector"] == "s2" and done["changed"]
    assert verifies(in_flight, published) and verifies(signed_by(tmp_path, "s2"), published)
    expired = run_module("coldrig.infra.dkim_key", key_args(tmp_path, rotate=True, grace_days=0))
    assert [e["selector"] for e in expired["expired"]] == ["s1"] and not expired["changed"]
    retired = run_module("coldrig.infra.dkim_key", key_args(tmp_path, rotate=True, grace_days=0, removed=["s1"]))
    assert retired["changed"] and retired["selectors"]["s1"]["status"] == "retired"
    assert not (tmp_path / "send.example.test.s1.key").exists()
    assert "PRIVATE KEY" not in retired["_output"]


def test_check_mode_writes_nothing(tmp_path):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path), check=True)
    assert result["changed"] and list(tmp_path.iterdir()) == []


def test_ed25519_key_publishes_the_raw_public_key(tmp_path):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path, selector="e1", type="ed25519"))
    assert result["dns_txt"].startswith("v=DKIM1; k=ed25519; p=")
    assert len(result["public_key"]) == 44  # 32 bytes, base64


@pytest.mark.parametrize("field,value", [("domain", "not a domain"), ("selector", "bad selector!")])
def test_bad_names_fail_naming_the_field(tmp_path, field, value):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path, **{field: value}))
    assert result["failed"] and result["msg"].startswith(f"{field}: ")
    assert list(tmp_path.iterdir()) == []


def test_absent_removes_the_key(tmp_path):
    run_module("coldrig.infra.dkim_key", key_args(tmp_path))
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path, state="absent"))
    assert result["changed"] and not (tmp_path / "send.example.test.s1.key").exists()


# ---------------------------------------------------------------- the mail_dns role and the lab's Knot DNS
ZONE = "send.example.test"


@pytest.fixture(scope="module")
def knot():
    from coldrig.lab.dns import DnsServer  # pylint: disable=import-outside-toplevel

    lab_dir = lab_root() / "dkim-rotation"
    shutil.rmtree(lab_dir, ignore_errors=True)
    server = DnsServer(lab_dir, "lab.coldrig.test")
    port = server.start(None, ["lab.coldrig.test", ZONE])
    yield {"port": port, "secret_file": str(server.secret_file), "lab_dir": lab_dir}
    server.stop()
    shutil.rmtree(lab_dir, ignore_errors=True)


def txt(knot, name):
    """The DKIM1 TXT value at ``name``, as the Knot server answers it (None when nothing answers)."""
    response = dns.query.tcp(dns.message.make_query(name, "TXT"), "127.0.0.1", port=knot["port"], timeout=3)
    values = [b"".join(rdata.strings).decode() for rrset in response.answer for rdata in rrset]
    found = [value for value in values if value.startswith("v=DKIM1")]
    return found[0] if found else None


def run_mail_dns(knot, key_dir, **extra):
    """The mail_dns role (playbooks/dns.yml's DKIM and DNS part) on this machine as the node; returns its recap."""
    spec = {
        "coldrig_domains": [{"name": ZONE}],
        "coldrig_dns": {"provider": "rfc2136", "server": "127.0.0.1", "port": knot["port"],
                        "tsig_key_name": "coldrig-lab", "tsig_key_file": knot["secret_file"]},
        "coldrig_ptr": f"mail.{ZONE}", "coldrig_public_ipv4": "192.0.2.10",
        "coldrig_dkim_key_dir": str(key_dir), "mail_dns_packages": [], "mail_dns_dkim_size": 1024,
        "mail_dns_dkim_owner": getpass.getuser(), "mail_dns_dkim_group": grp.getgrgid(os.getgid()).gr_name,
        "mail_dns_verify_timeout": 30,
    }
    spec.update(extra)
    playbook = key_dir.parent / "dns.yml"
    playbook.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n"
                        "  roles: [coldrig.infra.mail_dns]\n")
    variables = key_dir.parent / "vars.json"
    variables.write_text(json.dumps(spec))
    env = ansible_env(knot["lab_dir"])
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", f"@{variables}", str(playbook)],
                            capture_output=True, text=True, env=env, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", result.stdout)
    return {"changed": int(recap.group(2)), "output": result.stdout}


def selectors(key_dir):
    state = json.loads((key_dir / "coldrig-dkim.json").read_text())["domains"][ZONE]["selectors"]
    return {name: info["status"] for name, info in state.items()}


def test_rotation_through_the_role_publishes_both_selectors_then_retires_the_old_one_at_the_real_dns(knot, tmp_path):
    key_dir = tmp_path / "dkimkeys"
    key_dir.mkdir()
    run_mail_dns(knot, key_dir)
    s1 = txt(knot, f"s1._domainkey.{ZONE}")
    assert s1 and selectors(key_dir) == {"s1": "signing"}
    in_flight = signed_by_key(key_dir, "s1")  # mail queued before the rotation

    run_mail_dns(knot, key_dir, coldrig_dkim_rotate=True, coldrig_dkim_grace_days=0)
    assert selectors(key_dir) == {"s1": "retiring", "s2": "signing"}  # s2 signs: its record answered
    published = {f"s1._domainkey.{ZONE}": txt(knot, f"s1._domainkey.{ZONE}"),
                 f"s2._domainkey.{ZONE}": txt(knot, f"s2._domainkey.{ZONE}")}
    assert published[f"s1._domainkey.{ZONE}"] == s1 and published[f"s2._domainkey.{ZONE}"]
    assert verifies(in_flight, published) and verifies(signed_by_key(key_dir, "s2"), published)

    again = run_mail_dns(knot, key_dir, coldrig_dkim_rotate=True, coldrig_dkim_grace_days=0)  # the same request
    assert selectors(key_dir) == {"s1": "retired", "s2": "signing"} and again["changed"] > 0
    assert txt(knot, f"s1._domainkey.{ZONE}") is None and txt(knot, f"s2._domainkey.{ZONE}")
    assert sorted(p.name for p in key_dir.glob("*.key")) == [f"{ZONE}.s2.key"]

    settled = run_mail_dns(knot, key_dir, coldrig_dkim_rotate=True, coldrig_dkim_grace_days=0)
    assert settled["changed"] == 0, settled["output"][-4000:]
    assert selectors(key_dir) == {"s1": "retired", "s2": "signing"}


def signed_by_key(key_dir, selector):
    private = (key_dir / f"{ZONE}.{selector}.key").read_bytes()
    return dkim.sign(MESSAGE, selector.encode(), ZONE.encode(), private, include_headers=[b"from", b"to", b"subject"])\
        + MESSAGE
