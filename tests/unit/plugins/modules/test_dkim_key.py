"""coldrig.infra.dkim_key in this process, against a temporary key directory: keys and the rotation state machine."""
from __future__ import annotations

import getpass
import grp
import json
import os
import stat

import pytest

from ansible_collections.coldrig.infra.plugins.modules import dkim_key as module

DOMAIN = "send.example.test"
DAY = 86400.0
START = 1_780_000_000.0  # a fixed clock, moved by the tests


@pytest.fixture
def clock(monkeypatch):
    now = {"t": START}
    monkeypatch.setattr(module, "current_time", lambda: now["t"])
    return now


@pytest.fixture
def dkim(tmp_path, run_module, clock):
    """``dkim(**args)`` runs the module on tmp_path with the test user as owner; the key size is small for speed."""
    def run(check=False, diff=False, **extra):
        args = {"domain": DOMAIN, "selector": "s1", "key_dir": str(tmp_path), "size": 1024,
                "owner": getpass.getuser(), "group": grp.getgrgid(os.getgid()).gr_name}
        args.update(extra)
        return run_module(module, args, check=check, diff=diff)
    return run


def state(tmp_path):
    return json.loads((tmp_path / "coldrig-dkim.json").read_text())["domains"][DOMAIN]


def files(tmp_path):
    return {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}


def statuses(result):
    return {name: info["status"] for name, info in result["selectors"].items()}


def rotate_and_confirm(dkim, **extra):
    """One run of the role's sequence: ask, publish, confirm what answers and what was removed."""
    first = dkim(**extra)
    second = dkim(answering=[p["selector"] for p in first["publish"]], removed=[e["selector"] for e in first["expired"]],
                  **extra)
    return first, second


# ------------------------------------------------------------------ first key, re-runs
def test_first_run_makes_a_private_signing_key_and_the_state_file(dkim, tmp_path):
    result = dkim()
    assert result["changed"] and result["selector"] == "s1" and result["pending"] is None
    key = tmp_path / f"{DOMAIN}.s1.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert result["record_name"] == f"s1._domainkey.{DOMAIN}" and result["dns_txt"].startswith("v=DKIM1; k=rsa; p=")
    assert [p["selector"] for p in result["publish"]] == ["s1"] and result["expired"] == []
    assert state(tmp_path)["selectors"]["s1"]["status"] == "signing"
    assert key.read_text().split("\n")[1] not in json.dumps(result)  # the private key is never in the result


def test_rerun_changes_nothing_and_writes_nothing(dkim, tmp_path):
    first = dkim()
    before = files(tmp_path)
    again = dkim()
    assert not again["changed"] and again["fingerprint"] == first["fingerprint"]
    assert files(tmp_path) == before


def test_check_mode_writes_nothing(dkim, tmp_path):
    result = dkim(check=True)
    assert result["changed"] and result["selector"] == "s1"
    assert list(tmp_path.iterdir()) == []


def test_key_of_the_old_layout_is_adopted_not_replaced(dkim, tmp_path):
    first = dkim()
    (tmp_path / "coldrig-dkim.json").unlink()  # a node set up before the state file existed
    adopted = dkim()
    assert adopted["fingerprint"] == first["fingerprint"] and adopted["selector"] == "s1"
    assert state(tmp_path)["selectors"]["s1"]["adopted"] is True


def test_loose_key_mode_is_put_back_to_0600(dkim, tmp_path):
    dkim()
    key = tmp_path / f"{DOMAIN}.s1.key"
    os.chmod(key, 0o644)
    assert dkim()["changed"] and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_corrupt_key_is_an_error_and_is_never_overwritten(dkim, tmp_path):
    key = tmp_path / f"{DOMAIN}.s1.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    result = dkim(rotate=True)
    assert result["failed"] and result["msg"].startswith("key_dir: ") and "never overwrites" in result["msg"]
    assert "not a key" in key.read_text()


def test_missing_signing_key_fails_naming_the_file(dkim, tmp_path):
    dkim()
    (tmp_path / f"{DOMAIN}.s1.key").unlink()
    result = dkim()
    assert result["failed"] and f"{DOMAIN}.s1.key is missing" in result["msg"] and "state=absent" in result["msg"]


