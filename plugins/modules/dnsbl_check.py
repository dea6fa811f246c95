#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dnsbl_check
short_description: Are the nodes' addresses or the sending domains on DNS blocklists?
description:
  - Runs on the controller (C(delegate_to=localhost)). Asks every IP blocklist about each of O(addresses)
    (IPv4 as reversed octets, IPv6 as reversed nibbles, RFC 5782) and every domain blocklist about each of
    O(domains) (as its registered domain, from the Public Suffix List), all at once with dnspython's asyncio
    resolver, at most O(concurrency) queries in flight, each with O(timeout), the whole run within O(deadline).
  - Reads every answer with the asked list's own table of return codes, from the list's documentation
    (docs/monitoring.md lists them with their sources). C(listed) and C(clean) are the only verdicts on a list;
    anything else is C(error) with the reason.
  - "An answer by which a list refuses to serve this resolver (Spamhaus 127.255.255.252/254/255, URIBL and SURBL
    127.0.0.1) is C(error) with the reason C(could not check: use your own resolver or a data query service key),
    never C(listed) and never C(clean)."
  - An answer outside the list's documented codes, a timeout, SERVFAIL or REFUSED is C(error) too.
  - A listed entry's TXT record (the list's reason, often a removal link) is fetched too.
  - The default is 15 lists (O(default_lists)); O(lists) adds lists or replaces a default of the same name or zone,
    O(exclude_lists) leaves defaults out.
  - With O(spamhaus_dqs_key) the Spamhaus zones are asked as C(<key>.<name>.dq.spamhaus.net) (Spamhaus's Data
    Query Service); the results name the public zone and never carry the key.
  - Fails when an entry is listed (O(on_listed=fail)) or only warns (O(on_listed=warn)); errors warn, or fail
    with O(on_error=fail).
  - Read-only, so it runs in check mode as it does otherwise.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
requirements:
  - dnspython >= 2.4 (on the controller)
  - publicsuffixlist (for O(domains))
