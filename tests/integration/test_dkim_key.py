"""coldrig.infra.dkim_key run through ansible on this machine (the lab node test is in molecule)."""

from __future__ import annotations

import getpass
import grp
import os
import stat

import dkim
import pytest

from tests.integration.helpers import run_module

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
