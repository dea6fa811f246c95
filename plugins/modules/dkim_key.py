#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dkim_key
short_description: A DKIM key pair for one domain and selector, on the mail node
description:
  - Makes sure a DKIM private key exists at O(path) on the target node, with mode C(0600), and returns
    the public half as the TXT value to publish at C(<selector>._domainkey.<domain>).
  - An existing valid key of the asked type and size is kept, so re-runs change nothing. O(rotate=true)
    replaces it with a new one.
  - An existing file that is not a readable private key, or a key of another type or size, is an
    error - never silently overwritten - unless O(rotate=true).
  - The private key never leaves the node and never appears in the module's output, diff or logs.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  domain:
    description: The signing domain (C(d=) of the signature).
    type: str
    required: true
  selector:
    description: The selector (C(s=) of the signature), e.g. C(s2026).
    type: str
    required: true
  path:
    description: Where the private key lives on the node (PEM, PKCS#8). Its directory must exist.
    type: path
    required: true
  type:
    description:
      - Key algorithm. C(rsa) is what every receiver verifies.
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
    description: Owner of the private key file (the signer must read it, e.g. C(opendkim)).
    type: str
    default: root
  group:
    description: Group of the private key file.
    type: str
    default: root
  rotate:
    description: Replace the existing key with a new one (also replaces a corrupt or mismatching file).
    type: bool
    default: false
  state:
    description: C(present) keeps a key at O(path); C(absent) removes it.
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
"""

EXAMPLES = r"""
- name: DKIM key for example.com, selector s1
  coldrig.infra.dkim_key:
    domain: example.com
    selector: s1
    path: /etc/dkimkeys/example.com.s1.key
    owner: opendkim
    group: opendkim
  register: dkim

- name: Publish it
  coldrig.infra.dns_records:
    provider: cloudflare
    zone: example.com
    records:
      - {type: TXT, name: "{{ dkim.record_name }}", content: "{{ dkim.dns_txt }}"}
  delegate_to: localhost
"""

RETURN = r"""
public_key:
  description: The public key as DKIM publishes it (base64 DER SubjectPublicKeyInfo for RSA, raw key for ed25519).
  returned: when state=present
  type: str
dns_txt:
  description: The TXT value to publish.
  returned: when state=present
  type: str
  sample: "v=DKIM1; k=rsa; p=MIIBIjANBgkqh..."
record_name:
  description: Where to publish it.
  returned: always
  type: str
  sample: s1._domainkey.example.com
key_type:
  description: C(rsa) or C(ed25519).
  returned: when state=present
  type: str
key_size:
  description: Key size in bits.
  returned: when state=present
  type: int
fingerprint:
  description: SHA-256 of the public key DER, hex; changes exactly when the key changes.
  returned: when state=present
  type: str
"""

import base64
import hashlib
import os
import re
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*$")


class KeyFileError(Exception):
    """A key file that must not be used or overwritten."""


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


def write(module, path, key):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".dkim-", dir=directory)  # created with mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    module.set_owner_if_different(path, module.params["owner"], False)
    module.set_group_if_different(path, module.params["group"], False)


def check_names(module):
    domain = module.params["domain"].rstrip(".").lower()
    selector = module.params["selector"].lower()
    if "." not in domain or not _NAME.match(domain):
        module.fail_json(msg="domain: %r is not a valid domain name" % module.params["domain"])
    if not _NAME.match(selector):
        module.fail_json(msg="selector: %r is not a valid DKIM selector (DNS labels of letters, digits, - and _)"
                         % module.params["selector"])
    return domain, selector


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            selector=dict(type="str", required=True),
            path=dict(type="path", required=True),
            type=dict(type="str", default="rsa", choices=["rsa", "ed25519"]),
            size=dict(type="int", default=2048, choices=[1024, 2048, 3072, 4096]),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            rotate=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography (python3-cryptography)"),
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    domain, selector = check_names(module)
    params = module.params
    path = params["path"]
    record_name = "%s._domainkey.%s" % (selector, domain)
    result = dict(changed=False, record_name=record_name, path=path)
    want_type = params["type"]
    want_size = 256 if want_type == "ed25519" else params["size"]

    existing = None
    problem = None
    if os.path.exists(path):
        try:
            existing = load(path)
            if describe(existing) != (want_type, want_size):
                problem = "%s holds a %s %d key, not the %s %d asked for" % ((path,) + describe(existing) + (want_type, want_size))
        except KeyFileError as exc:
            problem = str(exc)
        except (IOError, OSError) as exc:
            module.fail_json(msg="path: cannot read %s: %s" % (path, exc.strerror or exc))
    before = public_parts(existing) if existing is not None and problem is None else None

    if params["state"] == "absent":
        exists = os.path.exists(path)
        if exists and not module.check_mode:
            os.unlink(path)
        shown = before["fingerprint"] if before else "(not a usable key)"
        result.update(changed=exists, diff=dict(before="%s key %s\n" % (record_name, shown) if exists else "", after=""))
        module.exit_json(**result)

    if problem and not params["rotate"]:
        module.fail_json(msg="path: %s; set rotate: true to replace it with a new key" % problem, **result)
    if not os.path.isdir(os.path.dirname(path) or "."):
        module.fail_json(msg="path: the directory %s does not exist" % os.path.dirname(path), **result)

    key = existing if (existing is not None and problem is None and not params["rotate"]) else None
    if key is None:
        result["changed"] = True
        key = generate(want_type, want_size)
        if not module.check_mode:
            write(module, path, key)
    elif not module.check_mode:
        file_args = module.load_file_common_arguments(dict(path=path, mode="0600", owner=params["owner"],
                                                           group=params["group"]))
        result["changed"] = module.set_fs_attributes_if_different(file_args, False)
    else:
        stat = os.stat(path)
        result["changed"] = (stat.st_mode & 0o7777) != 0o600

    after = public_parts(key)
    result.update(after)
    result["diff"] = dict(
        before="%s key %s\n" % (record_name, before["fingerprint"]) if before else "",
        after="%s key %s (%s %d)\n" % (record_name, after["fingerprint"], after["key_type"], after["key_size"]),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
