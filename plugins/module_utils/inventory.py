# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host variables and groups that every coldrig inventory plugin shares.

Whatever the provider (the lab, Hetzner Cloud, DigitalOcean), a node reaches
the playbooks with the same normalised variables, so no playbook needs to know
where a node came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NORMALISED_VARS = (
    "coldrig_provider",
    "coldrig_public_ipv4",
    "coldrig_public_ipv6",
    "coldrig_ptr",
    "coldrig_region",
    "coldrig_size",
    "coldrig_labels",
)

# Labels that become groups: coldrig_role=mta -> group coldrig_role_mta.
GROUP_LABELS = ("coldrig_role", "coldrig_fleet")

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def normalise_host_vars(provider, ipv4=None, ipv6=None, ptr=None, region=None, size=None, labels=None):
    """The normalised host variables of one node.

    Missing values are None (never an empty string), labels a plain dict, and
    the PTR name is given without its trailing dot.
    """
    if ptr:
        ptr = ptr.rstrip(".").lower()
    return {
        "coldrig_provider": provider,
        "coldrig_public_ipv4": ipv4 or None,
        "coldrig_public_ipv6": ipv6 or None,
        "coldrig_ptr": ptr or None,
        "coldrig_region": region or None,
        "coldrig_size": size or None,
        "coldrig_labels": dict(labels or {}),
    }


def safe_group_name(name):
    """A group name Ansible accepts without warnings: letters, digits and underscores."""
    return _UNSAFE.sub("_", name)


def label_groups(labels):
    """Groups a node joins because of its coldrig labels, in a stable order."""
    groups = []
    for key in GROUP_LABELS:
        value = (labels or {}).get(key)
        if value:
            groups.append(safe_group_name("%s_%s" % (key, value)))
    return groups
