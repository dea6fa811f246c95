# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests for the roles' input checks, by the rules of plugins/module_utils/validate.py.

The roles check their inputs before they change a node (``x is coldrig.infra.fqdn``); the spec
checker, the modules and the filters apply the same rules through the same module, so a value
that one accepts the others accept too. The documentation of each test is in its own file
(fqdn.yml, domain.yml, unix_user.yml, quota.yml, port.yml, dkim_selector.yml).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coldrig.infra.plugins.module_utils import validate


def fqdn(value):
    """A fully qualified host name, written as it is used: lower case, no trailing dot."""
    return validate.fqdn_problem(value) is None and validate.canonical_name_problem(value) is None


def domain(value):
    """A sending domain, written as it is used: lower case, no trailing dot."""
    return validate.domain_problem(value) is None and validate.canonical_name_problem(value) is None


def unix_user(value, allow_root=False):
    """A system user name; root only with allow_root."""
    return validate.unix_user_problem(value, allow_root=bool(allow_root)) is None


def quota(value):
    """A mailbox quota as coldrig.infra.mailboxes takes it (512M, 1G, 2048k)."""
    return validate.quota_problem(value) is None


def port(value):
    """A TCP or UDP port from 1 to 65535."""
    return validate.port_problem(value) is None


def dkim_selector(value):
    """A DKIM selector (RFC 6376: dot-separated lower-case LDH labels)."""
    return validate.dkim_selector_problem(value) is None


class TestModule(object):
    def tests(self):
        return {
            "fqdn": fqdn,
            "domain": domain,
            "unix_user": unix_user,
            "quota": quota,
            "port": port,
            "dkim_selector": dkim_selector,
        }
