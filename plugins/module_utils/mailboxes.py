# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mailboxes of one sending domain on a mail node: Dovecot passwd-file users plus a history.

Used by the ``mailboxes`` module (backend ``postfix``: Postfix + Dovecot). It runs on the node, as
root, with Python's standard library only. ``run(params)`` reads the domain's users file and
history, computes what to add, change, rotate or remove, writes at most two files (each only when
its bytes change, atomically), deletes Maildirs when asked to, and returns the module's result. Errors are ``MailboxError`` whose
text starts with the field it is about (``domain: ...``, ``mailboxes[3].local_part: ...``).

On the node, per domain (the contract the postfix role configures Dovecot for):

* ``<users_dir>/<domain>`` (default ``/etc/dovecot/users``): a Dovecot passwd-file, mode 0640,
  owner root, group ``group`` (default ``dovecot``); a header comment, then one line a mailbox,
  sorted by address::

      local@domain:{SHA512-CRYPT}$6$<salt>$<hash>:<uid>:<gid>:<Display Name>:<mail_root>/<domain>/<local>::userdb_quota_rule=*:storage=<quota>

  It is the source of truth for which mailboxes exist. passwd-file has no escaping, so a display
  name may not hold ``:`` or a control character; local parts are ``[a-z0-9._-]``. Dovecot refuses
  a line with uid 0 ("invalid UID"), so the vmail user must not be root.
* ``<state_dir>/<domain>.json`` (default ``/var/lib/coldrig/mailboxes``; directory 0700, file
  0600): every local part ever used for the domain, with its display name, daily limit and
  created / rotated / removed times, so that a removed name is never handed out again.

With ``plan`` the call is read-only and returns, for each mailbox, the hash the node holds and
whether the call would give it a new password; with ``password_hashes`` the new and rotated
mailboxes get the controller's hashes and the module makes no password (the crash-safe handoff of
playbooks/mailboxes.yml). ``verify_password`` checks a password against a stored hash.

Passwords are random (``secrets``), letters and digits, with at least one upper-case letter,
lower-case letter and digit. Hashes are SHA512-CRYPT: the ``crypt`` module where Python still has
it (up to 3.12), otherwise one ``openssl passwd -6 -stdin`` process for all new passwords of a run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import stat
import string
import subprocess
import tempfile
import warnings

from ansible_collections.coldrig.infra.plugins.module_utils import validate
from ansible_collections.coldrig.infra.plugins.module_utils.mailbox_names import FIRST_NAMES, LAST_NAMES

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DeprecationWarning on 3.11 and 3.12; gone in 3.13
        import crypt as _crypt
except ImportError:
    _crypt = None

STATES = ("present", "absent")
BACKENDS = ("postfix",)
NAMINGS = ("first.last", "firstlast", "flast", "first.l", "first")
DEFAULTS = {
    "state": "present",
    "naming": "first.last",
    "daily_limit": None,
    "quota": "1G",
    "rotate_passwords": False,
    "backend": "postfix",
    "remove_maildir": False,
    "password_length": 24,
    "hash_rounds": 5000,
    "users_dir": "/etc/dovecot/users",
    "state_dir": "/var/lib/coldrig/mailboxes",
    "mail_root": "/var/mail/vmail",
    "vmail_user": "vmail",
    "vmail_group": None,
    "group": "dovecot",
    "plan": False,
    "password_hashes": None,
    "rotate_mailboxes": None,
}
ITEM_KEYS = ("local_part", "name", "daily_limit")
PASSWORD_MIN, PASSWORD_MAX = 16, 128
ROUNDS_MIN, ROUNDS_MAX, ROUNDS_DEFAULT = 1000, 999999999, 5000
USERS_MODE, USERS_DIR_MODE, STATE_MODE, STATE_DIR_MODE = 0o640, 0o750, 0o600, 0o700
SCHEME = "{SHA512-CRYPT}"
QUOTA_FIELD = "userdb_quota_rule=*:storage="
STATE_FORMAT = 1
PASSWORD_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
SALT_ALPHABET = "./" + string.digits + string.ascii_uppercase + string.ascii_lowercase
SHA512_CRYPT = re.compile(r"^\$6\$(rounds=[0-9]+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$")

LOCAL_PART_MAKERS = {
    "first.last": lambda first, last: "%s.%s" % (first, last),
    "firstlast": lambda first, last: first + last,
    "flast": lambda first, last: first[0] + last,
    "first.l": lambda first, last: "%s.%s" % (first, last[0]),
    "first": lambda first, last: first,
}


