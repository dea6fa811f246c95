#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mailboxes
short_description: The mailboxes of one sending domain, in bulk, on the mail node
description:
  - Runs on the mail node as root (C(become)), one call a domain. Makes sure the domain has at least
    O(mailboxes) mailboxes (a count), or exactly the listed ones exist (a list), or removes the listed ones
    (O(state=absent)).
  - New mailboxes get realistic names from embedded lists of common first and last names (O(naming)), unique in the
    domain and never one the domain has used before, even if that mailbox was removed since.
  - Every new (or, with O(rotate_passwords), rotated) mailbox gets a random password of O(password_length)
    letters and digits with at least one upper-case letter, one lower-case letter and one digit. Only its
    SHA512-CRYPT hash is stored on the node; the plaintext is in this module's result once, and never again.
  - B(The result holds passwords.) Run the task with C(no_log) set to true and write the passwords from the
    registered result to a controller-side credentials file with mode C(0600) (see EXAMPLES). The module
    warns when the task is not C(no_log). Nothing secret is in the diff, the options or the node's logs.
  - B(Crash-safe handoff) (what C(playbooks/mailboxes.yml) does) - a plaintext password that exists only in a
    result is lost when the run is killed before the controller stored it. So first call the module with
    O(plan=true) (read-only) - it returns every mailbox with its stored RV(mailboxes[].hash) and
    RV(mailboxes[].new_password) set for each one the call would create or give a new password (generated names
    included). The controller makes those passwords, stores them (mode C(0600)) and calls the module again with the
    same options and O(password_hashes), the SHA512-CRYPT hashes of those passwords - the node receives hashes only,
    and no password is in the result. A last O(plan=true) call returns the hashes the node now holds, against which
    the controller confirms its stored passwords.
  - Idempotent. Existing mailboxes keep their passwords; a re-run adds only what is missing; an unchanged
    re-run rewrites nothing (the users file is byte-identical) and returns no password.
  - Backend C(postfix) (Postfix + Dovecot; role C(coldrig.infra.postfix)) keeps one Dovecot passwd-file per
    domain, C(<users_dir>/<domain>), mode C(0640), owner root, group O(group), one line a mailbox sorted by
    address, C(local@domain:{SHA512-CRYPT}$6$...:<uid>:<gid>:<Display Name>:<mail_root>/<domain>/<local>::userdb_quota_rule=*:storage=<quota>),
    written atomically (a temporary file in the same directory, renamed) and only when its content changes.
    uid and gid are those of O(vmail_user). Dovecot reads it as passdb and userdb
    (C(driver = passwd-file), C(args = scheme=SHA512-CRYPT username_format=%Lu <users_dir>/%Ld)). That file
    is the source of truth for which mailboxes exist; lines for the domain written by hand are kept (and
    adopted into the history), comments are not. Dovecot refuses lines with uid 0, so O(vmail_user) cannot be root.
  - Beside it, a history per domain, C(<state_dir>/<domain>.json) (directory C(0700), file C(0600)) that holds every local
    part ever used, with its display name, daily limit, and when it was created, rotated or removed.
  - The module makes no directory under O(mail_root); Dovecot makes a mailbox's home on its first delivery or
    login (O(mail_root) must be writable by O(vmail_user)).
  - Hashing uses Python's C(crypt) module where the node's Python has it (3.12 and older, as on Debian 12, Ubuntu 22.04
    and 24.04), else one C(openssl passwd -6 -stdin) process for all new passwords of the call.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  domain:
    description: The sending domain, e.g. C(example.com).
    type: str
    required: true
  mailboxes:
    description:
      - A count (an integer) or a list.
      - A count N with O(state=present) makes sure at least N mailboxes exist, adding the missing ones with
        names made by O(naming). It never removes any; more than N is reported as RV(surplus) with a warning.
      - A list of mappings C({local_part, name, daily_limit}) (C(name) and C(daily_limit) optional) or of plain
        local parts. With O(state=present) each is created when missing, or updated (display name, daily limit,
        quota) when it exists; mailboxes not listed are left as they are. With O(state=absent) the listed ones are
        removed.
      - C(local_part) is lowercase C(a-z), C(0-9), C(.), C(_) and C(-), at most 64 characters, with no dot at either
        end and no two dots in a row. C(name) (the display name) may not contain C(:) or a control character;
        without one a new mailbox is named after its local part (C(sales.team) becomes C(Sales Team)).
    type: raw
    required: true
  naming:
    description:
      - How the local part of a generated mailbox is made from a first and a last name, for Emma Walker
        C(emma.walker), C(emmawalker), C(ewalker), C(emma.w) or C(emma). The display name is always C(Emma Walker).
      - The embedded lists (about 220 first and 220 last names) give about 48000 C(first.last) local parts but only
        about 220 with C(first); asking for more than a naming can still make is an error.
    type: str
    default: first.last
    choices: [first.last, firstlast, flast, first.l, first]
  daily_limit:
    description:
      - Messages a day each mailbox may send (1 or more), stored per mailbox and returned for the backend's rate
        limiter (the postfix role's policyd-rate-limit).
      - Applies to every mailbox the call targets (all of the domain's with a count, the listed ones with a list);
        a list item's own C(daily_limit) wins. When omitted, existing mailboxes keep theirs and new ones get none
        (V(null), so the backend's default applies).
    type: int
  quota:
    description:
      - Dovecot storage quota of every mailbox the call targets (C(userdb_quota_rule=*:storage=<quota>)).
      - Digits and an optional unit C(B), C(K), C(M), C(G) or C(T) in either case (written upper case); the spec
        checker applies the same rule (C(plugins/module_utils/validate.py)).
    type: str
    default: 1G
  state:
    description: C(present) adds or updates; C(absent) removes the listed mailboxes (a list is required).
    type: str
    default: present
    choices: [present, absent]
  rotate_passwords:
    description:
      - Give every targeted mailbox a new password (all of the domain's with a count, only the listed ones with a
        list). The new passwords are in the result, like those of new mailboxes.
    type: bool
    default: false
  rotate_mailboxes:
    description:
      - Give these existing mailboxes (local parts or addresses of O(domain)) a new password, the others keep theirs.
        With a list in O(mailboxes), each must be listed there too.
    type: list
    elements: str
    default: []
  plan:
    description:
      - Read-only - compute what the call would do, write nothing, and return every mailbox with
        RV(mailboxes[].hash) and RV(mailboxes[].new_password). New mailboxes of a count get their names here; give
        the same options and O(password_hashes) for them to the call that applies the plan. C(changed) is false.
    type: bool
    default: false
  password_hashes:
    description:
      - The SHA512-CRYPT hashes (C($6$...), with or without the C({SHA512-CRYPT}) prefix) of the passwords of the
        mailboxes this call creates or gives a new password, keyed by local part (or address). The module then makes
        no password and returns none; a mailbox it would create or rotate without a hash here is an error.
      - With a count, the new mailboxes are the local parts of this mapping that the domain has never used (those
        the O(plan=true) call named), in sorted order, as many as the count lacks.
      - The result then has RV(mailboxes[].new_password). To confirm what the node holds, call the module with
        O(plan=true) again - it returns RV(mailboxes[].hash) (this call cannot, as Ansible masks every returned value
        equal to one of this option's).
    type: dict
  remove_maildir:
    description:
      - With O(state=absent), also delete the home directory (Maildir and all) of each listed mailbox,
        C(<mail_root>/<domain>/<local_part>). Without it the mail stays on disk.
    type: bool
    default: false
  backend:
    description: The mail stack on the node. Only C(postfix) (Postfix + Dovecot) so far.
    type: str
    default: postfix
    choices: [postfix]
  password_length:
    description: Length of new passwords (letters and digits, so 24 characters are about 142 bits).
    type: int
    default: 24
  hash_rounds:
    description:
      - SHA512-CRYPT rounds (1000 to 999999999). Every login pays for them, and the hashing of a bulk call does
        too, so keep the default unless you must.
      - Only the default is possible where Python has no C(crypt) module (3.13 and later), as C(openssl passwd -6)
        takes no rounds count with a random salt per password.
    type: int
    default: 5000
  users_dir:
    description: Directory of the Dovecot passwd-files, one per domain. Made (mode C(0750), group O(group)) when missing.
    type: path
    default: /etc/dovecot/users
  state_dir:
    description: Directory of the per-domain history files.
    type: path
    default: /var/lib/coldrig/mailboxes
  mail_root:
    description: Root of the mailbox homes, C(<mail_root>/<domain>/<local_part>).
    type: path
    default: /var/mail/vmail
  vmail_user:
    description:
      - The system user that owns the mail on disk; its uid goes into every line. Must exist.
      - Must not be root nor any user whose uid is 0 - Dovecot refuses such lines; the module fails naming this option.
    type: str
    default: vmail
  vmail_group:
    description: The group whose gid goes into every line. Default the primary group of O(vmail_user).
    type: str
  group:
    description: Group of the users files, which Dovecot's auth process must read.
    type: str
    default: dovecot
notes:
  - Check mode computes what would be added, removed or rotated and returns the addresses, without passwords
    and without writing. Generated names are picked again in the real run, so they may differ from check mode's.
  - Diff mode shows the domain's addresses before and after (no hash, no password).
requirements:
  - Python 3.8 or later on the node, standard library only; C(openssl) too when that Python has no C(crypt) module.
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
- name: 50 mailboxes for example.com
  coldrig.infra.mailboxes:
    domain: example.com
    mailboxes: 50
    daily_limit: 30
  become: true
  no_log: true  # the result holds the new passwords
  register: boxes

- name: Keep the new passwords on the controller, readable by the operator only
  ansible.builtin.copy:
    dest: "{{ playbook_dir }}/credentials/{{ boxes.domain }}-{{ now(utc=true, fmt='%Y%m%dT%H%M%S') }}.json"
    content: "{{ boxes.mailboxes | selectattr('password', 'defined') | list | to_nice_json }}"
    mode: "0600"
  delegate_to: localhost
  no_log: true
  when: boxes.added or boxes.rotated

- name: Crash-safe - which mailboxes need a password (read-only)
  coldrig.infra.mailboxes:
    domain: example.com
    mailboxes: 50
    plan: true
  become: true
  no_log: true
  register: planned

# ...the controller makes a password for each planned mailbox with new_password set and stores it,
# then gives the node only their hashes (playbooks/mailboxes.yml does all of this).
- name: Crash-safe - apply with the hashes only
  coldrig.infra.mailboxes:
    domain: example.com
    mailboxes: 50
    password_hashes: "{{ hashes_of_the_stored_passwords }}"
  become: true
  no_log: true

- name: Two named mailboxes, one with its own limit
  coldrig.infra.mailboxes:
    domain: example.com
    mailboxes:
      - {local_part: emma.walker, name: Emma Walker}
      - {local_part: sales, name: Sales Team, daily_limit: 10}
  become: true
  no_log: true
  register: named

- name: Retire two mailboxes and their mail; their names are never handed out again
  coldrig.infra.mailboxes:
    domain: example.com
    state: absent
    mailboxes: [emma.walker, ryan.hughes]
    remove_maildir: true
  become: true
"""

RETURN = r"""
mailboxes:
  description:
    - Every mailbox of the domain after the call (after what it would do, in check mode), sorted by address.
    - C(password) is there only for a mailbox created or rotated by this call, and never in check mode.
  returned: always
  type: list
  elements: dict
  contains:
    email:
      description: The address.
      type: str
      sample: emma.walker@example.com
    local_part:
      description: The part before the C(@); the IMAP and SMTP login is the whole address.
      type: str
      sample: emma.walker
    name:
      description: The display name.
      type: str
      sample: Emma Walker
    daily_limit:
      description: Messages a day it may send; V(null) when none was ever given (the backend's default applies).
      type: int
      sample: 30
    quota:
      description: Its Dovecot storage quota; V(null) for a line without one.
      type: str
      sample: 1G
    created:
      description: Whether this call created it.
      type: bool
    password:
      description:
        - The plaintext password, only when this call created or rotated the mailbox and made its password (no
          O(password_hashes), not O(plan)).
      type: str
      returned: when created or rotated, not in check mode
    new_password:
      description: Whether this call creates or rotates the mailbox, so that it needs a new password.
      type: bool
      returned: with O(plan) or O(password_hashes)
    hash:
      description:
        - The SHA512-CRYPT hash (C($6$...)) the node holds for the mailbox; V(null) for a mailbox not made yet, or a
          line whose password is in another scheme (never shown).
        - The controller checks the passwords it has against it.
      type: str
      returned: with O(plan)
added:
  description: Addresses created (to be created, in check mode).
  returned: always
  type: list
  elements: str
removed:
  description: Addresses removed from the users file (they stay in the history).
  returned: always
  type: list
  elements: str
rotated:
  description: Existing addresses that got a new password.
  returned: always
  type: list
  elements: str
surplus:
  description: With a count, how many mailboxes the domain has beyond it (none is removed); 0 otherwise.
  returned: always
  type: int
maildirs_removed:
  description: Home directories deleted because of O(remove_maildir).
  returned: always
  type: list
  elements: str
domain:
  description: The domain, lower case.
  returned: always
  type: str
users_file:
  description: The Dovecot passwd-file of the domain.
  returned: always
  type: str
  sample: /etc/dovecot/users/example.com
state_file:
  description: The history of the domain.
  returned: always
  type: str
  sample: /var/lib/coldrig/mailboxes/example.com.json
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coldrig.infra.plugins.module_utils import mailboxes as boxes
from ansible_collections.coldrig.infra.plugins.module_utils.mailboxes import MailboxError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            domain=dict(type="str", required=True),
            mailboxes=dict(type="raw", required=True),
            naming=dict(type="str", default="first.last", choices=list(boxes.NAMINGS)),
            daily_limit=dict(type="int"),
            quota=dict(type="str", default="1G"),
            state=dict(type="str", default="present", choices=list(boxes.STATES)),
            rotate_passwords=dict(type="bool", default=False, no_log=False),
            remove_maildir=dict(type="bool", default=False),
            backend=dict(type="str", default="postfix", choices=list(boxes.BACKENDS)),
            password_length=dict(type="int", default=24, no_log=False),
            hash_rounds=dict(type="int", default=5000),
            users_dir=dict(type="path", default="/etc/dovecot/users"),
            state_dir=dict(type="path", default="/var/lib/coldrig/mailboxes"),
            mail_root=dict(type="path", default="/var/mail/vmail"),
            vmail_user=dict(type="str", default="vmail"),
            vmail_group=dict(type="str"),
            group=dict(type="str", default="dovecot"),
            rotate_mailboxes=dict(type="list", elements="str", default=[], no_log=False),
            plan=dict(type="bool", default=False),
            password_hashes=dict(type="dict", no_log=True),
        ),
        supports_check_mode=True,
    )
    try:
        result, warnings = boxes.run(module.params, check_mode=module.check_mode)
    except MailboxError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    secrets = sum(1 for box in result["mailboxes"] if "password" in box)
    if secrets and not module.no_log:
        module.warn("this result holds %d new password%s in plain text: run the task with no_log: true so that they "
                    "stay out of output and logs" % (secrets, "" if secrets == 1 else "s"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
