# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registrar seam: where a domain's nameservers are set, behind one small interface.

A registrar is a class with ``name``, ``options`` (its module options, merged into the
module's argument spec) and three methods: ``in_account(domain)``, ``nameservers(domain)``
-> (uses the registrar's own DNS, [names]) and ``set_nameservers(domain, names)``; its
failures are RegistrarError with a text that names the field or the registrar's error and
the fix. Another registrar is one class more in REGISTRARS, and one client in module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class RegistrarError(Exception):
    """A registrar failure; the text names the field or the registrar's own error, and the fix."""


class Namecheap(object):
    name = "namecheap"
    options = dict(
        api_user=dict(type="str"),
        api_key=dict(type="str", no_log=True),
        username=dict(type="str"),
        client_ip=dict(type="str"),
        api_base_url=dict(type="str", default="https://api.namecheap.com/xml.response"),
    )
    env = {"api_user": "NAMECHEAP_API_USER", "api_key": "NAMECHEAP_API_KEY", "client_ip": "NAMECHEAP_CLIENT_IP"}

    def __init__(self, params):
        from ansible_collections.coldrig.infra.plugins.module_utils import namecheap  # pylint: disable=import-outside-toplevel
        from ansible_collections.coldrig.infra.plugins.module_utils.validate import ipv4_problem  # pylint: disable=import-outside-toplevel

        self._module = namecheap
        for key in ("api_user", "api_key", "client_ip"):
            if not params.get(key):
                raise RegistrarError("%s: required with registrar=namecheap (or set %s)" % (key, self.env[key]))
        if ipv4_problem(params["client_ip"]):
            raise RegistrarError("client_ip: %r is not an IPv4 address; Namecheap takes the whitelisted IPv4 "
                                 "address of the machine that calls its API" % params["client_ip"])
        try:
            self.client = namecheap.NamecheapClient(params["api_user"], params["api_key"], params["client_ip"],
                                                    username=params.get("username"), base_url=params["api_base_url"],
                                                    timeout=params["timeout"], max_retries=params["max_retries"])
        except namecheap.NamecheapError as exc:
            raise RegistrarError(str(exc))
        self._listed = None

    @property
    def requests(self):
        return self.client.request_count

    def _wrap(self, function, *args):
        try:
            return function(*args)
        except self._module.NamecheapError as exc:
            raise RegistrarError(str(exc))

    def in_account(self, domain):
        listed = self._wrap(self.client.domains, domain)
        return domain in listed

    def nameservers(self, domain):
        return self._wrap(self.client.nameservers, domain)

    def set_nameservers(self, domain, names):
        self._wrap(self.client.set_nameservers, domain, names)

    def close(self):
        self.client.close()


REGISTRARS = {"namecheap": Namecheap}


def argument_spec(env_fallback):
    """The module's options: the common ones and every registrar's own (``env_fallback`` from module_utils.basic)."""
    spec = dict(
        registrar=dict(type="str", required=True, choices=sorted(REGISTRARS)),
        domain=dict(type="str", required=True),
        nameservers=dict(type="list", elements="str"),
        timeout=dict(type="float", default=30.0),
        max_retries=dict(type="int", default=5),
    )
    for registrar in REGISTRARS.values():
        for key, option in registrar.options.items():
            option = dict(option)
            if key in registrar.env:
                option["fallback"] = (env_fallback, [registrar.env[key]])
            spec[key] = option
    return spec


def make_registrar(params):
    return REGISTRARS[params["registrar"]](params)