def test_key_of_another_size_is_an_error_naming_both_and_the_fix(dkim):
    dkim(size=1024)
    result = dkim(size=2048)
    assert result["failed"] and result["msg"].startswith("type: ")
    assert "rsa 1024" in result["msg"] and "rsa 2048" in result["msg"] and "rotate: true" in result["msg"]


@pytest.mark.parametrize("field,value,words", [
    ("selector", "bad selector!", "a label holds only"),
    ("selector", "S1", "lower case"),
    ("selector", "s1..x", "empty label"),
    ("domain", "not a domain", "has no dot"),
])
def test_bad_names_fail_naming_the_field_with_the_shared_validator(dkim, tmp_path, field, value, words):
    result = dkim(**{field: value})
    assert result["failed"] and result["msg"].startswith(f"{field}: {value!r} ") and words in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_absent_removes_every_key_of_the_domain_and_its_state(dkim, tmp_path):
    rotate_and_confirm(dkim)
    dkim(rotate=True)
    result = dkim(state="absent")
    assert result["changed"] and len(result["removed_files"]) == 2
    assert not list(tmp_path.glob("*.key"))
    assert DOMAIN not in json.loads((tmp_path / "coldrig-dkim.json").read_text())["domains"]


# ------------------------------------------------------------------ rotation
def test_rotate_publishes_a_new_selector_beside_the_old_one_and_the_old_one_keeps_signing(dkim, tmp_path):
    first = dkim()
    rotated = dkim(rotate=True)
    assert rotated["changed"] and rotated["pending"] == "s2"
    assert rotated["selector"] == "s1" and rotated["fingerprint"] == first["fingerprint"]
    assert [(p["selector"], p["status"]) for p in rotated["publish"]] == [("s2", "pending"), ("s1", "signing")]
    assert rotated["publish"][0]["record"] == {"type": "TXT", "name": f"s2._domainkey.{DOMAIN}",
                                               "content": rotated["publish"][0]["dns_txt"]}
    assert (tmp_path / f"{DOMAIN}.s1.key").exists() and (tmp_path / f"{DOMAIN}.s2.key").exists()


def test_new_key_signs_only_once_its_record_answers(dkim):
    dkim()
    dkim(rotate=True)
    not_yet = dkim(rotate=True, answering=["s1"])  # s2's record does not answer yet
    assert not_yet["selector"] == "s1" and not_yet["pending"] == "s2" and not not_yet["changed"]
    answered = dkim(rotate=True, answering=["s1", "s2"])
    assert answered["changed"] and answered["selector"] == "s2" and answered["pending"] is None
    assert statuses(answered) == {"s1": "retiring", "s2": "signing"}
    assert [p["selector"] for p in answered["publish"]] == ["s2", "s1"]  # the old record stays for the grace


def test_rerun_of_the_same_rotation_request_makes_no_new_key(dkim, tmp_path):
    dkim()
    rotate_and_confirm(dkim, rotate=True)
    keys = sorted(p.name for p in tmp_path.glob("*.key"))
    before = files(tmp_path)
    for _run in range(2):
        first, second = rotate_and_confirm(dkim, rotate=True)
        assert not first["changed"] and not second["changed"] and second["selector"] == "s2"
    assert sorted(p.name for p in tmp_path.glob("*.key")) == keys == [f"{DOMAIN}.s1.key", f"{DOMAIN}.s2.key"]
    assert files(tmp_path) == before


def test_rotate_on_a_new_domain_makes_one_key_only(dkim, tmp_path):
    first, second = rotate_and_confirm(dkim, rotate=True)
    again, _confirmed = rotate_and_confirm(dkim, rotate=True)
    assert second["selector"] == "s1" and again["pending"] is None
    assert [p.name for p in tmp_path.glob("*.key")] == [f"{DOMAIN}.s1.key"]