options:
  addresses:
    description: IPv4 and IPv6 addresses to check against the IP lists, usually the nodes' public addresses.
    type: list
    elements: str
    default: []
  domains:
    description:
      - Domains to check against the domain lists, usually the sending domains. A host name is checked as its
        registered domain (C(mail.example.co.uk) as C(example.co.uk)), as the domain lists expect.
    type: list
    elements: str
    default: []
  resolvers:
    description:
      - DNS servers to ask, C(host) or C(host:port) (C([2001:db8::53]:5353) for an IPv6 address with a port),
        with recursion desired. Empty means the system resolver.
      - Most lists refuse queries that come through large public resolvers (8.8.8.8, 1.1.1.1, a cloud provider's
        shared resolver); a resolver of your own on the node or the controller (unbound, say) avoids that.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the answer to each query.
    type: float
    default: 5
  deadline:
    description: Seconds for the whole run; a query not answered by then is reported as an error.
    type: float
    default: 60
  concurrency:
    description: How many queries may be in flight at once.
    type: int
    default: 20
  default_lists:
    description: Whether to ask the default lists (see docs/monitoring.md); with C(false) only O(lists).
    type: bool
    default: true
  exclude_lists:
    description: Default lists to leave out, by name (C(spamhaus-zen)) or zone (C(zen.spamhaus.org)).
    type: list
    elements: str
    default: []
  lists:
    description:
      - Lists to ask besides the defaults. One with the name or zone of a default list replaces it.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: A short name for the list in the results; the zone by default.
        type: str
      zone:
        description: The list's DNS zone, e.g. C(zen.spamhaus.org).
        type: str
        required: true
      kind:
        description: C(ip) for a list of addresses, C(domain) for a list of domains.
        type: str
        required: true
        choices: [ip, domain]
      codes:
        description: The answers the list documents, each one's meaning and what it says about the target.
        type: list
        elements: dict
        default: []
        suboptions:
          code:
            description: The A record the list answers, e.g. C(127.0.0.2).
            type: str
            required: true
          status:
            description:
              - C(listed) - the target is on the list.
              - C(clean) - not a listing (a reputation zone's neutral and good levels).
              - C(unchecked) - the list refused to answer this resolver; reported as an error whose reason
                starts with "could not check".
              - C(error) - the list reports a wrong query (an IP asked of a domain list, say).
            type: str
            default: listed
            choices: [listed, clean, unchecked, error]
          meaning:
            description: What the code means, in the list's words.
            type: str
      bits:
        description:
          - For a bitmasked list (SURBL, URIBL), the bits of the answer's last octet and what each means; an answer
            127.x.x.N whose N is made of these bits only is a listing. O(lists[].codes) still take precedence.
        type: list
        elements: dict
        default: []
        suboptions:
          bit:
            description: The bit's value (1, 2, 4, ... 128).
            type: int
            required: true
          meaning:
            description: What the bit means.
            type: str
      dqs:
        description: A Spamhaus zone that O(spamhaus_dqs_key) rewrites to its Data Query Service form.
        type: bool
        default: false
      resolvers:
        description:
          - DNS servers to ask for this list instead of O(resolvers), e.g. a local mirror of the list served by
            rbldnsd.
        type: list
        elements: str
        default: []
      source:
        description: Where the list documents its codes.
        type: str
  spamhaus_dqs_key:
    description:
      - A Spamhaus Data Query Service key (free for low volumes, from the Spamhaus portal). With it the Spamhaus
        lists (O(lists[].dqs)) are asked as C(<key>.zen.dq.spamhaus.net) and C(<key>.dbl.dq.spamhaus.net), which
        answer through public resolvers too. Never shown in the results.
    type: str
  on_listed:
    description: C(fail) fails the task when any entry is listed; C(warn) only warns.
    type: str
    default: fail
    choices: [fail, warn]
  on_error:
    description: C(warn) warns when a list could not be checked; C(fail) fails the task.
    type: str
    default: warn
    choices: [fail, warn]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: coldrig.infra.mail_check
"""

EXAMPLES = r"""
- name: Blocklist status of the node's address and its sending domains
  coldrig.infra.dnsbl_check:
    addresses: ["{{ coldrig_public_ipv4 }}"]
    domains: "{{ coldrig_domains | map(attribute='name') | list }}"
    resolvers: [127.0.0.1]          # a resolver of your own; public ones are refused by most lists
    spamhaus_dqs_key: "{{ vault_spamhaus_dqs_key | default(omit) }}"
    on_listed: warn
  delegate_to: localhost
  register: dnsbl

- name: Only Spamhaus and a local rbldnsd mirror of an in-house list
  coldrig.infra.dnsbl_check:
    addresses: ["{{ coldrig_public_ipv4 }}", "{{ coldrig_public_ipv6 }}"]
    default_lists: false
    lists:
      - name: spamhaus-zen
        zone: zen.spamhaus.org
        kind: ip
        dqs: true
        codes:
          - {code: 127.0.0.2, meaning: SBL}
          - {code: 127.255.255.254, status: unchecked, meaning: public resolver}
      - name: in-house
        zone: bl.example.net
        kind: ip
        resolvers: ["127.0.0.1:5353"]
        codes: [{code: 127.0.0.2, meaning: seen at our traps}]
  delegate_to: localhost
"""

RETURN = r"""
results:
  description: One row per target and list asked, addresses first, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The address, or the registered domain asked.
      type: str
    kind:
      description: C(ip) or C(domain).
      type: str
    list:
      description: The list's name.
      type: str
    zone:
      description: The list's public zone (never the DQS form with the key).
      type: str
    status:
      description: C(listed), C(clean) or C(error).
      type: str
    codes:
      description: The A records the list answered (none when the target is not listed).
      type: list
      elements: str
    meaning:
      description: Each answered code with its meaning from the list's table.
      type: list
      elements: str
    txt:
      description: The list's TXT record for a listed target (its reason, often a removal link).
      type: list
      elements: str
    error:
      description: "Why the status is C(error), e.g. C(could not check: use your own resolver or a data query service key (127.255.255.254 ...))."
      type: str
    elapsed_ms:
      description: Milliseconds the query took (none when the deadline passed first).
      type: int
  sample:
    - {target: 192.0.2.10, kind: ip, list: spamhaus-zen, zone: zen.spamhaus.org, status: listed, codes: [127.0.0.2],
       meaning: ["127.0.0.2 SBL: Spamhaus Block List"], txt: ["https://check.spamhaus.org/sbl/query/SBL1"],
       error: null, elapsed_ms: 31}
summary:
  description: Counts of targets, lists, queries, and rows per status.
  returned: always
  type: dict
  sample: {targets: 2, lists: 15, queries: 15, listed: 1, clean: 12, error: 2}
table:
  description: The rows as a plain-text table, listed and errors first.
  returned: always
  type: str
lists:
  description: The lists asked, each with its name, zone, kind and the source of its codes.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import dnsbl
from ansible_collections.coldrig.infra.plugins.module_utils import validate
# mail_auth guards its third-party imports; from it: the Public Suffix List and the host:port resolver list
from ansible_collections.coldrig.infra.plugins.module_utils.mail_auth import (
    HAS_PUBLICSUFFIXLIST,
    PUBLICSUFFIXLIST_IMPORT_ERROR,
    organizational_domain,
    resolve_servers,
)


def argument_spec():
    code = dict(code=dict(type="str", required=True),
                status=dict(type="str", default="listed", choices=list(dnsbl.OUTCOMES)),
                meaning=dict(type="str"))
    bit = dict(bit=dict(type="int", required=True), meaning=dict(type="str"))
    one_list = dict(
        name=dict(type="str"),
        zone=dict(type="str", required=True),
        kind=dict(type="str", required=True, choices=list(dnsbl.KINDS)),
        codes=dict(type="list", elements="dict", default=[], options=code),
        bits=dict(type="list", elements="dict", default=[], options=bit),
        dqs=dict(type="bool", default=False),
        resolvers=dict(type="list", elements="str", default=[]),
        source=dict(type="str"),
    )
    return dict(
        addresses=dict(type="list", elements="str", default=[]),
        domains=dict(type="list", elements="str", default=[]),
        resolvers=dict(type="list", elements="str", default=[]),
        timeout=dict(type="float", default=5.0),
        deadline=dict(type="float", default=60.0),
        concurrency=dict(type="int", default=20),
        default_lists=dict(type="bool", default=True),
        exclude_lists=dict(type="list", elements="str", default=[]),
        lists=dict(type="list", elements="dict", default=[], options=one_list),
        spamhaus_dqs_key=dict(type="str", no_log=True),
        on_listed=dict(type="str", default="fail", choices=["fail", "warn"]),
        on_error=dict(type="str", default="warn", choices=["fail", "warn"]),
    )


def targets(params):
    """(addresses, registered domains), checked; raises ValueError naming the field and the value."""
    addresses = []
    for index, value in enumerate(params["addresses"]):
        if not validate.is_ip_address(value):
            raise ValueError("addresses[%d]: %r is not an IPv4 or IPv6 address" % (index, value))
        if value.strip() not in addresses:
            addresses.append(value.strip())
    domains = []
    for index, value in enumerate(params["domains"]):
        try:
            name = validate.check_domain(value, "domains[%d]" % index)
        except validate.ValidationError as exc:
            raise ValueError(str(exc))
        registered = organizational_domain(name)
        if registered not in domains:
            domains.append(registered)
    return addresses, domains


def settings(params):
    timeout, deadline = params["timeout"], params["deadline"]
    if not 0 < timeout <= 60:
        raise ValueError("timeout: %g is not between 0 and 60 seconds" % timeout)
    if not timeout <= deadline <= 3600:
        raise ValueError("deadline: %g is not between timeout (%g) and 3600 seconds" % (deadline, timeout))
    try:
        validate.check_int_range(params["concurrency"], "concurrency", 1, 500)
    except validate.ValidationError as exc:
        raise ValueError(str(exc))
    key = params["spamhaus_dqs_key"]
    if key is not None:
        try:
            key = validate.check_dqs_key(key, "spamhaus_dqs_key")
        except validate.ValidationError as exc:
            raise ValueError(str(exc))
    return key


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not dnsbl.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=dnsbl.DNSPYTHON_IMPORT_ERROR)
    if params["domains"] and not HAS_PUBLICSUFFIXLIST:
        module.fail_json(msg=missing_required_lib("publicsuffixlist"), exception=PUBLICSUFFIXLIST_IMPORT_ERROR)
    if not params["addresses"] and not params["domains"]:
        module.fail_json(msg="addresses, domains: give at least one address or domain to check")
    try:
        dqs_key = settings(params)
        addresses, domains = targets(params)
        lists = dnsbl.select_lists(params["lists"], params["default_lists"], params["exclude_lists"])
        servers = resolve_servers(params["resolvers"], "resolvers")
        for item in lists:
            item["servers"] = resolve_servers(item["resolvers"], "lists[%s].resolvers" % item["name"])
    except (ValueError, dnsbl.ListError) as exc:
        module.fail_json(msg=str(exc))
    if not lists:
        module.fail_json(msg="lists: no list left to ask (default_lists is false or every default is excluded)")

    jobs = dnsbl.jobs_for(addresses, domains, lists)
    if not jobs:
        kinds = sorted(set(item["kind"] for item in lists))
        module.fail_json(msg="nothing to ask: the lists are of kind %s only, and no target of that kind was given"
                             % ", ".join(kinds))
    checker = dnsbl.Checker(servers, params["timeout"], params["concurrency"], params["deadline"], dqs_key)
    try:
        rows = checker.check(jobs)
    except dnsbl.ListError as exc:
        module.fail_json(msg=str(exc))
    counts = dnsbl.summary(rows, len(addresses) + len(domains), len(lists))
    text = dnsbl.table(rows)
    result = dict(changed=False, results=rows, summary=counts, table=text,
                  lists=[dict(name=x["name"], zone=x["zone"], kind=x["kind"], source=x["source"]) for x in lists])
    headline = "%d listed, %d clean, %d could not be checked, of %d queries (%d targets on %d lists)" % (
        counts["listed"], counts["clean"], counts["error"], counts["queries"], counts["targets"], counts["lists"])
    failed = (counts["listed"] and params["on_listed"] == "fail") or (counts["error"] and params["on_error"] == "fail")
    if failed:
        module.fail_json(msg="%s\n%s" % (headline, text), **result)
    for row in rows:
        if row["status"] == dnsbl.LISTED:
            module.warn("%s is listed on %s (%s): %s" % (row["target"], row["list"], ", ".join(row["codes"]),
                                                         "; ".join(row["txt"]) or "; ".join(row["meaning"])))
        elif row["status"] == dnsbl.ERROR:
            module.warn("%s on %s: %s" % (row["target"], row["list"], row["error"]))
    result["msg"] = headline
    module.exit_json(**result)


if __name__ == "__main__":
    main()
