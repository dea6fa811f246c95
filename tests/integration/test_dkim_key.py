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


def key_args(path, **extra):
    args = {"domain": "send.example.test", "selector": "s1", "path": str(path),
            "owner": getpass.getuser(), "group": grp.getgrgid(os.getgid()).gr_name}
    args.update(extra)
    return args


def test_new_key_is_private_and_its_txt_verifies_a_real_signature(tmp_path):
    path = tmp_path / "s1.key"
    result = run_module("coldrig.infra.dkim_key", key_args(path))
    assert result["changed"] and result["record_name"] == "s1._domainkey.send.example.test"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result["dns_txt"].startswith("v=DKIM1; k=rsa; p=") and result["key_size"] == 2048
    private = path.read_bytes()
    assert b"PRIVATE KEY" in private
    assert private.decode().split("\n")[1] not in result["_output"]  # never in the output
    signature = dkim.sign(MESSAGE, b"s1", b"send.example.test", private, include_headers=[b"from", b"to", b"subject"])
    txt = result["dns_txt"].encode()
    assert dkim.verify(signature + MESSAGE, dnsfunc=lambda name, timeout=5: txt)


def test_rerun_keeps_the_key_and_changes_nothing(tmp_path):
    path = tmp_path / "s1.key"
    first = run_module("coldrig.infra.dkim_key", key_args(path))
    second = run_module("coldrig.infra.dkim_key", key_args(path))
    assert not second["changed"] and second["fingerprint"] == first["fingerprint"]


def test_rotate_makes_a_new_key(tmp_path):
    path = tmp_path / "s1.key"
    first = run_module("coldrig.infra.dkim_key", key_args(path))
    rotated = run_module("coldrig.infra.dkim_key", key_args(path, rotate=True))
    assert rotated["changed"] and rotated["fingerprint"] != first["fingerprint"]


def test_loose_file_mode_is_put_back_to_0600(tmp_path):
    path = tmp_path / "s1.key"
    run_module("coldrig.infra.dkim_key", key_args(path))
    os.chmod(path, 0o644)
    result = run_module("coldrig.infra.dkim_key", key_args(path))
    assert result["changed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_corrupt_key_is_an_error_not_an_overwrite(tmp_path):
    path = tmp_path / "s1.key"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    result = run_module("coldrig.infra.dkim_key", key_args(path))
    assert result["failed"] and result["msg"].startswith("path: ") and "rotate: true" in result["msg"]
    assert "not a key" in path.read_text()


def test_key_of_another_size_is_an_error_naming_both(tmp_path):
    path = tmp_path / "s1.key"
    run_module("coldrig.infra.dkim_key", key_args(path, size=1024))
    result = run_module("coldrig.infra.dkim_key", key_args(path, size=2048))
    assert result["failed"] and "rsa 1024" in result["msg"] and "rsa 2048" in result["msg"]


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "s1.key"
    result = run_module("coldrig.infra.dkim_key", key_args(path), check=True)
    assert result["changed"] and not path.exists()


def test_ed25519_key_publishes_the_raw_public_key(tmp_path):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path / "e1.key", selector="e1", type="ed25519"))
    assert result["dns_txt"].startswith("v=DKIM1; k=ed25519; p=")
    assert len(result["public_key"]) == 44  # 32 bytes, base64


@pytest.mark.parametrize("field,value", [("domain", "not a domain"), ("selector", "bad selector!")])
def test_bad_names_fail_naming_the_field(tmp_path, field, value):
    result = run_module("coldrig.infra.dkim_key", key_args(tmp_path / "k", **{field: value}))
    assert result["failed"] and result["msg"].startswith(f"{field}: ")
    assert not (tmp_path / "k").exists()


def test_absent_removes_the_key(tmp_path):
    path = tmp_path / "s1.key"
    run_module("coldrig.infra.dkim_key", key_args(path))
    result = run_module("coldrig.infra.dkim_key", key_args(path, state="absent"))
    assert result["changed"] and not path.exists()