def test_old_selector_retires_only_after_the_grace_and_after_its_record_is_removed(dkim, tmp_path, clock):
    dkim()
    rotate_and_confirm(dkim, rotate=True, grace_days=7)
    clock["t"] += 6 * DAY
    during = dkim(grace_days=7, answering=["s1", "s2"], removed=["s1"])  # within the grace: nothing retires
    assert during["expired"] == [] and statuses(during)["s1"] == "retiring" and (tmp_path / f"{DOMAIN}.s1.key").exists()
    clock["t"] += 1 * DAY + 1
    after = dkim(grace_days=7)
    assert [e["selector"] for e in after["expired"]] == ["s1"] and [p["selector"] for p in after["publish"]] == ["s2"]
    assert after["expired"][0]["record"] == {"type": "TXT", "name": f"s1._domainkey.{DOMAIN}"}
    assert (tmp_path / f"{DOMAIN}.s1.key").exists()  # its record is not confirmed gone yet
    retired = dkim(grace_days=7, answering=["s2"], removed=["s1"])
    assert retired["changed"] and statuses(retired) == {"s1": "retired", "s2": "signing"}
    assert not (tmp_path / f"{DOMAIN}.s1.key").exists() and retired["expired"] == []
    info = state(tmp_path)["selectors"]["s1"]
    assert info["retired"] and info["signing_until"] and info["retire_after"] and info["created"]


def test_grace_zero_expires_the_old_selector_on_the_next_run(dkim, tmp_path):
    dkim()
    _first, promoted = rotate_and_confirm(dkim, rotate=True, grace_days=0)
    assert statuses(promoted) == {"s1": "retiring", "s2": "signing"} and (tmp_path / f"{DOMAIN}.s1.key").exists()
    first, second = rotate_and_confirm(dkim, rotate=True, grace_days=0)
    assert [e["selector"] for e in first["expired"]] == ["s1"]
    assert statuses(second) == {"s1": "retired", "s2": "signing"} and not (tmp_path / f"{DOMAIN}.s1.key").exists()
    third, fourth = rotate_and_confirm(dkim, rotate=True, grace_days=0)  # the same request, after the rotation
    assert not third["changed"] and not fourth["changed"] and fourth["selector"] == "s2"


def test_a_run_without_rotate_ends_the_request_so_the_next_request_rotates_once_more(dkim, tmp_path):
    dkim()
    rotate_and_confirm(dkim, rotate=True)
    rotate_and_confirm(dkim)
    first, second = rotate_and_confirm(dkim, rotate=True)
    assert first["pending"] == "s3" and second["selector"] == "s3"
    assert statuses(second) == {"s1": "retiring", "s2": "retiring", "s3": "signing"}


def test_rotation_asked_while_one_is_pending_makes_no_second_key(dkim, tmp_path):
    dkim()
    dkim(rotate=True)
    dkim()  # ends the request; s2 still pending (its record never answered)
    again = dkim(rotate=True)
    assert again["pending"] == "s2" and sorted(statuses(again)) == ["s1", "s2"]


def test_a_selector_the_state_does_not_know_is_a_safe_rotation_to_it(dkim):
    dkim()
    switched = dkim(selector="s2026")
    assert switched["pending"] == "s2026" and switched["selector"] == "s1"
    done = dkim(selector="s2026", answering=["s1", "s2026"])
    assert done["selector"] == "s2026" and statuses(done) == {"s1": "retiring", "s2026": "signing"}
    back = dkim(selector="s1")  # a selector the state knows changes nothing
    assert not back["changed"] and back["selector"] == "s2026"


def test_rotate_replaces_a_key_of_another_size_through_a_new_selector(dkim):
    dkim(size=1024)
    rotated = dkim(size=2048, rotate=True)
    assert rotated["pending"] == "s2" and rotated["publish"][0]["key_size"] == 2048 and rotated["key_size"] == 1024


def test_check_mode_of_a_rotation_writes_nothing(dkim, tmp_path):
    dkim()
    before = files(tmp_path)
    result = dkim(rotate=True, check=True, diff=True)
    assert result["changed"] and result["pending"] == "s2" and files(tmp_path) == before
    assert "s2._domainkey.%s pending" % DOMAIN in result["diff"]["after"]


def test_state_of_other_domains_is_kept(dkim, tmp_path):
    dkim()
    dkim(domain="other.example.test")
    domains = json.loads((tmp_path / "coldrig-dkim.json").read_text())["domains"]
    assert sorted(domains) == ["other.example.test", DOMAIN]


@pytest.mark.parametrize("selector,known,expected", [
    ("s1", {"s1"}, "s2"),
    ("s2026", {"s2026"}, "s2027"),
    ("k09", {"k09"}, "k10"),
    ("mail", {"mail"}, "mail2"),
    ("s1", {"s1", "s2", "s3"}, "s4"),
    ("a.s9", {"a.s9"}, "a.s10"),
])
def test_next_selector_is_deterministic(selector, known, expected):
    assert module.next_selector(selector, known) == expected
