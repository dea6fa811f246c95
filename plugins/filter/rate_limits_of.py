# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rate_limits_of
short_description: The mailboxes and daily limits of some domains, from policyd-rate-limit's configuration
description:
  - Reads the C(limits_by_id) of a policyd-rate-limit configuration (as the postfix role writes it,
    C(/etc/policyd-rate-limit.yaml)) and returns C({email, daily_limit}) for each mailbox of the given domains - the
    daily limit is the one whose period is 86400 seconds.
  - The postfix role keeps these on a run that seeds some of a node's domains only (playbooks/domain.yml), so
    that the mailboxes of its other domains stay in Postfix's lists.
author:
  - coldrig maintainers (@coldrig)
positional: _input, domains
options:
  _input:
    description: The configuration's text (YAML).
    type: str
    required: true
  domains:
    description: The domains whose mailboxes are wanted.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The limits of the node's other domains
  ansible.builtin.set_fact:
    kept: "{{ (slurped.content | b64decode) | coldrig.infra.rate_limits_of(['example.com']) }}"
"""

RETURN = r"""
_value:
  description: C({email, daily_limit}) per mailbox, sorted by address.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

DAY = 86400


def rate_limits_of(text, domains):
    try:
        config = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("rate_limits_of: the policyd-rate-limit configuration is not YAML: %s" % exc)
    by_id = config.get("limits_by_id") if isinstance(config, dict) else None
    wanted = set(str(d).lower().rstrip(".") for d in domains or [])
    result = []
    for email, limits in sorted((by_id or {}).items()):
        if not isinstance(email, str) or email.rpartition("@")[2].lower() not in wanted:
            continue
        daily = [pair[0] for pair in limits or [] if isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[1] == DAY]
        result.append({"email": email, "daily_limit": daily[0] if daily else None})
    return result


class FilterModule(object):
    def filters(self):
        return {"rate_limits_of": rate_limits_of}
