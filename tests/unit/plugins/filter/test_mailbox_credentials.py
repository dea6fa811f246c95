"""The controller's side of the crash-safe password handoff (playbooks/mailboxes.yml).

The module runs in-process against files under tmp_path (as in tests/unit/plugins/modules/test_mailboxes.py);
the credentials file is a dict here, written at the same points as the play writes it. The lab test of the
real play, killed at each step boundary, is molecule/onboard/check_mailbox_handoff.py.
"""

from __future__ import annotations

import grp
import os
import warnings

import pytest

from ansible_collections.coldrig.infra.plugins.filter.mailbox_credentials import (
    mailbox_credentials, mailbox_password_hashes, mailbox_unknown_passwords)
from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes as mb

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import crypt

DOMAIN = "send.example.test"
STEPS = ("plan", "pending", "apply", "confirm")


@pytest.fixture
def node(tmp_path):
    return {"domain": DOMAIN, "users_dir": str(tmp_path / "users"), "state_dir": str(tmp_path / "state"),
            "mail_root": str(tmp_path / "mail"), "vmail_user": "nobody", "group": grp.getgrgid(os.getgid()).gr_name}


def node_hashes(node) -> dict[str, str]:
    with open(os.path.join(node["users_dir"], DOMAIN), encoding="utf-8") as handle:
        return {line.split(":")[0]: line.split(":")[1][len("{SHA512-CRYPT}"):] for line in handle if not line.startswith("#")}


def handoff(node, credentials, stop_after=None, **options):
    """The play's four steps for one domain; returns the credentials file as it is when the run stops."""
    options = dict(node, **options)
    planned, _warns = mb.run(dict(options, plan=True))
    if stop_after == "plan":
        return credentials
    credentials = {"mailboxes": mailbox_credentials(planned["mailboxes"], credentials.get("mailboxes", []), "plan")}
    if stop_after == "pending":
        return credentials
    applied, _warns = mb.run(dict(options, password_hashes=mailbox_password_hashes(credentials["mailboxes"])))
    assert not any("password" in box for box in applied["mailboxes"])  # the node never sees a password
    if stop_after == "apply":
        return credentials
    held, _warns = mb.run(dict(options, plan=True))
    return {"mailboxes": mailbox_credentials(held["mailboxes"], credentials["mailboxes"], "confirm")}


def assert_every_password_is_known(node, credentials, count):
    hashes = node_hashes(node)
    entries = credentials["mailboxes"]
    assert len(hashes) == count and sorted(e["email"] for e in entries) == sorted(hashes)
    for entry in entries:
        assert entry["password"] and "pending" not in entry
        assert crypt.crypt(entry["password"], hashes[entry["email"]]) == hashes[entry["email"]]


@pytest.mark.parametrize("stop_after", STEPS)
def test_a_kill_after_any_step_and_a_rerun_leave_every_mailbox_with_a_known_password(node, stop_after):
    credentials = handoff(node, {}, mailboxes=5)
    credentials = handoff(node, credentials, stop_after=stop_after, mailboxes=12)  # killed while adding 7
    credentials = handoff(node, credentials, mailboxes=12)
    assert_every_password_is_known(node, credentials, 12)
    assert mailbox_unknown_passwords(credentials["mailboxes"]) == []


@pytest.mark.parametrize("stop_after", STEPS)
def test_a_rotation_killed_after_any_step_keeps_a_password_that_works(node, stop_after):
    credentials = handoff(node, {}, mailboxes=4)
    credentials = handoff(node, credentials, stop_after=stop_after, mailboxes=4, rotate_passwords=True)
    credentials = handoff(node, credentials, mailboxes=4)  # the re-run, without the rotation
    assert_every_password_is_known(node, credentials, 4)


def test_a_second_run_after_a_kill_during_plan_or_pending_can_still_be_killed_and_recovered(node):
    credentials = handoff(node, {}, stop_after="pending", mailboxes=3)
    credentials = handoff(node, credentials, stop_after="apply", mailboxes=3)
    credentials = handoff(node, credentials, stop_after="pending", mailboxes=6)
    credentials = handoff(node, credentials, mailboxes=6)
    assert_every_password_is_known(node, credentials, 6)


def test_an_unchanged_rerun_keeps_the_credentials_file_as_it_is(node):
    credentials = handoff(node, {}, mailboxes=3)
    assert handoff(node, credentials, mailboxes=3) == credentials


def test_a_deleted_credentials_file_names_every_mailbox_and_a_per_mailbox_rotation_recovers_one(node):
    handoff(node, {}, mailboxes=3)
    credentials = handoff(node, {}, mailboxes=3)  # the file was deleted
    lost = mailbox_unknown_passwords(credentials["mailboxes"])
    assert lost == sorted(node_hashes(node)) and all(e["password"] is None for e in credentials["mailboxes"])
    credentials = handoff(node, credentials, mailboxes=3, rotate_mailboxes=[lost[0]])
    assert mailbox_unknown_passwords(credentials["mailboxes"]) == lost[1:]
    first = next(e for e in credentials["mailboxes"] if e["email"] == lost[0])
    assert crypt.crypt(first["password"], node_hashes(node)[lost[0]]) == node_hashes(node)[lost[0]]


def test_plan_makes_a_pending_password_only_for_mailboxes_that_need_one():
    boxes = [{"email": "a@x.test", "local_part": "a", "hash": None, "new_password": True},
             {"email": "b@x.test", "local_part": "b", "hash": crypt.crypt("pw-b", crypt.mksalt(crypt.METHOD_SHA512)),
              "new_password": False}]
    merged = mailbox_credentials(boxes, [{"email": "b@x.test", "password": "pw-b"}], "plan")
    assert merged[0]["password"] is None and len(merged[0]["pending"]) == 24
    assert merged[1] == {"email": "b@x.test", "local_part": "b", "password": "pw-b"}
    hashes = mailbox_password_hashes(merged)
    assert list(hashes) == ["a"] and crypt.crypt(merged[0]["pending"], hashes["a"]) == hashes["a"]


def test_confirm_drops_a_pending_password_the_node_does_not_hold_and_a_mailbox_it_does_not_have():
    hashed = crypt.crypt("old", crypt.mksalt(crypt.METHOD_SHA512))
    boxes = [{"email": "b@x.test", "local_part": "b", "hash": hashed, "new_password": False},
             {"email": "c@x.test", "local_part": "c", "hash": None, "new_password": False}]
    merged = mailbox_credentials(boxes, [{"email": "b@x.test", "password": "old", "pending": "new"},
                                         {"email": "c@x.test", "password": None, "pending": "never-applied"}])
    assert merged == [{"email": "b@x.test", "local_part": "b", "password": "old"}]


def test_a_result_without_hashes_is_an_error_not_a_file_without_passwords():
    with pytest.raises(Exception, match="with plan=true or password_hashes"):
        mailbox_credentials([{"email": "a@x.test", "password": "made-by-the-module"}], [])
