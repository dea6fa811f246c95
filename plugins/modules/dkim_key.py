#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dkim_key
short_description: The DKIM keys of one domain on the mail node, and their rotation
description:
  - Keeps the DKIM private keys of O(domain) in O(key_dir) on the target node, one file per selector,
    C(<key_dir>/<domain>.<selector>.key) (PEM, PKCS#8, mode C(0600)), and returns the TXT records to publish
    at C(<selector>._domainkey.<domain>).
  - Which selectors exist, which one signs, and when each was made, started signing, and was retired is kept
    on the node in C(<key_dir>/coldrig-dkim.json), a small JSON file that this module owns. A re-run from
    another checkout sees the same state.
  - The first run makes a key under O(selector), and it signs at once (no mail has been sent with it yet).
  - A rotation never breaks mail in flight. It makes a new key under a new selector, C(pending). The caller
    publishes its record beside the old one, verifies that the authoritative servers answer it, and passes
    the selector in O(answering). Only then does the new key sign. The old selector becomes C(retiring) and
    its record stays published for O(grace_days). After that it is returned in RV(expired); the caller removes
    its record and passes the selector in O(removed), and then the module deletes the old key (C(retired)).
  - A rotation is asked with O(rotate=true), and happens once per request. While a run after run passes
    O(rotate=true), no second new key is made. A run with O(rotate=false) ends the request, so a later
    O(rotate=true) asks for a new rotation. A rotation asked while another is still C(pending) makes no
    second new key.
  - A O(selector) that the node's state does not know yet, on a domain that already has a signing key, is a
    rotation to that selector (the same safe steps).
  - The new selector of O(rotate=true) is the signing selector with its trailing number plus one, keeping
    leading zeros (C(s1) -> C(s2), C(s2026) -> C(s2027), C(k09) -> C(k10)); a selector without a trailing
    number gets C(2) appended (C(mail) -> C(mail2)). A selector that the state already knows is skipped.
  - An existing key file of another type or size than asked is an error, unless O(rotate=true) (the rotation
    then makes a key of the asked type). A file that is not a readable private key is always an error; it is
    never overwritten.
  - The private keys never leave the node and never appear in the module's output, diff or logs.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  domain:
    description: The signing domain (C(d=) of the signature).
    type: str
    required: true
  selector:
    description:
      - The selector (C(s=) of the signature) of the domain's first key, e.g. C(s1).
      - Once the domain has a signing key, the node's state says which selector signs. A selector the state
        does not know starts a rotation to it; a selector it knows (e.g. the one a rotation replaced) changes nothing.
    type: str
    required: true
  key_dir:
    description: The directory of the keys and of C(coldrig-dkim.json) on the node. It must exist.
    type: path
    required: true
  type:
    description:
      - Key algorithm of new keys. C(rsa) is what every receiver verifies.
      - C(ed25519) (RFC 8463) is small but not yet verified everywhere, so publish it beside an RSA selector.
    type: str
    default: rsa
    choices: [rsa, ed25519]
  size:
    description: RSA key size in bits. Ignored for C(ed25519).
    type: int
    default: 2048
    choices: [1024, 2048, 3072, 4096]
  owner:
    description: Owner of the private key files (the signer must read them, e.g. C(opendkim)).
    type: str
    default: root
  group:
    description: Group of the private key files.
    type: str
    default: root
  rotate:
    description:
      - Ask for one rotation to a new selector (see the description). Keep it set on re-runs of the same
        request; set it to C(false) (the default) to end the request.
    type: bool
    default: false
  grace_days:
    description:
      - How long, in days, a replaced selector's record stays published after the new key started signing,
        so that mail signed with the old key and still in flight verifies.
      - C(0) makes the old selector expire at once (its record is removed on the next run); tests use it.
    type: float
    default: 7
  answering:
    description:
      - Selectors whose TXT records the authoritative DNS servers answer now, checked by the caller (e.g. with
        M(coldrig.infra.dns_verify)) after publishing RV(publish). A C(pending) selector among them starts to sign.
    type: list
    elements: str
    default: []
  removed:
    description:
      - Selectors whose TXT records the caller removed from DNS after this module returned them in RV(expired).
        A C(retiring) selector among them whose grace is over has its key deleted and becomes C(retired).
    type: list
    elements: str
    default: []
  state:
    description: C(present) keeps the domain's keys; C(absent) removes every key of the domain and its state.
    type: str
    default: present
    choices: [present, absent]
requirements:
  - cryptography on the target node (Debian and Ubuntu package C(python3-cryptography))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The module does not tell the signer which key signs; the caller does (the C(postfix) role's C(tasks_from=dkim)
    reads C(coldrig-dkim.json) and writes OpenDKIM's tables).
"""

EXAMPLES = r"""
- name: DKIM keys of example.com (s1 at first)
  coldrig.infra.dkim_key:
    domain: example.com
    selector: s1
    key_dir: /etc/dkimkeys
    owner: opendkim
    group: opendkim
    rotate: "{{ coldrig_dkim_rotate | default(false) }}"
    grace_days: 7
  register: dkim

- name: Publish every selector that must answer; remove the expired ones
  coldrig.infra.dns_records:
    provider: cloudflare
    zone: example.com
    records: "{{ dkim.publish | map(attribute='record') | list }}"
  delegate_to: localhost

- name: Wait until the authoritative servers answer them
  coldrig.infra.dns_verify:
    zone: example.com
    records: "{{ dkim.publish | map(attribute='record') | list }}"
  delegate_to: localhost

- name: Sign with a pending key now that its record answers; retire expired keys whose record is gone
  coldrig.infra.dkim_key:
    domain: example.com
    selector: s1
    key_dir: /etc/dkimkeys
    owner: opendkim
    group: opendkim
    answering: "{{ dkim.publish | map(attribute='selector') | list }}"
    removed: "{{ dkim.expired | map(attribute='selector') | list }}"
"""

RETURN = r"""
selector:
  description: The selector that signs after this run.
  returned: when state=present
  type: str
  sample: s1
path:
  description: The private key file of the signing selector.
  returned: when state=present
  type: str
  sample: /etc/dkimkeys/example.com.s1.key
record_name:
  description: Where the signing selector's record is published.
  returned: when state=present
  type: str
  sample: s1._domainkey.example.com
dns_txt:
  description: The TXT value of the signing selector.
  returned: when state=present
  type: str
  sample: "v=DKIM1; k=rsa; p=MIIBIjANBgkqh..."
public_key:
  description: The signing key's public key as DKIM publishes it (base64 DER SubjectPublicKeyInfo for RSA, raw key for ed25519).
  returned: when state=present
  type: str
key_type:
  description: C(rsa) or C(ed25519), of the signing key.
  returned: when state=present
  type: str
key_size:
  description: Size in bits of the signing key.
  returned: when state=present
  type: int
fingerprint:
  description: SHA-256 of the signing key's public DER, hex; changes exactly when the signing key changes.
  returned: when state=present
  type: str
pending:
  description: The selector made by a rotation that does not sign yet (its record must answer first), or null.
  returned: when state=present
  type: str
publish:
  description:
    - Every selector whose record must be published now (the pending, signing and retiring ones, in that order),
      with its TXT value, and C(record), a record for M(coldrig.infra.dns_records).
  returned: when state=present
  type: list
  elements: dict
  sample: [{selector: s2, status: pending, record_name: s2._domainkey.example.com, dns_txt: "v=DKIM1; k=rsa; p=MIIB...",
            record: {type: TXT, name: s2._domainkey.example.com, content: "v=DKIM1; k=rsa; p=MIIB..."}}]
expired:
  description: Retiring selectors whose grace is over; remove their records, then pass them in O(removed).
  returned: when state=present
  type: list
  elements: dict
  sample: [{selector: s1, record_name: s1._domainkey.example.com, record: {type: TXT, name: s1._domainkey.example.com}}]
selectors:
  description: The domain's state as kept in C(coldrig-dkim.json) after this run (no key material).
  returned: always
  type: dict
  sample: {s1: {status: retiring, created: "2026-11-01T10:00:00Z", signing_since: "2026-11-01T10:00:00Z",
                retire_after: "2026-12-10T09:00:00Z", fingerprint: "ab12..."}}
state_file:
  description: The state file on the node.
  returned: always
  type: str
  sample: /etc/dkimkeys/coldrig-dkim.json
"""

import base64
import calendar
import copy
import hashlib
import json
import os
import re
import tempfile
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils.validate import (
    dkim_selector_problem,
    domain_problem,
    normalise_name,
)

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

STATE_FILE = "coldrig-dkim.json"
STATE_VERSION = 1
LIVE = ("pending", "signing", "retiring")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TRAILING_NUMBER = re.compile(r"^(.*?)([0-9]+)$")


def current_time():
    """Seconds since the epoch (a function of its own, so that the unit tests can move the clock)."""
    return time.time()


class KeyFileError(Exception):
    """A key file that must not be used or overwritten."""


# ---------------------------------------------------------------- keys
def generate(key_type, size):
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def describe(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa", key.key_size
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519", 256
    return type(key).__name__, 0


def public_parts(key):
    key_type, size = describe(key)
    public = key.public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key_type == "ed25519":
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        published = base64.b64encode(raw).decode("ascii")
    else:
        published = base64.b64encode(der).decode("ascii")
    return {
        "public_key": published,
        "dns_txt": "v=DKIM1; k=%s; p=%s" % (key_type, published),
        "key_type": key_type,
        "key_size": size,
        "fingerprint": hashlib.sha256(der).hexdigest(),
    }


def load(path):
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError("%s exists but is not a readable unencrypted PEM private key (%s)" % (path, exc))


def _atomic_write(path, data, mode):
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".dkim-", dir=directory)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_key(module, path, key):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _atomic_write(path, pem, 0o600)
    module.set_owner_if_different(path, module.params["owner"], False)
    module.set_group_if_different(path, module.params["group"], False)


# ---------------------------------------------------------------- state
def now_text(now):
    return time.strftime(_TIME_FORMAT, time.gmtime(now))


def parse_time(text):
    return calendar.timegm(time.strptime(text, _TIME_FORMAT))


def read_state(path):
    """The node's state file as a dict (an empty state when there is none yet)."""
    if not os.path.exists(path):
        return {"version": STATE_VERSION, "domains": {}}
    with open(path) as handle:
        state = json.load(handle)
    if not isinstance(state, dict) or not isinstance(state.get("domains"), dict):
        raise ValueError("it is not a coldrig DKIM state (no 'domains' object)")
    return state


def next_selector(selector, known):
    """The deterministic successor of ``selector`` that ``known`` does not hold: s1 -> s2, k09 -> k10, mail -> mail2."""
    match = _TRAILING_NUMBER.match(selector)
    prefix, number, width = (match.group(1), int(match.group(2)), len(match.group(2))) if match else (selector, 1, 1)
    while True:
        number += 1
        candidate = "%s%0*d" % (prefix, width, number)
        if candidate not in known:
            return candidate


class DomainKeys(object):
    """The rotation state machine of one domain: pending -> signing -> retiring -> retired."""

    def __init__(self, module, domain, entry, now):
        self.module = module
        self.params = module.params
        self.domain = domain
        self.entry = entry
        self.now = now
        self.keys = {}        # selector -> private key object (loaded or new)
        self.new_keys = {}    # selector -> private key to write
        self.remove = []      # key files to delete
        self.want_type = self.params["type"]
        self.want_size = 256 if self.want_type == "ed25519" else self.params["size"]

    # -- helpers
    @property
    def selectors(self):
        return self.entry.setdefault("selectors", {})

    def path(self, selector):
        return os.path.join(self.params["key_dir"], "%s.%s.key" % (self.domain, selector))

    def with_status(self, status):
        return sorted(name for name, info in self.selectors.items() if info.get("status") == status)

    def signing(self):
        found = self.with_status("signing")
        return found[0] if found else None

    def fail(self, msg):
        self.module.fail_json(msg=msg, selectors=self.selectors)

    def load_existing(self, selector):
        """The key at ``selector``'s file, or None when there is no file; fails on a file that is not a key."""
        path = self.path(selector)
        if not os.path.exists(path):
            return None
        try:
            return load(path)
        except KeyFileError as exc:
            self.fail("key_dir: %s; the module never overwrites it: move it away or restore the key" % exc)
        except (IOError, OSError) as exc:
            self.fail("key_dir: cannot read %s: %s" % (path, exc.strerror or exc))

    def new_key(self, selector, status):
        key = generate(self.want_type, self.want_size)
        self.keys[selector] = key
        self.new_keys[selector] = key
        parts = public_parts(key)
        info = {"status": status, "created": now_text(self.now), "type": parts["key_type"],
                "size": parts["key_size"], "fingerprint": parts["fingerprint"]}
        if status == "signing":
            info["signing_since"] = info["created"]
        self.selectors[selector] = info
        return key

    def adopt(self, selector, key, status):
        parts = public_parts(key)
        info = {"status": status, "created": now_text(self.now), "type": parts["key_type"],
                "size": parts["key_size"], "fingerprint": parts["fingerprint"], "adopted": True}
        if status == "signing":
            info["signing_since"] = info["created"]
        self.keys[selector] = key
        self.selectors[selector] = info

    # -- the steps
    def load_live(self):
        for selector in sorted(self.selectors):
            info = self.selectors[selector]
            if info.get("status") not in LIVE:
                continue
            key = self.load_existing(selector)
            if key is None:
                self.fail("key_dir: %s is missing, but %s says selector %s of %s is %s; restore the key, or remove "
                          "the domain's keys with state=absent and start again"
                          % (self.path(selector), STATE_FILE, selector, self.domain, info["status"]))
            if public_parts(key)["fingerprint"] != info.get("fingerprint"):
                self.fail("key_dir: %s is not the key that %s recorded for selector %s (fingerprint differs); "
                          "restore it, or remove the domain's keys with state=absent and start again"
                          % (self.path(selector), STATE_FILE, selector))
            self.keys[selector] = key

    def mismatch(self, path, found):
        """Why a key of type/size ``found`` cannot sign when another was asked, with the fix."""
        return ("%s holds a %s %d key, not the %s %d asked for; set rotate: true to rotate to a new selector with a "
                "%s %d key, or set type/size to %s %d" % (path, found[0], found[1], self.want_type, self.want_size,
                                                          self.want_type, self.want_size, found[0], found[1]))

    def first_key(self, selector):
        """No signing key yet: the asked selector signs at once (an existing key file there is adopted).

        Returns True when a new key was made (a rotation asked in the same run then has nothing to replace)."""
        key = self.load_existing(selector)
        if key is None:
            self.new_key(selector, "signing")
            return True
        if describe(key) != (self.want_type, self.want_size) and not self.params["rotate"]:
            self.fail("key_dir: " + self.mismatch(self.path(selector), describe(key)))
        self.adopt(selector, key, "signing")
        return False

    def check_signing_matches(self, signing):
        found = describe(self.keys[signing])
        if found != (self.want_type, self.want_size) and not self.params["rotate"]:
            self.fail("type: the signing key " + self.mismatch(self.path(signing), found))

    def start_rotation(self, asked, created_first):
        """Make a pending key when a rotation is asked (once per request) or a new selector is configured."""
        signing = self.signing()
        target = None
        if self.with_status("pending"):
            target = None  # one rotation at a time: the pending one finishes first
        elif asked not in self.selectors:
            target = asked
        elif self.params["rotate"] and not self.entry.get("rotate_requested") and not created_first:
            target = next_selector(signing, set(self.selectors))
            problem = dkim_selector_problem(target)
            if problem:
                self.fail("selector: the next selector after %r would be %r, which %s; set the selector to a new "
                          "one instead of rotate: true" % (signing, target, problem))
        if target is not None:
            self.new_key(target, "pending")
        if bool(self.entry.get("rotate_requested", False)) != self.params["rotate"]:
            self.entry["rotate_requested"] = self.params["rotate"]

    def promote(self):
        """A pending key whose record answers signs now; the key it replaces retires after the grace."""
        for selector in self.with_status("pending"):
            if selector not in self.params["answering"]:
                continue
            stamp = now_text(self.now)
            for old in self.with_status("signing"):
                info = self.selectors[old]
                info["status"] = "retiring"
                info["signing_until"] = stamp
                info["retire_after"] = now_text(self.now + self.params["grace_days"] * 86400)
            self.selectors[selector]["status"] = "signing"
            self.selectors[selector]["signing_since"] = stamp

    def expired(self):
        return [name for name in self.with_status("retiring")
                if parse_time(self.selectors[name]["retire_after"]) <= self.now]

    def retire(self):
        """An expired retiring key whose record the caller removed is deleted."""
        for selector in self.expired():
            if selector not in self.params["removed"]:
                continue
            info = self.selectors[selector]
            info["status"] = "retired"
            info["retired"] = now_text(self.now)
            self.keys.pop(selector, None)
            if os.path.exists(self.path(selector)):
                self.remove.append(self.path(selector))

    def record(self, selector):
        parts = public_parts(self.keys[selector])
        name = "%s._domainkey.%s" % (selector, self.domain)
        return dict(parts, selector=selector, status=self.selectors[selector]["status"], record_name=name,
                    path=self.path(selector),
                    record={"type": "TXT", "name": name, "content": parts["dns_txt"]})


def summary(domain, selectors):
    """One line per selector, for the diff (no key material)."""
    lines = []
    for name in sorted(selectors):
        info = selectors[name]
        lines.append("%s._domainkey.%s %s key %s%s\n" % (
            name, domain, info.get("status"), info.get("fingerprint", "?"),
            " until %s" % info["retire_after"] if info.get("status") == "retiring" else ""))
    return "".join(lines)


def check_names(module):
    problem = domain_problem(module.params["domain"])
    if problem:
        module.fail_json(msg="domain: %r %s" % (module.params["domain"], problem))
    problem = dkim_selector_problem(module.params["selector"])
    if problem:
        module.fail_json(msg="selector: %r %s" % (module.params["selector"], problem))
    for field in ("answering", "removed"):
        for value in module.params[field]:
            problem = dkim_selector_problem(value)
            if problem:
                module.fail_json(msg="%s: %r %s" % (field, value, problem))
    if module.params["grace_days"] < 0:
        module.fail_json(msg="grace_days: %r is negative; give 0 or more days" % module.params["grace_days"])
    return normalise_name(module.params["domain"]), module.params["selector"]


def apply(module, state_path, state, changed_state, domain_keys):
    if module.check_mode:
        return
    for selector, key in domain_keys.new_keys.items():
        write_key(module, domain_keys.path(selector), key)
    if changed_state:
        _atomic_write(state_path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8"), 0o644)
    for path in domain_keys.remove:
        os.unlink(path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            selector=dict(type="str", required=True),
            key_dir=dict(type="path", required=True),
            type=dict(type="str", default="rsa", choices=["rsa", "ed25519"]),
            size=dict(type="int", default=2048, choices=[1024, 2048, 3072, 4096]),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            rotate=dict(type="bool", default=False),
            grace_days=dict(type="float", default=7),
            answering=dict(type="list", elements="str", default=[]),
            removed=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography (python3-cryptography)"),
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    domain, selector = check_names(module)
    params = module.params
    key_dir = params["key_dir"]
    state_path = os.path.join(key_dir, STATE_FILE)
    if not os.path.isdir(key_dir):
        module.fail_json(msg="key_dir: the directory %s does not exist; make it first (the signer must read it)" % key_dir)
    try:
        state = read_state(state_path)
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg="key_dir: %s cannot be read as the DKIM state: %s; repair or remove it"
                         % (state_path, getattr(exc, "strerror", None) or exc))
    before_state = copy.deepcopy(state)
    entry = state["domains"].setdefault(domain, {"selectors": {}})
    before = summary(domain, before_state["domains"].get(domain, {}).get("selectors", {}))
    result = dict(changed=False, state_file=state_path)

    if params["state"] == "absent":
        paths = set(os.path.join(key_dir, "%s.%s.key" % (domain, name)) for name in entry.get("selectors", {}))
        paths.add(os.path.join(key_dir, "%s.%s.key" % (domain, selector)))
        paths = sorted(path for path in paths if os.path.exists(path))
        state["domains"].pop(domain)
        changed_state = state != before_state
        if not module.check_mode:
            for path in paths:
                os.unlink(path)
            if changed_state:
                _atomic_write(state_path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8"), 0o644)
        result.update(changed=bool(paths) or changed_state, selectors={}, removed_files=paths,
                      diff=dict(before=before, after=""))
        module.exit_json(**result)

    machine = DomainKeys(module, domain, entry, current_time())
    machine.load_live()
    signing = machine.signing()
    created_first = False
    if signing is None:
        created_first = machine.first_key(selector)
    else:
        machine.check_signing_matches(signing)
    machine.start_rotation(selector, created_first)
    machine.promote()
    machine.retire()

    changed_state = state != before_state
    apply(module, state_path, state, changed_state, machine)
    modes_changed = False
    for name in machine.keys:
        path = machine.path(name)
        if module.check_mode:
            modes_changed |= os.path.exists(path) and (os.stat(path).st_mode & 0o7777) != 0o600
        else:
            file_args = module.load_file_common_arguments(dict(path=path, mode="0600", owner=params["owner"],
                                                               group=params["group"]))
            modes_changed |= module.set_fs_attributes_if_different(file_args, False)

    signing = machine.signing()
    signed = machine.record(signing)
    publish = [machine.record(name) for status in LIVE for name in machine.with_status(status)
               if name not in machine.expired()]
    expired = [{"selector": name, "record_name": "%s._domainkey.%s" % (name, domain),
                "record": {"type": "TXT", "name": "%s._domainkey.%s" % (name, domain)}} for name in machine.expired()]
    pending = machine.with_status("pending")
    result.update(
        changed=changed_state or modes_changed or bool(machine.new_keys) or bool(machine.remove),
        selector=signing, path=signed["path"], record_name=signed["record_name"], dns_txt=signed["dns_txt"],
        public_key=signed["public_key"], key_type=signed["key_type"], key_size=signed["key_size"],
        fingerprint=signed["fingerprint"], pending=pending[0] if pending else None,
        publish=publish, expired=expired, selectors=entry["selectors"],
        diff=dict(before=before, after=summary(domain, entry["selectors"])),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
