"""coldrig.infra.mailboxes in this process, on files in a temporary directory instead of the node's."""
from __future__ import annotations

import grp
import json
import os
import pwd
import random
import re
import stat
import subprocess
import warnings

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.coldrig.infra.plugins.module_utils import mailbox_names as names
from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes as mb
from ansible_collections.coldrig.infra.plugins.modules import mailboxes as module

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import crypt  # the test's own check of the hashes (Python 3.11)

DOMAIN = "send.example.test"
FIRST, LAST = set(names.FIRST_NAMES), set(names.LAST_NAMES)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """ansible keeps a module's warnings in a global; each in-process run must start without earlier ones."""
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})


@pytest.fixture
def node(tmp_path):
    """Options that put every file of the module under tmp_path, in this process's group.

    The vmail user only gives the uid and gid of the lines (the module chowns nothing to it), so
    ``nobody`` stands in for it: Dovecot refuses uid 0.
    """
    return {"domain": DOMAIN, "users_dir": str(tmp_path / "etc" / "users"), "state_dir": str(tmp_path / "state"),
            "mail_root": str(tmp_path / "mail"), "vmail_user": "nobody", "group": grp.getgrgid(os.getgid()).gr_name}


def run(node, check_mode=False, **options):
    return mb.run(dict(node, **options), check_mode=check_mode)


def users_path(node):
    return os.path.join(node["users_dir"], DOMAIN)


def state_path(node):
    return os.path.join(node["state_dir"], DOMAIN + ".json")


def hashes(node) -> dict[str, str]:
    """address -> SHA512-CRYPT hash, read from the users file."""
    found = {}
    with open(users_path(node), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split(":", 7)
            assert fields[1].startswith("{SHA512-CRYPT}$6$")
            found[fields[0]] = fields[1][len("{SHA512-CRYPT}"):]
    return found


def passwords(result) -> dict[str, str]:
    return {box["email"]: box["password"] for box in result["mailboxes"] if "password" in box}


def strong(password: str, length: int = 24) -> bool:
    return (len(password) == length and re.fullmatch(r"[A-Za-z0-9]+", password) is not None
            and any(c.isupper() for c in password) and any(c.islower() for c in password)
            and any(c.isdigit() for c in password))


def snapshot(node) -> dict[str, tuple]:
    """Bytes, inode and mtime of both files: an unchanged run must not even rename a new copy in."""
    out = {}
    for path in (users_path(node), state_path(node)):
        st = os.stat(path)
        with open(path, "rb") as handle:
            out[path] = (handle.read(), st.st_ino, st.st_mtime_ns)
    return out


# ------------------------------------------------------------ creating
def test_fifty_mailboxes_get_unique_realistic_names_and_strong_passwords(node):
    result, warns = run(node, mailboxes=50)
    assert result["changed"] and not warns and result["surplus"] == 0
    boxes = result["mailboxes"]
    assert len(boxes) == 50 and len(result["added"]) == 50
    assert [b["email"] for b in boxes] == sorted(b["email"] for b in boxes) == result["added"]
    assert len({b["local_part"] for b in boxes}) == 50
    for box in boxes:
        first, last = box["local_part"].split(".")
        assert first in FIRST and last in LAST and first != last
        assert box["name"] == "%s %s" % (first.capitalize(), last.capitalize())
        assert box["email"] == "%s@%s" % (box["local_part"], DOMAIN)
        assert box["created"] and box["quota"] == "1G" and box["daily_limit"] is None
        assert strong(box["password"])
    assert len(set(passwords(result).values())) == 50


def test_every_hash_is_sha512_crypt_of_its_password_by_crypt_and_by_openssl(node):
    result, _unused = run(node, mailboxes=20)
    stored = hashes(node)
    assert set(stored) == set(passwords(result))
    for email, password in passwords(result).items():
        assert re.fullmatch(r"\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}", stored[email])
        assert crypt.crypt(password, stored[email]) == stored[email]
    assert len({h.split("$")[2] for h in stored.values()}) == 20  # a salt of its own each
    for email, password in list(passwords(result).items())[:3]:
        salt = stored[email].split("$")[2]
        made = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input=password + "\n",
                              capture_output=True, text=True, check=True).stdout.strip()
        assert made == stored[email]


