#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: registrar_nameservers
short_description: A domain's nameservers at its registrar (Namecheap)
description:
  - Points a domain registered at O(registrar) at the nameservers given, e.g. the two Cloudflare assigned to
    its zone, so that the zone's records are the ones the world sees.
  - Reads first - the domain must be in the registrar account, and nothing is written when its nameservers
    already are O(nameservers) (names compare without case, order or trailing dot).
  - B(Namecheap) through its XML API (C(namecheap.domains.getList), C(namecheap.domains.dns.getList),
    C(namecheap.domains.dns.setCustom)). Namecheap answers only calls from addresses on the account's API
    whitelist - O(client_ip) is that address - and errors carry Namecheap's error number, which the module's
    message repeats with the fix.
  - Other registrars plug in as one class in C(plugins/module_utils/registrar.py) and one client.
  - Runs on the controller (C(delegate_to=localhost) or a play on localhost).
version_added: 0.2.0
author:
  - coldrig maintainers (@coldrig)
options:
  registrar:
    description: Where the domain is registered.
    type: str
    required: true
    choices: [namecheap]
  domain:
    description: The registered domain, e.g. C(outreach-example.com).
    type: str
    required: true
  nameservers:
    description:
      - The nameservers the domain must use, host names (at least one).
      - Leave it out to only read - the module then checks that the domain is in the account and the credentials
        work, and returns the nameservers the domain has, without any write (the intake's check before any change).
    type: list
    elements: str
  api_user:
    description: Namecheap - the API user. Default from the environment variable E(NAMECHEAP_API_USER).
    type: str
  api_key:
    description: Namecheap - the API key. Default from E(NAMECHEAP_API_KEY). Never shown in any output.
    type: str
  username:
    description: Namecheap - the account acted on. Default O(api_user).
    type: str
  client_ip:
    description:
      - Namecheap - the public IPv4 address of the machine that calls the API, which must be on the account's
        API whitelist. Default from E(NAMECHEAP_CLIENT_IP).
    type: str
  api_base_url:
    description: Namecheap - the API's URL; C(https://api.sandbox.namecheap.com/xml.response) for the sandbox.
    type: str
    default: https://api.namecheap.com/xml.response
  timeout:
    description: Seconds to wait for one answer.
    type: float
    default: 30
  max_retries:
    description: How often a failed call (429, 5xx, timeout) is tried again, honouring C(Retry-After).
    type: int
    default: 5
requirements:
  - httpx and tenacity on the controller
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
- name: Point the domain at the nameservers Cloudflare assigned to its zone
  coldrig.infra.registrar_nameservers:
    registrar: namecheap
    domain: outreach-example.com
    nameservers: "{{ zone.name_servers }}"
    api_user: "{{ vault_namecheap_user }}"
    api_key: "{{ vault_namecheap_key }}"
    client_ip: 203.0.113.10
  delegate_to: localhost

- name: Only check that the domain is in the account and the credentials work (no write)
  coldrig.infra.registrar_nameservers:
    registrar: namecheap
    domain: outreach-example.com
    api_user: "{{ vault_namecheap_user }}"
    api_key: "{{ vault_namecheap_key }}"
    client_ip: 203.0.113.10
  delegate_to: localhost
"""

RETURN = r"""
domain:
  description: The domain, lower case.
  returned: success
  type: str
  sample: outreach-example.com
before:
  description: The nameservers before the run, and whether they were the registrar's own.
  returned: success
  type: dict
  sample: {nameservers: [dns1.registrar-servers.com, dns2.registrar-servers.com], registrar_dns: true}
nameservers:
  description: The nameservers after the run (in check mode, what they would be).
  returned: success
  type: list
  elements: str
  sample: [ada.ns.cloudflare.com, bob.ns.cloudflare.com]
requests:
  description: How many API calls the module made.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import namecheap
from ansible_collections.coldrig.infra.plugins.module_utils.registrar import RegistrarError, argument_spec, make_registrar
from ansible_collections.coldrig.infra.plugins.module_utils.retry import HAS_TENACITY, TENACITY_IMPORT_ERROR
from ansible_collections.coldrig.infra.plugins.module_utils.validate import check_domain, check_hostname, ValidationError


def wanted(params):
    domain = check_domain(params["domain"], "domain")
    if params["nameservers"] is None:
        return domain, None
    names = []
    for index, name in enumerate(params["nameservers"] or []):
        name = check_hostname(name, "nameservers[%d]" % index)
        if name not in names:
            names.append(name)
    if not names:
        raise ValidationError("nameservers", params["nameservers"], "is empty: give at least one nameserver")
    return domain, names


def run(module, result):
    params = module.params
    domain, names = wanted(params)
    result["domain"] = domain
    registrar = make_registrar(params)
    try:
        if not registrar.in_account(domain):
            raise RegistrarError("domain: %s is not in this %s account (%s); check the name or the account"
                                 % (domain, params["registrar"], params.get("api_user")))
        ours, current = registrar.nameservers(domain)
        result["before"] = {"nameservers": current, "registrar_dns": ours}
        result["nameservers"] = current
        if names is None or (not ours and sorted(current) == sorted(names)):
            return
        result["changed"] = True
        result["nameservers"] = names
        if module._diff:
            result["diff"] = {"before": "\n".join(current) + "\n", "after": "\n".join(names) + "\n",
                              "before_header": "%s nameservers" % domain, "after_header": "%s nameservers" % domain}
        if not module.check_mode:
            registrar.set_nameservers(domain, names)
            ours, after = registrar.nameservers(domain)
            if ours or sorted(after) != sorted(names):
                raise RegistrarError("%s accepted the change but %s still answers %s: run again, or check the "
                                     "domain at the registrar" % (params["registrar"], domain, ", ".join(after)))
    finally:
        result["requests"] = registrar.requests
        registrar.close()


def main():
    module = AnsibleModule(argument_spec=argument_spec(env_fallback), supports_check_mode=True)
    if not namecheap.HAS_HTTPX:
        module.fail_json(msg=missing_required_lib("httpx"), exception=namecheap.HTTPX_IMPORT_ERROR)
    if not HAS_TENACITY:
        module.fail_json(msg=missing_required_lib("tenacity"), exception=TENACITY_IMPORT_ERROR)
    result = {"changed": False, "requests": 0}
    try:
        run(module, result)
    except (RegistrarError, ValidationError) as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
