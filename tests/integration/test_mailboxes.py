"""coldrig.infra.mailboxes run through ansible on this machine (the lab node test is the postfix role's molecule).

The module's files go to a temporary directory and the vmail user is this process's user, so the
test needs no Dovecot; the unit tests (tests/unit/plugins/modules/test_mailboxes.py) cover the
logic, this one the argument spec, check mode and what ansible shows of a result with passwords.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import warnings

from tests.integration.helpers import run_module

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import crypt

DOMAIN = "send.example.test"


def box_args(tmp_path, **extra):
    args = {"domain": DOMAIN, "users_dir": str(tmp_path / "users"), "state_dir": str(tmp_path / "state"),
            "mail_root": str(tmp_path / "mail"), "vmail_user": pwd.getpwuid(os.getuid()).pw_name,
            "group": grp.getgrgid(os.getgid()).gr_name}
    args.update(extra)
    return args


def stored_hashes(tmp_path):
    lines = (tmp_path / "users" / DOMAIN).read_text().splitlines()
    return {line.split(":")[0]: line.split(":")[1].replace("{SHA512-CRYPT}", "") for line in lines[1:]}


def test_check_mode_then_a_real_run_then_an_unchanged_rerun(tmp_path):
    checked = run_module("coldrig.infra.mailboxes", box_args(tmp_path, mailboxes=5, daily_limit=30), check=True, diff=True)
    assert not checked["failed"] and checked["changed"] and len(checked["added"]) == 5
    assert not any("password" in box for box in checked["mailboxes"]) and not os.listdir(tmp_path)
    # the callback prints the module's diff: the addresses before -> after, nothing secret
    diff = checked["_output"].split("localhost | CHANGED")[0]
    assert "+++ after: %s" % (tmp_path / "users" / DOMAIN) in diff
    assert sorted(line[1:] for line in diff.splitlines() if line.startswith("+") and "@" in line) == checked["added"]

    made = run_module("coldrig.infra.mailboxes", box_args(tmp_path, mailboxes=5, daily_limit=30))
    assert not made["failed"] and made["changed"] and len(made["added"]) == 5 and made["surplus"] == 0
    hashes = stored_hashes(tmp_path)
    for box in made["mailboxes"]:
        assert box["created"] and box["daily_limit"] == 30 and box["quota"] == "1G"
        assert crypt.crypt(box["password"], hashes[box["email"]]) == hashes[box["email"]]
    assert stat.S_IMODE(os.stat(tmp_path / "users" / DOMAIN).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "state" / (DOMAIN + ".json")).st_mode) == 0o600
    # An ad-hoc task is not no_log: the module says so.
    assert "run the task with no_log: true" in made["_output"]

    again = run_module("coldrig.infra.mailboxes", box_args(tmp_path, mailboxes=5, daily_limit=30))
    assert not again["failed"] and not again["changed"] and again["added"] == []
    assert not any("password" in box for box in again["mailboxes"])
    assert stored_hashes(tmp_path) == hashes


def test_with_no_log_ansible_shows_no_password(tmp_path):
    run_module("coldrig.infra.mailboxes", box_args(tmp_path, mailboxes=2))
    before = stored_hashes(tmp_path)
    rotated = run_module("coldrig.infra.mailboxes", box_args(tmp_path, mailboxes=2, rotate_passwords=True),
                         env={"ANSIBLE_NO_LOG": "1"})  # as a task with no_log: true
    assert not rotated["failed"] and "censored" in rotated["_output"]
    after = stored_hashes(tmp_path)
    assert set(after) == set(before) and all(after[email] != before[email] for email in before)
    assert '"password"' not in rotated["_output"] and "$6$" not in rotated["_output"]
    assert "run the task with no_log" not in rotated["_output"]


def test_a_bad_item_fails_naming_its_index_and_field(tmp_path):
    failed = run_module("coldrig.infra.mailboxes",
                        box_args(tmp_path, mailboxes=[{"local_part": "ann", "name": "Ann"}, {"local_part": "b:ob"}]))
    assert failed["failed"]
    assert failed["msg"].startswith("mailboxes[1].local_part: 'b:ob' has ':': only lower-case")
    assert not os.listdir(tmp_path)
