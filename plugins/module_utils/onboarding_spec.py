# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of an onboarding spec before anything changes.

The spec is a set of inventory variables (docs/onboarding-spec.md): ``coldrig_domains``,
``coldrig_backend``, ``coldrig_dns``. Every problem is reported, each as
``<variable>[<index>].<key>: <value> <reason>``, so an operator fixes them all in one go.
The DNS records of every domain are built once without DKIM, which validates SPF (syntax
and the 10-lookup limit of what can be counted offline), DMARC, MTA-STS, TLS-RPT, names
and addresses exactly as the DNS step will. Names, selectors, local parts, display names,
quotas, ports and secrets follow the rules of ``validate``, the same module the steps use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.coldrig.infra.plugins.module_utils import validate
from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import TSIG_ALGORITHMS
from ansible_collections.coldrig.infra.plugins.module_utils.mail_records import (
    RecordSpecError,
    build_mail_records,
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
# node, nodes: where the domain is served (placement.py reads them; check.yml checks them across nodes).
PLACEMENT_KEYS = ("node", "nodes")
DOMAIN_KEYS = ("name", "dkim_selector", "intake") + RECORD_KEYS + MAILBOX_KEYS + PLACEMENT_KEYS
# A domain's intake (playbooks/intake.yml): where it is registered, and whether coldrig creates its Cloudflare zone.
INTAKE_KEYS = ("registrar", "create_zone")
# coldrig_registrar per registrar: the registrar_nameservers options intake.yml passes on (a unit test holds this).
REGISTRAR_KEYS = {
    "namecheap": ("provider", "api_user", "api_key", "username", "client_ip", "api_base_url"),
}
MAILBOX_ITEM_KEYS = ("local_part", "name", "daily_limit")
MAX_MAILBOXES = 1000
# The keys of coldrig_dns per provider (docs/onboarding-spec.md): those the mail_dns role passes on to dns_records
# (a unit test holds this against the role's task and the module's argument spec).
DNS_PROVIDER_KEYS = {
    "rfc2136": ("provider", "server", "port", "tsig_key_name", "tsig_key_secret", "tsig_key_file", "tsig_algorithm",
                "on_conflict"),
    "cloudflare": ("provider", "api_token", "api_base_url", "on_conflict", "batch_size"),
}


def _problem(field, value, reason):
    return "%s: %r %s" % (field, value, reason)


def _daily_limit_errors(field, value):
    if validate.int_range_problem(value, 1):
        return [_problem(field, value, "is not a whole number of at least 1 (the recipients a mailbox may send to a day)")]
    return []


def _mailbox_item_errors(where, index, box, seen):
    item = "%s.mailboxes[%d]" % (where, index)
    if isinstance(box, str):  # a plain local part, as coldrig.infra.mailboxes takes it
        box = {"local_part": box}
    if not isinstance(box, dict):
        return ["%s: give {local_part, name, daily_limit} or a local part, not %r" % (item, box)]
    errors = []
    unknown = sorted(str(key) for key in box if key not in MAILBOX_ITEM_KEYS)
    if unknown:
        errors.append("%s: unknown key(s) %s (known: %s)" % (item, ", ".join(unknown), ", ".join(MAILBOX_ITEM_KEYS)))
    local = box.get("local_part")
    reason = validate.local_part_problem(local)
    if local is None:
        errors.append("%s.local_part: missing; every item needs the local part (the part before the @)" % item)
    elif reason:
        errors.append(_problem("%s.local_part" % item, local, reason))
    elif local in seen:
        errors.append("%s.local_part: %r is listed twice" % (item, local))
    else:
        seen.add(local)
    if box.get("name") is not None:
        reason = validate.display_name_problem(box["name"])
        if reason:
            errors.append(_problem("%s.name" % item, box["name"], reason))
    if box.get("daily_limit") is not None:
        errors.extend(_daily_limit_errors("%s.daily_limit" % item, box["daily_limit"]))
    return errors


def _mailbox_errors(where, domain):
    errors = []
    boxes = domain.get("mailboxes", 0)
    count = validate.as_int(boxes)
    if count is not None:
        if not 0 <= count <= MAX_MAILBOXES:
            errors.append("%s.mailboxes: %d is not from 0 to %d" % (where, count, MAX_MAILBOXES))
    elif isinstance(boxes, list):
        seen = set()
        for index, box in enumerate(boxes):
            errors.extend(_mailbox_item_errors(where, index, box, seen))
    else:
        errors.append("%s.mailboxes: %r is neither a count nor a list of {local_part, name, daily_limit}" % (where, boxes))
    naming = domain.get("naming", "first.last")
    if naming not in NAMINGS:
        errors.append("%s.naming: %r is not one of %s" % (where, naming, ", ".join(NAMINGS)))
    if domain.get("daily_limit") is not None:
        errors.extend(_daily_limit_errors("%s.daily_limit" % where, domain["daily_limit"]))
    if domain.get("quota") is not None:
        errors.extend(quota_errors(domain["quota"], "%s.quota" % where))
    return errors


def quota_errors(quota, field="coldrig_mailbox_quota"):
    """The problem of a mailbox quota (a list of at most one), by the rule coldrig.infra.mailboxes applies."""
    reason = validate.quota_problem(quota)
    return [_problem(field, quota, reason)] if reason else []


def dkim_selector_errors(selector, field="mail_dns_dkim_selector"):
    """The problem of a DKIM selector (a list of at most one); it names a DNS label and a key file."""
    reason = validate.dkim_selector_problem(selector)
    return [_problem(field, selector, reason)] if reason else []


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
        unknown = sorted(str(key) for key in domain if key not in DOMAIN_KEYS)
        if unknown:
            errors.append("%s: unknown key(s) %s (see docs/onboarding-spec.md)" % (where, ", ".join(unknown)))
        try:
            name = validate.check_domain(domain.get("name"), "name")
        except validate.ValidationError as exc:
            errors.append("%s.%s" % (where, exc))
            continue
        if name in names:
            errors.append("%s.name: %s is listed twice" % (where, name))
        names.add(name)
        where = "%s[%d] (%s)" % (variable, index, name)
        if domain.get("dkim_selector") is not None:
            errors.extend(dkim_selector_errors(domain["dkim_selector"], "%s.dkim_selector" % where))
        errors.extend(_mailbox_errors(where, domain))
        if "intake" in domain:
            errors.extend(_intake_errors("%s.intake" % where, domain["intake"]))
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


def _intake_errors(where, intake):
    if not isinstance(intake, dict):
        return ["%s: %r is not a mapping such as {registrar: namecheap, create_zone: true}" % (where, intake)]
    errors = []
    unknown = sorted(str(key) for key in intake if key not in INTAKE_KEYS)
    if unknown:
        errors.append("%s: unknown key(s) %s (known: %s; see docs/onboarding-spec.md)"
                      % (where, ", ".join(unknown), ", ".join(INTAKE_KEYS)))
    registrar = intake.get("registrar")
    if registrar is not None and registrar not in REGISTRAR_KEYS:
        errors.append(_problem("%s.registrar" % where, registrar, "is not one of %s (the registrars coldrig can set "
                               "nameservers at); leave it out to set them by hand" % ", ".join(sorted(REGISTRAR_KEYS))))
    create_zone = intake.get("create_zone", True)
    if not isinstance(create_zone, bool):
        errors.append(_problem("%s.create_zone" % where, create_zone, "is not true or false"))
    elif registrar is None and not create_zone:
        errors.append("%s: gives no registrar and create_zone: false, so the intake has nothing to do; leave intake "
                      "out, or give registrar" % where)
    return errors


def intake_errors(domains, dns, registrar=None, account_id=None):
    """Problems of the intake settings (coldrig_dns, coldrig_cloudflare_account_id, coldrig_registrar); [] without intake."""
    intakes = [d["intake"] for d in domains or [] if isinstance(d, dict) and isinstance(d.get("intake"), dict)]
    if not intakes:
        return []
    errors = []
    if not isinstance(dns, dict) or dns.get("provider") != "cloudflare":
        errors.append(_problem("coldrig_dns.provider", dns.get("provider") if isinstance(dns, dict) else dns,
                               "is not cloudflare: a domain's intake creates a Cloudflare zone; set provider: "
                               "cloudflare with api_token, or leave intake out"))
    reason = validate.cloudflare_account_id_problem(account_id)  # the zone is looked up in that account too
    if reason:
        errors.append(_problem("coldrig_cloudflare_account_id", account_id, reason))
    wanted = sorted(set(i["registrar"] for i in intakes if i.get("registrar") in REGISTRAR_KEYS))
    if not wanted:
        return errors
    if not isinstance(registrar, dict):
        return errors + ["coldrig_registrar: give the registrar's API settings, e.g. {provider: namecheap, api_user: "
                         "..., api_key: ..., client_ip: ...} (a domain's intake names registrar %s)" % wanted[0]]
    provider = registrar.get("provider")
    if provider not in wanted or len(wanted) > 1:
        return errors + [_problem("coldrig_registrar.provider", provider, "is not %s, the registrar the domains' intake "
                                  "names (one registrar per run)" % " and ".join(wanted))]
    known = REGISTRAR_KEYS[provider]
    unknown = sorted(str(key) for key in registrar if key not in known)
    if unknown:
        errors.append("coldrig_registrar: unknown key(s) %s for provider %s (known: %s; see docs/onboarding-spec.md)"
                      % (", ".join(unknown), provider, ", ".join(known)))
    for key in ("api_user", "api_key"):
        if not isinstance(registrar.get(key), str) or not registrar[key].strip():
            errors.append("coldrig_registrar.%s: is missing or empty; give the %s API %s" % (key, provider, key[4:]))
    reason = validate.ipv4_problem(registrar.get("client_ip"))
    if reason:
        errors.append(_problem("coldrig_registrar.client_ip", registrar.get("client_ip"), reason + " (the public IPv4 "
                               "address of the controller, on the registrar account's API whitelist)"))
    return errors


def provider_ttl_errors(domains, dns, variable="coldrig_domains"):
    """TTLs of the domains that their DNS provider does not take (Cloudflare: 1 or 60 to 86400).

    The record builder allows what DNS allows; a provider may allow less, and dns_records would
    refuse it only at the push, after the nodes were changed.
    """
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_records import TTL_RANGES  # pylint: disable=import-outside-toplevel

    provider = dns.get("provider") if isinstance(dns, dict) else None
    if provider not in TTL_RANGES or not isinstance(domains, list):
        return []
    low, high, automatic = TTL_RANGES[provider]
    errors = []
    for index, domain in enumerate(domains):
        if not isinstance(domain, dict) or domain.get("ttl") in (None, ""):
            continue
        ttl = validate.as_int(domain["ttl"])
        if ttl is not None and ttl != automatic and not low <= ttl <= high:
            errors.append(_problem("%s[%d] (%s).ttl" % (variable, index, domain.get("name")), domain["ttl"],
                                   "is more than the DNS provider %s takes (%d to %d seconds)" % (provider, low, high)
                                   if ttl > high else "is less than the DNS provider %s takes (%d to %d seconds)"
                                   % (provider, low, high)))
    return errors


def backend_errors(backend, variable="coldrig_backend"):
    if backend in BACKENDS:
        return []
    if backend in PLANNED_BACKENDS:
        return ["%s: %r is not available yet (available: %s)" % (variable, backend, ", ".join(BACKENDS))]
    return ["%s: %r is not one of %s" % (variable, backend, ", ".join(BACKENDS))]


def _rfc2136_errors(dns, variable):
    errors = []
    server = dns.get("server")
    if not server:
        errors.append("%s.server: the rfc2136 provider needs the primary server's name or address" % variable)
    elif not validate.is_ip_address(server) and validate.hostname_problem(server):
        errors.append(_problem("%s.server" % variable, server,
                               "is neither an IP address nor a host name (%s)" % validate.hostname_problem(server)))
    if dns.get("port") is not None:
        reason = validate.port_problem(dns["port"])
        if reason:
            errors.append(_problem("%s.port" % variable, dns["port"], reason))
    key_name = dns.get("tsig_key_name")
    if not key_name:
        errors.append("%s.tsig_key_name: the rfc2136 provider needs the TSIG key's name" % variable)
    elif validate.dns_name_problem(key_name, wildcard=False):
        errors.append(_problem("%s.tsig_key_name" % variable, key_name,
                               "is not a TSIG key name (%s)" % validate.dns_name_problem(key_name, wildcard=False)))
    secret, key_file = dns.get("tsig_key_secret"), dns.get("tsig_key_file")
    if secret and key_file:
        errors.append("%s.tsig_key_secret: give tsig_key_secret or tsig_key_file, not both" % variable)
    elif not (secret or key_file):
        errors.append("%s.tsig_key_secret: give tsig_key_secret or tsig_key_file" % variable)
    elif secret:
        try:
            validate.check_secret_base64(secret, "%s.tsig_key_secret" % variable)
        except validate.ValidationError as exc:  # the message never quotes the secret
            errors.append("%s: give the secret in base64, as `keymgr -t` or `tsig-keygen` prints it" % exc)
    algorithm = dns.get("tsig_algorithm")
    if algorithm is not None and algorithm not in TSIG_ALGORITHMS:
        errors.append(_problem("%s.tsig_algorithm" % variable, algorithm, "is not one of %s" % ", ".join(TSIG_ALGORITHMS)))
    return errors


def _cloudflare_errors(dns, variable):
    url = dns.get("api_base_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        return [_problem("%s.api_base_url" % variable, url, "is not an http(s):// URL of the Cloudflare API v4")]
    return []


def _push_option_errors(dns, variable):
    """on_conflict and batch_size, the push options both providers (batch_size: Cloudflare) take."""
    from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import MAX_BATCH_SIZE  # pylint: disable=import-outside-toplevel

    errors = []
    if dns.get("on_conflict") is not None and dns["on_conflict"] not in ("fail", "replace"):
        errors.append(_problem("%s.on_conflict" % variable, dns["on_conflict"],
                               "is not one of fail (stop before any write), replace (remove what is in the way)"))
    if dns.get("batch_size") is not None:
        reason = validate.int_range_problem(dns["batch_size"], 1, MAX_BATCH_SIZE)
        if reason:
            errors.append(_problem("%s.batch_size" % variable, dns["batch_size"],
                                   reason + " (200 on Cloudflare's Free plan, 3500 on paid plans)"))
    return errors


def dns_errors(dns, variable="coldrig_dns"):
    if not isinstance(dns, dict):
        return ["%s: give the DNS provider and its settings, e.g. {provider: cloudflare, api_token: ...}" % variable]
    provider = dns.get("provider")
    if provider not in DNS_PROVIDERS:
        return ["%s.provider: %r is not one of %s" % (variable, provider, ", ".join(DNS_PROVIDERS))]
    errors = []
    known = DNS_PROVIDER_KEYS[provider]
    unknown = sorted(str(key) for key in dns if key not in known)
    if unknown:
        errors.append("%s: unknown key(s) %s for provider %s (known: %s; see docs/onboarding-spec.md)"
                      % (variable, ", ".join(unknown), provider, ", ".join(known)))
    if provider == "rfc2136":
        errors.extend(_rfc2136_errors(dns, variable))
    else:
        errors.extend(_cloudflare_errors(dns, variable))
    errors.extend(_push_option_errors(dns, variable))
    return errors
