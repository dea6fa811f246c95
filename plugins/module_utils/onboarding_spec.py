# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of an onboarding spec before anything changes.

The spec is a set of inventory variables (docs/onboarding-spec.md): ``coldrig_domains``,
``coldrig_backend``, ``coldrig_dns``. Every problem is reported, each as
``<variable>[<index>].<key>: <value> <reason>``, so an operator fixes them all in one go.
The DNS records of every domain are built once without DKIM, which validates SPF (syntax
and the 10-lookup limit of what can be counted offline), DMARC, MTA-STS, TLS-RPT, names
and addresses exactly as the DNS step will.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (
    RecordSpecError,
    build_mail_records,
    validate_hostname,
)

BACKENDS = ("postfix",)
PLANNED_BACKENDS = ("mailcow", "kumomta")
DNS_PROVIDERS = ("rfc2136", "cloudflare")
NAMINGS = ("first.last", "firstlast", "flast", "first.l", "first")
# The domain keys that shape its records: build_mail_records' options (one list, in mail_records.py).
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (  # noqa: E402 pylint: disable=wrong-import-position
    SPEC_RECORD_KEYS as RECORD_KEYS,
)
MAILBOX_KEYS = ("mailboxes", "naming", "daily_limit", "quota")
DOMAIN_KEYS = ("name", "dkim_selector") + RECORD_KEYS + MAILBOX_KEYS
MAX_MAILBOXES = 1000
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9_-]|\.(?!\.))*[a-z0-9]$|^[a-z0-9]$")
QUOTA = re.compile(r"^[0-9]+[KMGT]?$")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _mailbox_errors(where, domain):
    errors = []
    boxes = domain.get("mailboxes", 0)
    if _is_int(boxes):
        if not 0 <= boxes <= MAX_MAILBOXES:
            errors.append("%s.mailboxes: %d is not from 0 to %d" % (where, boxes, MAX_MAILBOXES))
    elif isinstance(boxes, list):
        seen = set()
        for index, box in enumerate(boxes):
            item = "%s.mailboxes[%d]" % (where, index)
            if not isinstance(box, dict):
                errors.append("%s: give {local_part, name}, not %r" % (item, box))
                continue
            local = box.get("local_part")
            if not isinstance(local, str) or len(local) > 64 or not LOCAL_PART.match(local):
                errors.append("%s.local_part: %r is not a lower-case local part (letters, digits, '.', '_', '-', "
                              "at most 64, no leading, trailing or double dot)" % (item, local))
            elif local in seen:
                errors.append("%s.local_part: %r is listed twice" % (item, local))
            else:
                seen.add(local)
            if "daily_limit" in box and not (_is_int(box["daily_limit"]) and box["daily_limit"] >= 0):
                errors.append("%s.daily_limit: %r is not a whole number of at least 0" % (item, box["daily_limit"]))
            unknown = sorted(set(box) - {"local_part", "name", "daily_limit"})
            if unknown:
                errors.append("%s: unknown key(s) %s (known: local_part, name, daily_limit)" % (item, ", ".join(unknown)))
    else:
        errors.append("%s.mailboxes: %r is neither a count nor a list of {local_part, name}" % (where, boxes))
    naming = domain.get("naming", "first.last")
    if naming not in NAMINGS:
        errors.append("%s.naming: %r is not one of %s" % (where, naming, ", ".join(NAMINGS)))
    if "daily_limit" in domain and not (_is_int(domain["daily_limit"]) and domain["daily_limit"] >= 0):
        errors.append("%s.daily_limit: %r is not a whole number of at least 0" % (where, domain["daily_limit"]))
    if "quota" in domain and not (isinstance(domain["quota"], str) and QUOTA.match(domain["quota"])):
        errors.append("%s.quota: %r is not a size such as 512M or 1G" % (where, domain["quota"]))
    return errors


def domain_errors(domains, mail_host=None, ipv4=None, ipv6=None, defaults=None, variable="coldrig_domains"):
    """Problems of the sending domains of one node (an empty list when there is none)."""
    if not isinstance(domains, list) or not domains:
        return ["%s: give a list of sending domains, each at least {name: <domain>}" % variable]
    errors, names = [], set()
    for index, domain in enumerate(domains):
        where = "%s[%d]" % (variable, index)
        if not isinstance(domain, dict):
            errors.append("%s: %r is not a mapping such as {name: example.com}" % (where, domain))
            continue
        unknown = sorted(set(domain) - set(DOMAIN_KEYS))
        if unknown:
            errors.append("%s: unknown key(s) %s (see docs/onboarding-spec.md)" % (where, ", ".join(unknown)))
        try:
            name = validate_hostname(domain.get("name"), "name")
        except RecordSpecError as exc:
            errors.append("%s.%s" % (where, exc))
            continue
        if name in names:
            errors.append("%s.name: %s is listed twice" % (where, name))
        names.add(name)
        where = "%s[%d] (%s)" % (variable, index, name)
        errors.extend(_mailbox_errors(where, domain))
        if mail_host:
            options = dict((key, value) for key, value in (defaults or {}).items() if key in RECORD_KEYS)
            options.update((key, value) for key, value in domain.items()
                           if key in RECORD_KEYS and value is not None and value != "" and value != [])
            if options.get("mta_sts_mode") == "none":
                options.pop("mta_sts_mode")
            try:
                build_mail_records(name, mail_host, ipv4=ipv4, ipv6=ipv6, **options)
            except RecordSpecError as exc:
                errors.append("%s.%s" % (where, exc))
            except TypeError as exc:
                errors.append("%s: %s" % (where, exc))
    return errors


def backend_errors(backend, variable="coldrig_backend"):
    if backend in BACKENDS:
        return []
    if backend in PLANNED_BACKENDS:
        return ["%s: %r is not available yet (available: %s)" % (variable, backend, ", ".join(BACKENDS))]
    return ["%s: %r is not one of %s" % (variable, backend, ", ".join(BACKENDS))]


def dns_errors(dns, variable="coldrig_dns"):
    if not isinstance(dns, dict):
        return ["%s: give the DNS provider and its settings, e.g. {provider: cloudflare, api_token: ...}" % variable]
    provider = dns.get("provider")
    if provider not in DNS_PROVIDERS:
        return ["%s.provider: %r is not one of %s" % (variable, provider, ", ".join(DNS_PROVIDERS))]
    errors = []
    if provider == "rfc2136":
        if not dns.get("server"):
            errors.append("%s.server: the rfc2136 provider needs the primary server's name or address" % variable)
        if not dns.get("tsig_key_name"):
            errors.append("%s.tsig_key_name: the rfc2136 provider needs the TSIG key's name" % variable)
        if not (dns.get("tsig_key_secret") or dns.get("tsig_key_file")):
            errors.append("%s.tsig_key_secret: give tsig_key_secret or tsig_key_file" % variable)
        port = dns.get("port", 53)
        if not (_is_int(port) and 0 < port < 65536):
            errors.append("%s.port: %r is not a port from 1 to 65535" % (variable, port))
    return errors
