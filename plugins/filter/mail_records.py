# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that build a sending domain's DNS records: coldrig.infra.mail_records and coldrig.infra.mta_sts_policy.

Their documentation is in the sidecar files mail_records.yml and mta_sts_policy.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect

from ansible.errors import AnsibleFilterError
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (
    RecordSpecError,
    build_mail_records,
    mta_sts_policy_for,
)


def _options(function, required=False):
    """The keyword options of a builder (its parameters after the domain); with required, those without a default."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [p.name for p in parameters if not required or p.default is inspect.Parameter.empty]


# (ansible-doc reads this file's top-level assignments: one name per assignment.)
MAIL_RECORDS_OPTIONS = _options(build_mail_records)
MAIL_RECORDS_REQUIRED = _options(build_mail_records, required=True)
MTA_STS_POLICY_OPTIONS = _options(mta_sts_policy_for)
MTA_STS_POLICY_REQUIRED = _options(mta_sts_policy_for, required=True)


def _call(filter_name, function, options, required, domain, kwargs):
    """Call a builder with the filter's keyword options; every mail_records option is accepted."""
    unknown = sorted(set(kwargs) - set(MAIL_RECORDS_OPTIONS))
    if unknown:
        raise AnsibleFilterError("%s: unknown option %s (known: %s)" % (filter_name, ", ".join(unknown), ", ".join(MAIL_RECORDS_OPTIONS)))
    for name in required:
        if name not in kwargs:
            raise AnsibleFilterError("%s: is required" % name)
    try:
        return function(domain, **dict((name, value) for name, value in kwargs.items() if name in options))
    except RecordSpecError as exc:
        raise AnsibleFilterError(str(exc))


def mail_records(domain, **kwargs):
    """The DNS record set of the sending domain (see build_mail_records)."""
    return _call("mail_records", build_mail_records, MAIL_RECORDS_OPTIONS, MAIL_RECORDS_REQUIRED, domain, kwargs)


def mta_sts_policy(domain, **kwargs):
    """What https://mta-sts.<domain>/.well-known/mta-sts.txt must serve, or None without a mode.

    Takes the same options as mail_records (and uses mail_host, mta_sts_mode and mta_sts_max_age),
    so one options dict gives both the records and the policy whose id they carry.
    """
    return _call("mta_sts_policy", mta_sts_policy_for, MTA_STS_POLICY_OPTIONS, MTA_STS_POLICY_REQUIRED, domain, kwargs)


class FilterModule(object):
    """coldrig's mail record filters."""

    def filters(self):
        return {
            "mail_records": mail_records,
            "mta_sts_policy": mta_sts_policy,
        }