def test_the_users_file_has_dovecots_passwd_file_layout(node):
    run(node, mailboxes=3, quota="500M")
    uid, gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
    with open(users_path(node), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("# %s: " % DOMAIN)
    assert lines[1:] == sorted(lines[1:])
    for line in lines[1:]:
        user, hashed, l_uid, l_gid, gecos, home, shell, extra = line.split(":", 7)
        local = user.split("@")[0]
        assert user.endswith("@" + DOMAIN) and hashed.startswith("{SHA512-CRYPT}$6$")
        assert (int(l_uid), int(l_gid)) == (uid, gid) and shell == ""
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", gecos)
        assert home == os.path.join(node["mail_root"], DOMAIN, local)
        assert extra == "userdb_quota_rule=*:storage=500M"
    assert not os.path.exists(node["mail_root"])  # Dovecot makes the homes


def test_files_and_directories_get_their_modes_and_group(node):
    run(node, mailboxes=2)
    gid = grp.getgrnam(node["group"]).gr_gid
    users = os.stat(users_path(node))
    assert stat.S_IMODE(users.st_mode) == 0o640 and users.st_gid == gid and users.st_uid == os.getuid()
    users_dir = os.stat(node["users_dir"])
    assert stat.S_IMODE(users_dir.st_mode) == 0o750 and users_dir.st_gid == gid
    assert stat.S_IMODE(os.stat(node["state_dir"]).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state_path(node)).st_mode) == 0o600
    assert not [n for n in os.listdir(node["users_dir"]) + os.listdir(node["state_dir"]) if n.startswith(".")]