class MailboxError(Exception):
    """A request or a node state that the module cannot act on; the text starts with the field."""


# ------------------------------------------------------------------ validation
# The rules for domains, local parts, display names, quotas and numbers are validate.py's, the
# same ones the spec checker applies, so that what the checker accepts this module accepts too.
def _int_or_none(value):
    """An int from an int or a string of digits (templated values), else None; bool is not an int."""
    return validate.as_int(value)


def check_domain(value):
    """The domain, lower case without a trailing dot, or MailboxError naming ``domain`` and the reason."""
    try:
        return validate.check_domain(value, "domain")
    except validate.ValidationError as exc:
        raise MailboxError(str(exc))


def local_part_problem(value):
    """Why ``value`` is not a local part coldrig makes, or None (validate.local_part_problem)."""
    return validate.local_part_problem(value)


def display_name_problem(value):
    """Why ``value`` cannot be a display name in a passwd-file, or None (validate.display_name_problem)."""
    return validate.display_name_problem(value)


def _check_daily_limit(value, field):
    number = _int_or_none(value)
    if number is None or number < 1:
        raise MailboxError("%s: %r is not a whole number of 1 or more (messages a day; a mailbox that may send "
                           "nothing is not a sender: remove it with state=absent)" % (field, value))
    return number


def parse_request(value, state):
    """``mailboxes`` -> ("count", n) or ("list", [{index, local_part, name, daily_limit}, ...])."""
    if isinstance(value, (list, tuple)):
        items, seen = [], {}
        for index, raw in enumerate(value):
            items.append(_parse_item(index, raw, seen))
        return "list", items
    number = _int_or_none(value)
    if number is None:
        raise MailboxError("mailboxes: %r is neither a count nor a list of {local_part, name, daily_limit}" % (value,))
    if state == "absent":
        raise MailboxError("mailboxes: state=absent needs the list of mailboxes to remove ({local_part} items or "
                           "local parts), not a count (%d)" % number)
    if number < 0:
        raise MailboxError("mailboxes: %d is negative; give a count of 0 or more, or a list" % number)
    return "count", number


def _parse_item(index, raw, seen):
    where = "mailboxes[%d]" % index
    if isinstance(raw, str):
        raw = {"local_part": raw}
    if not isinstance(raw, dict):
        raise MailboxError("%s: expected a mapping {local_part, name, daily_limit} or a local part, got %r" % (where, raw))
    unknown = sorted(str(key) for key in raw if key not in ITEM_KEYS)
    if unknown:
        raise MailboxError("%s: unknown key %s (known: %s)" % (where, ", ".join(repr(k) for k in unknown), ", ".join(ITEM_KEYS)))
    local = raw.get("local_part")
    if local is None:
        raise MailboxError("%s.local_part: missing; every item needs the local part (the part before the @)" % where)
    problem = local_part_problem(local)
    if problem:
        raise MailboxError("%s.local_part: %r %s" % (where, local, problem))
    if local in seen:
        raise MailboxError("%s.local_part: %r is also mailboxes[%d]" % (where, local, seen[local]))
    seen[local] = index
    name = raw.get("name")
    if name is not None:
        problem = display_name_problem(name)
        if problem:
            raise MailboxError("%s.name: %r %s" % (where, name, problem))
        name = name.strip()
    limit = raw.get("daily_limit")
    if limit is not None:
        limit = _check_daily_limit(limit, "%s.daily_limit" % where)
    return {"index": index, "local_part": local, "name": name, "daily_limit": limit}


