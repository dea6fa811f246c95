"""coldrig.infra.mailboxes run through ansible on this machine (the lab node test is the postfix role's molecule).

The module's files go to a temporary directory and the vmail user is this process's user, so the
test needs no Dovecot; the unit tests (tests/unit/plugins/modules/test_mailboxes.py) cover the
logic, this one the argument spec, check mode and what ansible shows of a result with passwords.
The last tests run the controller-side steps verify.yml and export.yml on a credentials file with
mailboxes whose password is lost (the kill test of mailboxes.yml is molecule/onboard/check_mailbox_handoff.py).
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
            "mail_root": str(tmp_path / "mail"), "vmail_user": pwd.getpwuid(os.getuid()).pw_name if os.getuid() else "nobody",
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


def run_playbook(playbook, tmp_path, domains, check=False):
    """A step playbook against this machine as the mail node (only controller-side tasks run in these tests)."""
    import json  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    from tests.integration.helpers import BIN, ROOT  # pylint: disable=import-outside-toplevel

    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"coldrig_role_mta": {"hosts": {"node1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "coldrig_ptr": "mail.send.example.test", "coldrig_exports_dir": str(tmp_path / "exports"),
        # every step checks the whole spec and places the domains first (check.yml): a complete spec,
        # and a placement state file of this test's own
        "coldrig_public_ipv4": "192.0.2.10", "coldrig_placement_file": str(tmp_path / "placement.json"),
        "coldrig_dns": {"provider": "rfc2136", "server": "127.0.0.1", "port": 9, "tsig_key_name": "k",
                        "tsig_key_secret": "c2VjcmV0"},
        "coldrig_domains": domains}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_HOME=str(ROOT / ".ansible"), ANSIBLE_NOCOLOR="1",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / playbook)]
    return subprocess.run(command + (["--check"] if check else []), capture_output=True, text=True, check=False,
                          env=env, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)


def credentials_file(tmp_path, boxes):
    import json  # pylint: disable=import-outside-toplevel

    folder = tmp_path / "exports" / DOMAIN
    folder.mkdir(parents=True, mode=0o700)
    path = folder / "mailboxes.json"
    path.write_text(json.dumps({"domain": DOMAIN, "mailboxes": boxes}))
    path.chmod(0o600)


LOST = [{"email": "ann@" + DOMAIN, "local_part": "ann", "password": None},
        {"email": "bob@" + DOMAIN, "local_part": "bob", "password": None, "pending": "never-confirmed-1"}]


def test_verify_names_a_domain_without_a_known_password_instead_of_crashing(tmp_path):
    credentials_file(tmp_path, LOST)
    done = run_playbook("verify.yml", tmp_path, [{"name": DOMAIN, "mailboxes": 2}])
    assert done.returncode != 0
    assert "has no element" not in done.stdout and "holds no mailbox with a known password (ann@%s)" % DOMAIN in done.stdout
    assert "coldrig_rotate_mailboxes" in done.stdout and "never-confirmed-1" not in done.stdout + done.stderr


def test_verify_names_a_missing_credentials_file_instead_of_crashing(tmp_path):
    done = run_playbook("verify.yml", tmp_path, [{"name": DOMAIN, "mailboxes": 2}])
    assert done.returncode != 0 and "the file is missing or empty" in done.stdout, done.stdout[-2000:]


def test_export_leaves_out_and_names_mailboxes_without_a_confirmed_password(tmp_path):
    credentials_file(tmp_path, LOST + [{"email": "cat@" + DOMAIN, "local_part": "cat", "name": "Cat",
                                        "daily_limit": 5, "password": "Known-password-1"}])
    done = run_playbook("export.yml", tmp_path, [{"name": DOMAIN, "mailboxes": 3}])
    assert done.returncode == 0, done.stdout[-3000:]
    rows = (tmp_path / "exports" / DOMAIN / "instantly.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("cat@%s,Known-password-1," % DOMAIN)
    assert stat.S_IMODE(os.stat(tmp_path / "exports" / DOMAIN / "instantly.csv").st_mode) == 0o600
    assert '"coldrig_rotate_mailboxes": ["ann@%s", "bob@%s"]' % (DOMAIN, DOMAIN) in done.stdout.replace("\n        ", " ")
    assert "Known-password-1" not in done.stdout and "never-confirmed-1" not in done.stdout