def test_loosened_modes_are_put_back_without_rewriting_the_files(node):
    run(node, mailboxes=2)
    os.chmod(users_path(node), 0o644)
    os.chmod(state_path(node), 0o644)
    os.chmod(node["state_dir"], 0o755)
    before = {path: data for path, (data, _unused, _unused) in snapshot(node).items()}
    result, _unused = run(node, mailboxes=2)
    assert result["changed"] and not result["added"]
    assert stat.S_IMODE(os.stat(users_path(node)).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(state_path(node)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(node["state_dir"]).st_mode) == 0o700
    assert {path: data for path, (data, _unused, _unused) in snapshot(node).items()} == before
    assert not run(node, mailboxes=2)[0]["changed"]


# ------------------------------------------------------------ re-runs
def test_unchanged_rerun_rewrites_nothing_and_returns_no_password(node):
    first, _unused = run(node, mailboxes=50, daily_limit=40)
    before = snapshot(node)
    again, warns = run(node, mailboxes=50, daily_limit=40)
    assert not again["changed"] and not warns
    assert again["added"] == again["rotated"] == again["removed"] == []
    assert snapshot(node) == before  # same bytes, same inode, same mtime
    assert not passwords(again) and not any(box["created"] for box in again["mailboxes"])
    assert [b["email"] for b in again["mailboxes"]] == [b["email"] for b in first["mailboxes"]]
    assert {b["daily_limit"] for b in again["mailboxes"]} == {40}


def test_fifty_then_fifty_five_adds_five_and_keeps_every_old_hash(node):
    first, _unused = run(node, mailboxes=50)
    old = hashes(node)
    result, _unused = run(node, mailboxes=55)
    assert result["changed"] and len(result["added"]) == 5 and len(result["mailboxes"]) == 55
    assert set(passwords(result)) == set(result["added"])
    assert not set(result["added"]) & set(old)
    new = hashes(node)
    assert {email: new[email] for email in old} == old
    for email, password in passwords(result).items():
        assert crypt.crypt(password, new[email]) == new[email]
    assert {b["email"] for b in result["mailboxes"] if b["created"]} == set(result["added"])
    assert not {b["email"] for b in first["mailboxes"]} - {b["email"] for b in result["mailboxes"]}


def test_a_smaller_count_removes_nothing_and_reports_the_surplus(node):
    run(node, mailboxes=10)
    before = snapshot(node)
    result, warns = run(node, mailboxes=7)
    assert not result["changed"] and result["surplus"] == 3 and len(result["mailboxes"]) == 10
    assert warns == ["%s has 10 mailboxes, 3 more than the 7 asked for; none is removed (state=absent with a list "
                     "removes mailboxes)" % DOMAIN]
    assert snapshot(node) == before


# ------------------------------------------------------------ removing, and names never reused
def test_absent_removes_from_the_users_file_and_keeps_the_history(node):
    created, _unused = run(node, mailboxes=5)
    gone = [b["local_part"] for b in created["mailboxes"][:2]]
    result, _unused = run(node, state="absent", mailboxes=gone + ["never.was"])
    assert result["changed"] and result["removed"] == sorted("%s@%s" % (g, DOMAIN) for g in gone)
    assert len(result["mailboxes"]) == 3 and not set(result["removed"]) & set(hashes(node))
    state = mb.read_state(state_path(node), DOMAIN)[0]
    assert all(state[g]["removed"] for g in gone) and len(state) == 5
    again, _unused = run(node, state="absent", mailboxes=gone)
    assert not again["changed"] and again["removed"] == []


def test_a_refill_after_removal_never_hands_out_a_removed_name(node):
    # "first" naming has one local part a first name, so 200 of 227 fill most of the space.
    run(node, mailboxes=200, naming="first")
    removed = sorted(mb.read_users(users_path(node), DOMAIN)[0])[:20]
    run(node, state="absent", mailboxes=removed)
    result, _unused = run(node, mailboxes=207, naming="first")  # 27 names were never used: all of them are needed
    locals_now = {b["local_part"] for b in result["mailboxes"]}
    assert len(result["added"]) == 27 and not locals_now & set(removed)
    assert locals_now | set(removed) == FIRST
    with pytest.raises(mb.MailboxError, match=r"^naming: first makes 227 different local parts from the embedded name lists and 227 of them are "
                                              r"in use or in the domain's history, so 0 more can be made, not the 1 asked for"):
        run(node, mailboxes=208, naming="first")


def test_generated_names_skip_every_taken_one_even_when_the_random_picks_keep_hitting_them():
    taken = set(names.FIRST_NAMES[:-3])
    made = mb.generate_names(3, "first", taken, rng=random.Random(7))
    assert sorted(local for local, _unused in made) == sorted(names.FIRST_NAMES[-3:])
    with pytest.raises(mb.MailboxError, match="^naming: "):
        mb.generate_names(4, "first", taken, rng=random.Random(7))


def test_remove_maildir_deletes_the_homes_of_the_listed_mailboxes_only(node):
    created, _unused = run(node, mailboxes=3)
    local = [b["local_part"] for b in created["mailboxes"]]
    for part in local:
        os.makedirs(os.path.join(node["mail_root"], DOMAIN, part, "Maildir", "cur"))
    result, _unused = run(node, state="absent", mailboxes=[{"local_part": local[0]}], remove_maildir=True)
    assert result["maildirs_removed"] == [os.path.join(node["mail_root"], DOMAIN, local[0])]
    assert sorted(os.listdir(os.path.join(node["mail_root"], DOMAIN))) == local[1:]
    kept, _unused = run(node, state="absent", mailboxes=[local[1]])
    assert os.path.isdir(os.path.join(node["mail_root"], DOMAIN, local[1]))
    assert kept["maildirs_removed"] == []


# ------------------------------------------------------------ rotating
def test_rotate_gives_every_mailbox_a_new_password(node):
    first, _unused = run(node, mailboxes=4)
    old = hashes(node)
    result, _unused = run(node, mailboxes=4, rotate_passwords=True)
    assert result["changed"] and result["rotated"] == sorted(old) and result["added"] == []
    new = hashes(node)
    assert all(new[email] != old[email] for email in old)
    for email, password in passwords(result).items():
        assert password != passwords(first)[email] and crypt.crypt(password, new[email]) == new[email]
    assert not any(box["created"] for box in result["mailboxes"])
    assert mb.read_state(state_path(node), DOMAIN)[0][first["mailboxes"][0]["local_part"]]["rotated"]


def test_rotate_with_a_list_rotates_only_the_listed(node):
    created, _unused = run(node, mailboxes=3)
    old = hashes(node)
    chosen = created["mailboxes"][1]
    result, _unused = run(node, mailboxes=[chosen["local_part"]], rotate_passwords=True)
    assert result["rotated"] == [chosen["email"]] and list(passwords(result)) == [chosen["email"]]
    new = hashes(node)
    assert [email for email in old if new[email] != old[email]] == [chosen["email"]]


# ------------------------------------------------------------ lists
def test_a_list_creates_named_mailboxes_with_their_own_limits(node):
    result, _unused = run(node, daily_limit=25, mailboxes=[
        {"local_part": "emma.walker", "name": "Emma Walker"},
        {"local_part": "sales_team", "name": "  Sales Team  ", "daily_limit": 5},
        "ops-desk",
    ])
    got = {b["local_part"]: (b["name"], b["daily_limit"]) for b in result["mailboxes"]}
    assert got == {"emma.walker": ("Emma Walker", 25), "sales_team": ("Sales Team", 5), "ops-desk": ("Ops Desk", 25)}
    renamed, _unused = run(node, mailboxes=[{"local_part": "emma.walker", "name": "Emma J. Walker", "daily_limit": 9}])
    assert renamed["changed"] and not passwords(renamed) and not renamed["added"]
    box = renamed["mailboxes"][[b["local_part"] for b in renamed["mailboxes"]].index("emma.walker")]
    assert (box["name"], box["daily_limit"]) == ("Emma J. Walker", 9)
    assert ":Emma J. Walker:" in open(users_path(node), encoding="utf-8").read()
    assert {b["local_part"]: b["daily_limit"] for b in renamed["mailboxes"]}["sales_team"] == 5  # not listed: kept


def test_a_count_with_a_daily_limit_sets_it_on_every_mailbox_and_without_one_keeps_them(node):
    run(node, mailboxes=[{"local_part": "ann", "daily_limit": 5}])
    result, _unused = run(node, mailboxes=3, daily_limit=30)
    assert {b["daily_limit"] for b in result["mailboxes"]} == {30}
    kept, _unused = run(node, mailboxes=3)
    assert not kept["changed"] and {b["daily_limit"] for b in kept["mailboxes"]} == {30}


def test_listing_a_removed_mailbox_makes_it_again_with_a_warning(node):
    run(node, mailboxes=["ann"])
    run(node, state="absent", mailboxes=["ann"])
    result, warns = run(node, mailboxes=["ann"])
    assert result["added"] == ["ann@" + DOMAIN] and len(warns) == 1
    assert warns[0].startswith("ann@%s was removed on " % DOMAIN) and "mailboxes[0]" in warns[0]


@pytest.mark.parametrize("naming, shape", [
    ("first.last", r"[a-z]+\.[a-z]+"), ("firstlast", r"[a-z]+"), ("flast", r"[a-z][a-z]+"),
    ("first.l", r"[a-z]+\.[a-z]"), ("first", r"[a-z]+"),
])
def test_each_naming_makes_local_parts_of_its_shape(node, naming, shape):
    result, _unused = run(node, mailboxes=10, naming=naming)
    for box in result["mailboxes"]:
        first, last = box["name"].lower().split(" ")
        assert re.fullmatch(shape, box["local_part"])
        assert box["local_part"] == mb.LOCAL_PART_MAKERS[naming](first, last)


# ------------------------------------------------------------ what the node already has
def test_lines_written_by_hand_are_kept_and_adopted(node):
    os.makedirs(node["users_dir"])
    hand = "boss@%s:{SHA512-CRYPT}%s:1:1:The Boss:/x::userdb_mail=maildir:~/Mail\n" % (
        DOMAIN, crypt.crypt("Secret123", "$6$abcdefgh"))
    with open(users_path(node), "w", encoding="utf-8") as handle:
        handle.write("# a comment\n" + hand)
    result, _unused = run(node, mailboxes=2)
    assert len(result["added"]) == 1 and "boss@" + DOMAIN in [b["email"] for b in result["mailboxes"]]
    line = [line for line in open(users_path(node), encoding="utf-8") if line.startswith("boss@")][0]
    assert hashes(node)["boss@" + DOMAIN] == crypt.crypt("Secret123", "$6$abcdefgh")
    assert line.endswith("::userdb_quota_rule=*:storage=1G userdb_mail=maildir:~/Mail\n")
    assert mb.read_state(state_path(node), DOMAIN)[0]["boss"]["adopted"] is True


def test_a_line_of_another_domain_is_an_error_naming_the_line(node):
    os.makedirs(node["users_dir"])
    with open(users_path(node), "w", encoding="utf-8") as handle:
        handle.write("# header\nann@other.test:{PLAIN}x:1:1::/x::\n")
    with pytest.raises(mb.MailboxError, match=r"^users_dir: .* line 2: 'ann@other.test' is not a user of "):
        run(node, mailboxes=1)


def test_a_corrupt_history_is_an_error_and_is_not_overwritten(node):
    os.makedirs(node["state_dir"])
    with open(state_path(node), "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(mb.MailboxError, match=r"^state_dir: .* is not coldrig's mailbox history"):
        run(node, mailboxes=1)
    assert open(state_path(node), encoding="utf-8").read() == "{not json"


# ------------------------------------------------------------ hashing without the crypt module
@pytest.fixture
def no_crypt(monkeypatch):
    """Python 3.13 and later: no crypt module. Counts the processes the module starts."""
    monkeypatch.setattr(mb, "_crypt", None)
    started = []
    real_run = subprocess.run

    def counting_run(command, *args, check=False, **kwargs):
        started.append(command)
        return real_run(command, *args, check=check, **kwargs)

    monkeypatch.setattr(mb.subprocess, "run", counting_run)
    return started


def test_without_crypt_one_openssl_process_hashes_every_new_password(node, no_crypt):
    assert isinstance(mb.default_hasher(), mb.OpensslHasher)
    result, _unused = run(node, mailboxes=30)
    assert no_crypt == [[no_crypt[0][0], "passwd", "-6", "-stdin"]]
    stored = hashes(node)
    assert len({h.split("$")[2] for h in stored.values()}) == 30
    for email, password in passwords(result).items():
        assert crypt.crypt(password, stored[email]) == stored[email]
    assert not run(node, mailboxes=30)[0]["changed"] and len(no_crypt) == 1  # nothing to hash: no process


def test_without_crypt_other_rounds_are_an_error_but_with_crypt_they_are_made(node, tmp_path, monkeypatch):
    result, _unused = run(node, mailboxes=1, hash_rounds=10000)
    stored = hashes(node)[result["added"][0]]
    assert stored.startswith("$6$rounds=10000$") and crypt.crypt(passwords(result)[result["added"][0]], stored) == stored
    monkeypatch.setattr(mb, "_crypt", None)
    with pytest.raises(mb.MailboxError, match=r"^hash_rounds: 10000 needs Python's crypt module"):
        run(node, mailboxes=2, hash_rounds=10000)
    assert not run(node, mailboxes=1, hash_rounds=10000)[0]["changed"]  # nothing to hash, nothing to fail


def test_without_crypt_or_openssl_the_error_says_what_to_install(node, monkeypatch):
    monkeypatch.setattr(mb, "_crypt", None)
    monkeypatch.setattr(mb.shutil, "which", lambda *a, **k: None)
    with pytest.raises(mb.MailboxError, match=r"apt-get install openssl"):
        run(node, mailboxes=1)
    assert not os.path.exists(users_path(node))


# ------------------------------------------------------------ check mode and diff
def test_check_mode_writes_nothing_and_returns_the_addresses_without_passwords(node, tmp_path):
    result, _unused = run(node, check_mode=True, mailboxes=5)
    assert result["changed"] and len(result["added"]) == 5 and not passwords(result)
    assert sorted(os.listdir(tmp_path)) == []
    existing = run(node, mailboxes=5)[0]["mailboxes"][0]
    before = snapshot(node)
    more, _unused = run(node, check_mode=True, mailboxes=7, rotate_passwords=True)
    assert more["changed"] and len(more["added"]) == 2 and len(more["rotated"]) == 5 and not passwords(more)
    gone, _unused = run(node, check_mode=True, state="absent", mailboxes=[existing["local_part"]])
    assert gone["changed"] and gone["removed"] == [existing["email"]]
    assert snapshot(node) == before
    assert not run(node, check_mode=True, mailboxes=5)[0]["changed"]


def test_diff_lists_addresses_and_nothing_secret(node):
    first, _unused = run(node, mailboxes=2)
    result, _unused = run(node, mailboxes=3, rotate_passwords=True)
    diff = result["diff"]
    assert diff["before"] == "".join(b["email"] + "\n" for b in first["mailboxes"])
    assert diff["after"] == "".join(b["email"] + "\n" for b in result["mailboxes"])
    text = repr(diff)
    assert "$6$" not in text and not any(pw in text for pw in passwords(result).values())


# ------------------------------------------------------------ errors
@pytest.mark.parametrize("options, message", [
    ({"domain": "localhost"}, "domain: 'localhost' has no dot"),
    ({"domain": "ex ample.com"}, "domain: 'ex ample.com' has the label 'ex ample': a label holds only"),
    ({"domain": "a..com"}, "domain: 'a..com' has an empty label"),
    ({"domain": "../etc/passwd"}, "domain: '../etc/passwd' has an empty label"),
    ({"domain": "-a.com"}, "domain: '-a.com' has the label '-a'"),
    ({"domain": "10.0.0.1"}, "domain: '10.0.0.1' is an IP address, not a domain name"),
    ({"mailboxes": -3}, "mailboxes: -3 is negative"),
    ({"mailboxes": True}, "mailboxes: True is neither a count nor a list"),
    ({"mailboxes": "many"}, "mailboxes: 'many' is neither a count nor a list"),
    ({"mailboxes": 3, "state": "absent"}, "mailboxes: state=absent needs the list of mailboxes to remove"),
    ({"naming": "last.first"}, "naming: 'last.first' is not one of first.last, firstlast, flast, first.l, first"),
    ({"quota": "lots"}, "quota: 'lots' is not a size such as 512M or 1G"),
    ({"quota": "1G extra=1"}, "quota: '1G extra=1' is not a size such as 512M or 1G"),
    ({"daily_limit": -1}, "daily_limit: -1 is not a whole number of 1 or more"),
    ({"daily_limit": 0}, "daily_limit: 0 is not a whole number of 1 or more"),
    ({"mailboxes": [{"local_part": "ann", "daily_limit": 0}]}, "mailboxes[0].daily_limit: 0 is not a whole number of 1"),
    ({"rotate_mailboxes": ["ann@other.test"]}, "rotate_mailboxes[0]: 'ann@other.test' is not an address of send.example.test"),
    ({"rotate_mailboxes": ["nobody-here"]}, "rotate_mailboxes[0]: nobody-here@send.example.test is not a mailbox of"),
    ({"password_hashes": {"ann": "secret-plain-text"}}, "password_hashes: the value for 'ann' is not a SHA512-CRYPT hash"),
    ({"password_hashes": {}}, "password_hashes: send.example.test needs 1 new mailboxes and the hashes name 0"),
    ({"password_length": 12}, "password_length: 12 is not from 16 to 128"),
    ({"hash_rounds": 10}, "hash_rounds: 10 is not from 1000 to 999999999"),
    ({"users_dir": "relative/dir"}, "users_dir: 'relative/dir' is not an absolute path"),
    ({"mailboxes": [{"local_part": "ann"}, 7]}, "mailboxes[1]: expected a mapping {local_part, name, daily_limit}"),
    ({"mailboxes": [{"name": "Ann"}]}, "mailboxes[0].local_part: missing"),
    ({"mailboxes": [{"local_part": "ann", "nmae": "Ann"}]}, "mailboxes[0]: unknown key 'nmae' (known: local_part"),
    ({"mailboxes": ["ann", "Bob"]}, "mailboxes[1].local_part: 'Bob' has 'B': only lower-case a-z"),
    ({"mailboxes": ["a..b"]}, "mailboxes[0].local_part: 'a..b' has two dots in a row"),
    ({"mailboxes": [".ann"]}, "mailboxes[0].local_part: '.ann' starts or ends with a dot"),
    ({"mailboxes": ["ann@x.test"]}, "mailboxes[0].local_part: 'ann@x.test' has '@': only lower-case"),
    ({"mailboxes": ["a" * 65]}, "mailboxes[0].local_part: '%s' is 65 characters" % ("a" * 65)),
    ({"mailboxes": ["ann", {"local_part": "bob"}, "ann"]}, "mailboxes[2].local_part: 'ann' is also mailboxes[0]"),
    ({"mailboxes": [{"local_part": "ann", "name": "Ann: CEO"}]},
     "mailboxes[0].name: 'Ann: CEO' contains ':'"),
    ({"mailboxes": [{"local_part": "ann", "name": "Ann\nbob@x:y"}]},
     "mailboxes[0].name: 'Ann\\nbob@x:y' contains ':'"),
    ({"mailboxes": [{"local_part": "ann", "name": "Ann\tB"}]}, "mailboxes[0].name: 'Ann\\tB' contains a control"),
    ({"mailboxes": [{"local_part": "ann", "name": " "}]}, "mailboxes[0].name: ' ' is empty"),
    ({"mailboxes": [{"local_part": "ann", "daily_limit": -5}]}, "mailboxes[0].daily_limit: -5 is not a whole number of 1 or more"),
    ({"vmail_user": "no-such-vmail-user"}, "vmail_user: there is no user 'no-such-vmail-user' on this node"),
    ({"vmail_group": "no-such-group"}, "vmail_group: there is no group 'no-such-group' on this node"),
    ({"group": "no-such-group"}, "group: there is no group 'no-such-group' on this node - is Dovecot installed?"),
])
def test_bad_input_is_an_error_naming_the_field_and_writes_nothing(node, tmp_path, options, message):
    with pytest.raises(mb.MailboxError) as failed:
        run(node, **dict({"mailboxes": 1}, **options))
    assert str(failed.value).startswith(message), str(failed.value)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("user", ["root", "0", "toor"])
def test_vmail_user_root_or_any_user_with_uid_0_is_refused_naming_the_option(node, tmp_path, monkeypatch, user):
    real = pwd.getpwnam
    # "toor": an alias of root (another name with uid 0), as some systems have
    monkeypatch.setattr(mb.pwd, "getpwnam", lambda name: real("root") if name == "toor" else real(name))
    with pytest.raises(mb.MailboxError) as failed:
        run(node, mailboxes=1, vmail_user=user)
    assert str(failed.value).startswith("vmail_user: %r has uid 0" % user)
    assert "unprivileged user" in str(failed.value)
    assert not os.listdir(tmp_path)


def test_a_write_refused_to_a_user_other_than_root_says_to_become_root(node, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(mb.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(mb.tempfile, "mkstemp", refuse)
    with pytest.raises(mb.MailboxError, match=r"^state_dir: cannot update .*/state: Permission denied - the module must "
                                              r"run as root \(become: true\)$"):
        run(node, mailboxes=1)


def test_a_count_may_come_as_a_templated_string(node):
    result, _unused = run(node, mailboxes="3")
    assert len(result["added"]) == 3


def test_the_domain_is_lowercased_and_its_trailing_dot_dropped(node):
    result, _unused = run(node, mailboxes=1, domain="Send.Example.TEST.")
    assert result["domain"] == DOMAIN and result["added"][0].endswith("@" + DOMAIN)


# ------------------------------------------------------------ passwords and names alone
def test_passwords_are_strong_and_of_the_asked_length():
    made = [mb.new_password(16) for _unused in range(500)]
    assert all(strong(p, 16) for p in made) and len(set(made)) == 500
    assert strong(mb.new_password(128), 128)


def test_the_embedded_name_lists_are_plain_sorted_and_about_two_hundred_each():
    for listed in (names.FIRST_NAMES, names.LAST_NAMES):
        assert 200 <= len(listed) <= 260 and list(listed) == sorted(set(listed))
        assert all(re.fullmatch(r"[a-z]{2,}", n) for n in listed)


# ------------------------------------------------------------ through the module's main()
def test_the_module_runs_with_its_argument_spec_and_warns_when_the_task_is_not_no_log(node, run_module):
    result = run_module(module, dict(node, mailboxes=3))
    assert not result["failed"] and len(result["added"]) == 3 and len(passwords(result)) == 3
    assert "this result holds 3 new passwords in plain text: run the task with no_log: true" in \
        json.dumps(result.get("warnings"))
    ansible_warnings._global_warnings.clear()  # pylint: disable=protected-access
    hidden = run_module(module, dict(node, mailboxes=3, rotate_passwords=True, _ansible_no_log=True))
    assert len(hidden["rotated"]) == 3 and "no_log" not in json.dumps(hidden.get("warnings"))


def test_the_module_reports_errors_and_check_mode(node, run_module):
    failed = run_module(module, dict(node, mailboxes=[{"local_part": "Ann"}]))
    assert failed["failed"] and failed["msg"].startswith("mailboxes[0].local_part: 'Ann' has 'A'")
    checked = run_module(module, dict(node, mailboxes=2), check=True, diff=True)
    assert checked["changed"] and len(checked["added"]) == 2 and not passwords(checked)
    assert checked["diff"]["before"] == "" and checked["diff"]["after"].count("\n") == 2
    assert not os.path.exists(node["users_dir"])


@pytest.mark.parametrize("quota", ["1G", "1g", "512M", "512m", "2048k", "2048K", "10T", "4096", "100B", "1.5G", "1GB", "G",
                                   "1 G", "-1G", "1P", ""])
def test_the_module_accepts_exactly_the_quotas_the_spec_checker_accepts(node, quota):
    from ansible_collections.coldrig.infra.plugins.module_utils import validate
    if validate.quota_problem(quota) is None:
        result, _warns = run(node, mailboxes=1, quota=quota)
        assert result["mailboxes"][0]["quota"] == validate.normalise_quota(quota)
    else:
        with pytest.raises(mb.MailboxError, match="^quota: "):
            run(node, mailboxes=1, quota=quota)


# ------------------------------------------------------------ the crash-safe handoff
def sha512(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def test_plan_is_read_only_and_names_the_mailboxes_that_need_a_password(node, tmp_path):
    run(node, mailboxes=2)
    before = snapshot(node)
    planned, _warns = run(node, mailboxes=5, plan=True)
    assert not planned["changed"] and snapshot(node) == before and len(planned["added"]) == 3
    new = [box for box in planned["mailboxes"] if box["new_password"]]
    assert sorted(box["email"] for box in new) == planned["added"] and all(box["hash"] is None for box in new)
    old = [box for box in planned["mailboxes"] if not box["new_password"]]
    assert sorted(box["hash"] for box in old) == sorted(hashes(node).values())
    assert not any("password" in box for box in planned["mailboxes"])


def test_with_password_hashes_the_node_gets_exactly_those_hashes_for_the_planned_names(node):
    run(node, mailboxes=2)
    old = hashes(node)
    planned, _warns = run(node, mailboxes=5, plan=True)
    given = {box["local_part"]: sha512("pw-" + box["local_part"]) for box in planned["mailboxes"] if box["new_password"]}
    applied, warns = run(node, mailboxes=5, password_hashes=given)
    assert applied["changed"] and applied["added"] == planned["added"] and not warns
    assert not any("password" in box for box in applied["mailboxes"])
    stored = hashes(node)
    for local, hashed in given.items():
        assert stored["%s@%s" % (local, DOMAIN)] == hashed
    assert {email: stored[email] for email in old} == old
    names = {box["email"]: box["name"] for box in planned["mailboxes"]}
    assert all(names[box["email"]] == box["name"] for box in applied["mailboxes"])
    again, _warns = run(node, mailboxes=5, password_hashes={})
    assert not again["changed"]


def test_a_mailbox_to_create_without_a_hash_is_an_error_that_names_it_and_writes_nothing(node, tmp_path):
    with pytest.raises(mb.MailboxError, match=r"password_hashes: no hash for bob@send.example.test, which this call"):
        run(node, mailboxes=["ann", "bob"], password_hashes={"ann": sha512("a")})
    assert not os.listdir(tmp_path)


def test_rotate_mailboxes_gives_only_the_named_mailbox_a_new_hash(node):
    made, _warns = run(node, mailboxes=3)
    before = hashes(node)
    target = made["mailboxes"][1]["email"]
    rotated, _warns = run(node, mailboxes=3, rotate_mailboxes=[target], password_hashes={target: sha512("fresh")})
    after = hashes(node)
    assert rotated["rotated"] == [target] and crypt.crypt("fresh", after[target]) == after[target]
    assert {e: h for e, h in after.items() if e != target} == {e: h for e, h in before.items() if e != target}


def test_a_password_in_another_scheme_is_never_returned_as_a_hash(node):
    os.makedirs(node["users_dir"])
    with open(users_path(node), "w", encoding="utf-8") as handle:
        handle.write("ann@%s:{PLAIN}not-a-hash:65534:65534::/var/mail/vmail/x/ann::\n" % DOMAIN)
    planned, _warns = run(node, mailboxes=1, plan=True)
    assert planned["mailboxes"][0]["hash"] is None and "not-a-hash" not in json.dumps(planned)


def test_a_stored_password_is_checked_against_its_hash_with_crypt_and_without_it(monkeypatch):
    hashed = sha512("Known-password-1")
    assert mb.verify_password("Known-password-1", hashed) and not mb.verify_password("Known-password-2", hashed)
    monkeypatch.setattr(mb, "_crypt", None)  # Python 3.13 and later: openssl passwd -6 -salt checks it
    assert mb.verify_password("Known-password-1", hashed) and not mb.verify_password("Known-password-2", hashed)
    assert not mb.verify_password("Known-password-1", None) and not mb.verify_password("", hashed)