def check_params(params):
    """Defaults filled in and every scalar option checked; returns a new dict."""
    p = dict(DEFAULTS)
    p.update((key, value) for key, value in params.items() if value is not None)
    p["domain"] = check_domain(params.get("domain"))
    if p["state"] not in STATES:
        raise MailboxError("state: %r is not one of %s" % (p["state"], ", ".join(STATES)))
    if p["backend"] not in BACKENDS:
        raise MailboxError("backend: %r is not one of %s" % (p["backend"], ", ".join(BACKENDS)))
    if p["naming"] not in NAMINGS:
        raise MailboxError("naming: %r is not one of %s" % (p["naming"], ", ".join(NAMINGS)))
    if p["daily_limit"] is not None:
        p["daily_limit"] = _check_daily_limit(p["daily_limit"], "daily_limit")
    problem = validate.quota_problem(p["quota"])
    if problem:
        raise MailboxError("quota: %r %s" % (p["quota"], problem))
    p["quota"] = validate.normalise_quota(p["quota"])
    length = _int_or_none(p["password_length"])
    if length is None or not PASSWORD_MIN <= length <= PASSWORD_MAX:
        raise MailboxError("password_length: %r is not from %d to %d" % (p["password_length"], PASSWORD_MIN, PASSWORD_MAX))
    p["password_length"] = length
    rounds = _int_or_none(p["hash_rounds"])
    if rounds is None or not ROUNDS_MIN <= rounds <= ROUNDS_MAX:
        raise MailboxError("hash_rounds: %r is not from %d to %d" % (p["hash_rounds"], ROUNDS_MIN, ROUNDS_MAX))
    p["hash_rounds"] = rounds
    for key in ("users_dir", "state_dir", "mail_root"):
        if not isinstance(p[key], str) or not os.path.isabs(p[key]):
            raise MailboxError("%s: %r is not an absolute path" % (key, p[key]))
        p[key] = os.path.normpath(p[key])
    p["kind"], p["request"] = parse_request(params.get("mailboxes"), p["state"])
    p["plan"] = bool(p["plan"])
    p["password_hashes"] = _check_password_hashes(p["password_hashes"], p["domain"])
    p["rotate_mailboxes"] = _check_rotate_mailboxes(p["rotate_mailboxes"], p["domain"])
    return p


def _local_of(value, domain, field):
    """A local part given as itself or as its address in ``domain``, checked; MailboxError naming ``field``."""
    if not isinstance(value, str):
        raise MailboxError("%s: %r is not a local part or an address of %s" % (field, value, domain))
    local, at, other = value.strip().rpartition("@")
    if not at:
        local = value.strip()
    elif other.lower().rstrip(".") != domain:
        raise MailboxError("%s: %r is not an address of %s" % (field, value, domain))
    problem = local_part_problem(local)
    if problem:
        raise MailboxError("%s: %r %s" % (field, local, problem))
    return local


def _check_password_hashes(value, domain):
    """{local part: "$6$..."} from {local part or address: "$6$..." or "{SHA512-CRYPT}$6$..."}; no hash is quoted."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MailboxError("password_hashes: expected a mapping of local part to SHA512-CRYPT hash, got a %s"
                           % type(value).__name__)
    hashes = {}
    for key in sorted(value, key=str):
        local = _local_of(key, domain, "password_hashes")
        hashed = value[key]
        if isinstance(hashed, str) and hashed.startswith(SCHEME):
            hashed = hashed[len(SCHEME):]
        if not isinstance(hashed, str) or not SHA512_CRYPT.match(hashed):
            raise MailboxError("password_hashes: the value for %r is not a SHA512-CRYPT hash ($6$<salt>$<86 characters>); "
                               "the value is not shown" % (key,))
        if local in hashes:
            raise MailboxError("password_hashes: %r is given twice (as a local part and as an address)" % (key,))
        hashes[local] = hashed
    return hashes


def _check_rotate_mailboxes(value, domain):
    if value is None:
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise MailboxError("rotate_mailboxes: %r is not a list of local parts or addresses" % (value,))
    return [_local_of(item, domain, "rotate_mailboxes[%d]" % index) for index, item in enumerate(value)]


def vmail_ids(user, group=None):
    """(uid, gid) that own the mailboxes: ``user``'s, with ``group`` (default: the user's primary group)."""
    try:
        entry = pwd.getpwuid(int(user)) if str(user).isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise MailboxError("vmail_user: there is no user %r on this node; the postfix backend's role creates it "
                           "(or set vmail_user to the user that owns the mailboxes on disk)" % (user,))
    if entry.pw_uid == 0:
        raise MailboxError("vmail_user: %r has uid 0 (it is root or an alias of root): Dovecot refuses every passwd-file "
                           "line with uid 0 (invalid UID) and the mail on disk would be root's; set vmail_user to an "
                           "unprivileged user such as the vmail user the postfix role makes" % (user,))
    gid = entry.pw_gid
    if group:
        gid = group_id(group, "vmail_group")
    return entry.pw_uid, gid


def group_id(group, field="group"):
    try:
        return grp.getgrgid(int(group)).gr_gid if str(group).isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        hint = " - is Dovecot installed? (the postfix backend's role installs it)" if field == "group" else ""
        raise MailboxError("%s: there is no group %r on this node%s" % (field, group, hint))


# ------------------------------------------------------------------ passwords and hashes
def random_chars(alphabet, count):
    """``count`` characters drawn uniformly from ``alphabet`` (at most 256) with one read of the OS's CSPRNG."""
    size = len(alphabet)
    limit = 256 - 256 % size
    chars = []
    while len(chars) < count:
        for byte in bytearray(secrets.token_bytes(count + count // 2 + 8)):
            if byte < limit:
                chars.append(alphabet[byte % size])
                if len(chars) == count:
                    break
    return "".join(chars)


def new_password(length=24):
    """A random password of letters and digits with at least one upper-case letter, lower-case letter and digit."""
    while True:
        password = random_chars(PASSWORD_ALPHABET, length)
        if (any(ch.isupper() for ch in password) and any(ch.islower() for ch in password)
                and any(ch.isdigit() for ch in password)):
            return password


class CryptHasher:
    """SHA512-CRYPT with Python's ``crypt`` module (libcrypt), one call a password."""

    name = "crypt"

    def __init__(self, rounds=ROUNDS_DEFAULT):
        self.rounds = rounds

    def hash_all(self, passwords):
        hashes = []
        for password in passwords:
            setting = "$6$%s%s" % ("" if self.rounds == ROUNDS_DEFAULT else "rounds=%d$" % self.rounds,
                                   random_chars(SALT_ALPHABET, 16))
            hashed = _crypt.crypt(password, setting)
            if not hashed or not hashed.startswith(setting + "$") or not SHA512_CRYPT.match(hashed):
                raise MailboxError("hash_rounds: this node's crypt() did not make a SHA512-CRYPT hash (got %r)"
                                   % (hashed[:12] if hashed else hashed))
            hashes.append(hashed)
        return hashes


class OpensslHasher:
    """SHA512-CRYPT with one ``openssl passwd -6 -stdin`` process for a whole batch (random salt a line).

    ``openssl passwd`` takes a rounds count only inside a salt given once for every line, so
    this hasher makes the default 5000 rounds only.
    """

    name = "openssl"

    def __init__(self, rounds=ROUNDS_DEFAULT, binary=None):
        self.rounds = rounds
        self.binary = binary

    def hash_all(self, passwords):
        if not passwords:
            return []
        if self.rounds != ROUNDS_DEFAULT:
            raise MailboxError("hash_rounds: %d needs Python's crypt module, which this node's Python (3.13 or later) "
                               "no longer has; openssl passwd -6 makes %d rounds with a random salt for each password, "
                               "so leave hash_rounds at %d" % (self.rounds, ROUNDS_DEFAULT, ROUNDS_DEFAULT))
        binary = self.binary or shutil.which("openssl", path=os.environ.get("PATH", "") + os.pathsep + "/usr/bin:/bin")
        if not binary:
            raise MailboxError("hash_rounds: this node's Python has no crypt module and openssl is not installed; "
                               "install it (apt-get install openssl) to hash passwords")
        data = ("\n".join(passwords) + "\n").encode("ascii")
        try:
            done = subprocess.run([binary, "passwd", "-6", "-stdin"], input=data, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, check=False, timeout=300, env=dict(os.environ, LC_ALL="C"))
        except (OSError, subprocess.SubprocessError) as exc:
            raise MailboxError("hash_rounds: cannot run %s passwd -6: %s" % (binary, exc))
        hashes = done.stdout.decode("ascii", "replace").split()
        if done.returncode != 0 or len(hashes) != len(passwords) or not all(SHA512_CRYPT.match(h) for h in hashes):
            raise MailboxError("hash_rounds: %s passwd -6 -stdin failed (exit %d, %d of %d hashes): %s"
                               % (binary, done.returncode, len(hashes), len(passwords),
                                  done.stderr.decode("utf-8", "replace").strip()[:300]))
        return hashes


def has_crypt():
    return _crypt is not None and getattr(_crypt, "METHOD_SHA512", None) in getattr(_crypt, "methods", ())


def default_hasher(rounds=ROUNDS_DEFAULT):
    return CryptHasher(rounds) if has_crypt() else OpensslHasher(rounds)


# ------------------------------------------------------------------ names
def display_name(first, last):
    return "%s %s" % (first.capitalize(), last.capitalize())


def name_from_local_part(local):
    """``emma.walker`` -> ``Emma Walker``: the display name of a listed mailbox given without one."""
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part) or local


def naming_space(naming):
    """Every local part ``naming`` can make from the embedded lists -> (first, last) it came from."""
    make = LOCAL_PART_MAKERS[naming]
    space = {}
    for first in FIRST_NAMES:
        for last in LAST_NAMES:
            if first != last:
                space.setdefault(make(first, last), (first, last))
    return space


def generate_names(count, naming, taken, rng=None):
    """``count`` new (local part, display name) pairs, none of them in ``taken``.

    Random picks first (cheap while the name space is far from full); when they keep colliding,
    a draw from what is left of the whole space. Raises MailboxError when it is exhausted.
    """
    if count <= 0:
        return []
    rng = rng or secrets.SystemRandom()
    make = LOCAL_PART_MAKERS[naming]
    taken = set(taken)
    names = []
    attempts = 0
    while len(names) < count and attempts < 4 * count + 64:
        attempts += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = make(first, last)
        if first == last or local in taken:
            continue
        taken.add(local)
        names.append((local, display_name(first, last)))
    if len(names) < count:
        space = naming_space(naming)
        left = sorted(local for local in space if local not in taken)
        need = count - len(names)
        if len(left) < need:
            raise MailboxError("naming: %s makes %d different local parts from the embedded name lists and %d of them "
                               "are in use or in the domain's history, so %d more can be made, not the %d asked for; "
                               "choose another naming (first.last has the most) or give the mailboxes as a list"
                               % (naming, len(space), len(space) - len(left) - len(names), len(left) + len(names),
                                  count))
        for local in rng.sample(left, need):
            names.append((local, display_name(*space[local])))
    return names


# ------------------------------------------------------------------ files
def _root_hint(exc):
    if getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
        return " - the module must run as root (become: true)"
    return ""


def _read_bytes(path, field):
    """The file's bytes, None when it does not exist; a MailboxError naming ``field`` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise MailboxError("%s: cannot read %s: %s%s" % (field, path, exc.strerror or exc, _root_hint(exc)))


def read_users(path, domain):
    """The passwd-file of ``domain``: {local part: entry}, in file order, and its bytes (None when absent)."""
    data = _read_bytes(path, "users_dir")
    if data is None:
        return {}, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MailboxError("users_dir: %s is not UTF-8 text" % path)
    entries, lines = {}, {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":", 7)
        fields += [""] * (8 - len(fields))
        local, at, user_domain = fields[0].rpartition("@")
        if not at or not local or user_domain.lower() != domain:
            raise MailboxError("users_dir: %s line %d: %r is not a user of %s (user@%s); this file holds the "
                               "domain's mailboxes only" % (path, number, fields[0], domain, domain))
        if local in entries:
            raise MailboxError("users_dir: %s line %d: %s appears again (first on line %d); remove one of them"
                               % (path, number, fields[0], lines[local]))
        extras = fields[7].split()
        quota = None
        for extra in extras:
            if extra.startswith(QUOTA_FIELD):
                quota = extra[len(QUOTA_FIELD):]
        entries[local] = {"local": local, "password": fields[1], "name": fields[4], "quota": quota,
                          "extras": [extra for extra in extras if not extra.startswith(QUOTA_FIELD)],
                          "line": line, "render": False}
        lines[local] = number
    return entries, data


def stored_hash(field):
    """The SHA512-CRYPT hash of a users file's password field, or None for any other scheme (never a plain text)."""
    if isinstance(field, str) and field.startswith(SCHEME) and SHA512_CRYPT.match(field[len(SCHEME):]):
        return field[len(SCHEME):]
    return None


def verify_password(password, hashed):
    """True when ``password`` matches the SHA512-CRYPT ``hashed`` ($6$...).

    crypt() where Python has it, else ``openssl passwd -6 -salt`` (default rounds only).
    """
    if not password or not hashed or not SHA512_CRYPT.match(hashed):
        return False
    if has_crypt():
        return _crypt.crypt(password, hashed) == hashed
    setting, _sep, _digest = hashed.rpartition("$")
    salt = setting.split("$")[-1]
    if "rounds=" in setting:
        raise MailboxError("hash: a SHA512-CRYPT hash with a rounds count needs Python's crypt module to check, which "
                           "this Python (3.13 or later) no longer has")
    binary = shutil.which("openssl", path=os.environ.get("PATH", "") + os.pathsep + "/usr/bin:/bin")
    if not binary:
        raise MailboxError("hash: this Python has no crypt module and openssl is not installed, so no password can be checked")
    done = subprocess.run([binary, "passwd", "-6", "-salt", salt, "-stdin"], input=(password + "\n").encode("ascii"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    return done.returncode == 0 and done.stdout.decode("ascii", "replace").strip() == hashed


def render_users(domain, entries, uid, gid, mail_root):
    """The passwd-file's bytes: a header, then one line a mailbox sorted by address (stable across runs)."""
    out = ["# %s: Dovecot passwd-file of coldrig.infra.mailboxes, one line a mailbox. Edits to lines it "
           "manages are overwritten.\n" % domain]
    for local in sorted(entries, key=lambda key: "%s@%s" % (key, domain)):
        entry = entries[local]
        if not entry["render"]:
            out.append(entry["line"] + "\n")
            continue
        extras = ([QUOTA_FIELD + entry["quota"]] if entry["quota"] else []) + entry["extras"]
        out.append("%s@%s:%s:%d:%d:%s:%s::%s\n" % (local, domain, entry["password"], uid, gid, entry["name"],
                                                   os.path.join(mail_root, domain, local), " ".join(extras)))
    return "".join(out).encode("utf-8")


def read_state(path, domain):
    """The domain's history {local part: record} and the file's bytes (None when absent)."""
    data = _read_bytes(path, "state_dir")
    if data is None:
        return {}, None
    try:
        state = json.loads(data.decode("utf-8"))
        history = state["mailboxes"]
        if state.get("domain") != domain or not isinstance(history, dict) or \
                not all(isinstance(record, dict) for record in history.values()):
            raise ValueError("not the history of %s" % domain)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise MailboxError("state_dir: %s is not coldrig's mailbox history of %s (%s); it holds every name ever used "
                           "for the domain, so it is not overwritten: repair it or move it away" % (path, domain, exc))
    return history, data


def render_state(domain, history):
    state = {"domain": domain, "format": STATE_FORMAT, "mailboxes": history}
    return (json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _set_mode(path, mode, gid):
    """Give ``path`` ``mode`` and, unless ``gid`` is None, that group."""
    os.chmod(path, mode)
    if gid is not None:
        os.chown(path, -1, gid)


def _put_back_mode(path, mode, gid, check_mode):
    """True when ``path`` has another mode or group than ``mode`` and ``gid``, which are put back (not in check mode)."""
    st = os.stat(path)
    wrong = stat.S_IMODE(st.st_mode) != mode or (gid is not None and st.st_gid != gid)
    if wrong and not check_mode:
        _set_mode(path, mode, gid)
    return wrong


def write_atomically(path, data, mode, gid=None):
    """Write ``data`` to a temporary file in the same directory (mode 0600 from the start), then rename it."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _set_mode(tmp, mode, gid)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def sync_file(path, data, old, mode, gid, check_mode):
    """Make ``path`` hold ``data`` with ``mode`` and group ``gid``; True when something changed (or would)."""
    if old == data:
        return _put_back_mode(path, mode, gid, check_mode)
    if not check_mode:
        write_atomically(path, data, mode, gid)
    return True


def ensure_dir(path, mode, gid, check_mode, enforce):
    """Create ``path`` (mode, group) when missing; with ``enforce`` also put back its mode and group."""
    if not os.path.isdir(path):
        if not check_mode:
            os.makedirs(path)
            _set_mode(path, mode, gid)
        return True
    if not enforce:
        return False
    return _put_back_mode(path, mode, gid, check_mode)


def _remove_home(path):
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def _io(field, func, *args):
    """``func(*args)``, with a failure of the file system reported as MailboxError on ``field``."""
    try:
        return func(*args)
    except (IOError, OSError) as exc:
        raise MailboxError("%s: cannot update %s: %s%s" % (field, getattr(exc, "filename", None) or args[0],
                                                           exc.strerror or exc, _root_hint(exc)))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ the run
class DomainRun:
    """One call for one domain: what the node has, the changes asked for, and the result."""

    def __init__(self, params, check_mode=False, hasher=None, rng=None, now=None):
        self.p = p = check_params(params)
        self.domain = p["domain"]
        self.check_mode = check_mode
        self.hasher, self.rng, self.now = hasher, rng, now or utc_now()
        self.uid, self.gid = vmail_ids(p["vmail_user"], p["vmail_group"])
        self.file_gid = group_id(p["group"])
        self.warnings = []
        self.users_path = os.path.join(p["users_dir"], self.domain)
        self.state_path = os.path.join(p["state_dir"], self.domain + ".json")
        self.users, self.users_bytes = read_users(self.users_path, self.domain)
        self.history, self.state_bytes = read_state(self.state_path, self.domain)
        self.before = sorted(self.email(local) for local in self.users)
        self.added, self.rotated, self.removed, self.homes = [], [], [], []
        self.passwords = {}
        self.surplus = 0

    def email(self, local):
        return "%s@%s" % (local, self.domain)

    def adopt(self):
        """Lines of the users file that the history does not know (written by hand) join it."""
        for local, entry in self.users.items():
            record = self.history.get(local)
            if record is None:
                self.history[local] = {"name": entry["name"], "created": self.now, "adopted": True,
                                       "daily_limit": None, "removed": None}
            elif record.get("removed"):
                record["removed"] = None

    def add(self, local, name, limit):
        self.users[local] = {"local": local, "password": SCHEME + "*", "name": name, "quota": self.p["quota"],
                             "extras": [], "render": True}
        self.history[local] = {"name": name, "created": self.now, "daily_limit": limit, "removed": None}
        self.added.append(local)

    def update(self, local, item=None):
        """An existing mailbox the call targets: its line is rendered again with this call's options."""
        entry, record = self.users[local], self.history[local]
        entry["render"] = True
        entry["quota"] = self.p["quota"]
        name = (item or {}).get("name") or entry["name"] or record.get("name") or name_from_local_part(local)
        entry["name"] = record["name"] = name
        if item and item.get("daily_limit") is not None:
            record["daily_limit"] = item["daily_limit"]
        elif self.p["daily_limit"] is not None:
            record["daily_limit"] = self.p["daily_limit"]
        if self.p["rotate_passwords"] or local in self.p["rotate_mailboxes"]:
            self.rotated.append(local)
            record["rotated"] = self.now

    def plan(self):
        p = self.p
        for index, local in enumerate(p["rotate_mailboxes"]):
            if local not in self.users:
                raise MailboxError("rotate_mailboxes[%d]: %s is not a mailbox of %s (it has %d); give an existing one"
                                   % (index, self.email(local), self.domain, len(self.users)))
            if p["state"] == "absent" or (p["kind"] == "list" and local not in [i["local_part"] for i in p["request"]]):
                raise MailboxError("rotate_mailboxes[%d]: %s is not one of the mailboxes this call targets; with a list, "
                                   "list it in mailboxes too" % (index, self.email(local)))
        if p["state"] == "absent":
            for item in p["request"]:
                self.remove(item["local_part"])
        elif p["kind"] == "count":
            existing = sorted(self.users)
            for local in existing:
                self.update(local)
            self.surplus = max(0, len(existing) - p["request"])
            if self.surplus:
                self.warnings.append("%s has %d mailboxes, %d more than the %d asked for; none is removed (state=absent "
                                     "with a list removes mailboxes)" % (self.domain, len(existing), self.surplus,
                                                                         p["request"]))
            for local, name in self.new_names(p["request"] - len(existing)):
                self.add(local, name, p["daily_limit"])
        else:
            for item in p["request"]:
                self.present(item)

    def new_names(self, count):
        """``count`` new (local part, display name) pairs: those the plan named (password_hashes), or generated."""
        if count <= 0:
            return []
        taken = set(self.users) | set(self.history)
        hashes = self.p["password_hashes"]
        if hashes is None or (self.check_mode and not self.p["plan"] and not hashes):
            return generate_names(count, self.p["naming"], taken, self.rng)
        planned = sorted(local for local in hashes if local not in taken)
        if len(planned) < count:
            raise MailboxError("password_hashes: %s needs %d new mailboxes and the hashes name %d local parts that are "
                               "new to it; run the module with plan=true again and give a hash for each mailbox of its "
                               "result that has new_password set" % (self.domain, count, len(planned)))
        space = naming_space(self.p["naming"])
        return [(local, display_name(*space[local]) if local in space else name_from_local_part(local))
                for local in planned[:count]]

    def present(self, item):
        local = item["local_part"]
        if local in self.users:
            self.update(local, item)
            return
        record = self.history.get(local)
        if record and record.get("removed"):
            self.warnings.append("%s was removed on %s; it is made again because mailboxes[%d] asks for it"
                                 % (self.email(local), record["removed"], item["index"]))
        limit = item["daily_limit"] if item["daily_limit"] is not None else self.p["daily_limit"]
        self.add(local, item["name"] or name_from_local_part(local), limit)

    def remove(self, local):
        if local in self.users:
            del self.users[local]
            self.removed.append(local)
            self.history[local]["removed"] = self.now
        home = os.path.join(self.p["mail_root"], self.domain, local)
        if self.p["remove_maildir"] and os.path.lexists(home):
            self.homes.append(home)

    def hash_new_passwords(self):
        """New passwords for added and rotated mailboxes, hashed in one batch (not in check mode)."""
        if self.check_mode:
            return
        targets = sorted(set(self.added) | set(self.rotated))
        hashes = self.p["password_hashes"]
        if hashes is not None:
            missing = [self.email(local) for local in targets if local not in hashes]
            if missing:
                raise MailboxError("password_hashes: no hash for %s, which this call would %s; run the module with "
                                   "plan=true again and give a hash for each mailbox of its result that has new_password "
                                   "set" % (", ".join(missing[:5]) + (" and %d more" % (len(missing) - 5) if len(missing) > 5 else ""),
                                            "create or give a new password"))
            for local in targets:
                self.users[local]["password"] = SCHEME + hashes[local]
            return
        for local in targets:
            self.passwords[local] = new_password(self.p["password_length"])
        hasher = self.hasher or default_hasher(self.p["hash_rounds"])
        for local, hashed in zip(targets, hasher.hash_all([self.passwords[local] for local in targets])):
            self.users[local]["password"] = SCHEME + hashed

    def write(self):
        """History first (a name is never lost from it), then the users file, then homes; True when anything changed."""
        p, check = self.p, self.check_mode
        new_users = render_users(self.domain, self.users, self.uid, self.gid, p["mail_root"])
        new_state = render_state(self.domain, self.history)
        changed = _io("state_dir", ensure_dir, p["state_dir"], STATE_DIR_MODE, None, check, True)
        changed |= _io("state_dir", sync_file, self.state_path, new_state, self.state_bytes, STATE_MODE, None, check)
        changed |= _io("users_dir", ensure_dir, p["users_dir"], USERS_DIR_MODE, self.file_gid, check, False)
        changed |= _io("users_dir", sync_file, self.users_path, new_users, self.users_bytes, USERS_MODE,
                       self.file_gid, check)
        for home in self.homes:
            if not check:
                _io("mail_root", _remove_home, home)
            changed = True
        return changed

    def result(self, changed):
        boxes = []
        for local in sorted(self.users, key=self.email):
            entry = self.users[local]
            box = {"email": self.email(local), "local_part": local, "name": entry["name"],
                   "daily_limit": self.history[local].get("daily_limit"), "quota": entry["quota"],
                   "created": local in self.added}
            if local in self.passwords:
                box["password"] = self.passwords[local]
            if self.p["plan"] or self.p["password_hashes"] is not None:
                box["new_password"] = local in self.added or local in self.rotated
            if self.p["plan"]:
                # Only a read-only call returns hashes: Ansible would mask those equal to a no_log password_hashes value.
                box["hash"] = stored_hash(entry["password"])
            boxes.append(box)
        after = [box["email"] for box in boxes]
        return {
            "changed": changed and not self.p["plan"],
            "domain": self.domain,
            "mailboxes": boxes,
            "added": sorted(self.email(local) for local in self.added),
            "removed": sorted(self.email(local) for local in self.removed),
            "rotated": sorted(self.email(local) for local in self.rotated),
            "surplus": self.surplus,
            "maildirs_removed": sorted(self.homes),
            "users_file": self.users_path,
            "state_file": self.state_path,
            "diff": {"before": "".join(e + "\n" for e in self.before), "after": "".join(e + "\n" for e in after),
                     "before_header": self.users_path, "after_header": self.users_path},
        }


def run(params, check_mode=False, hasher=None, rng=None, now=None):
    """Bring one domain's mailboxes to the asked state; returns (result, warnings).

    ``params`` are the module's options (missing or None ones take their defaults). ``hasher``,
    ``rng`` and ``now`` are for tests and the benchmark.
    """
    domain_run = DomainRun(params, check_mode=check_mode or bool(params.get("plan")), hasher=hasher, rng=rng, now=now)
    domain_run.adopt()
    domain_run.plan()
    domain_run.hash_new_passwords()
    changed = domain_run.write()
    return domain_run.result(changed), domain_run.warnings
