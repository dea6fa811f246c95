# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of Namecheap's XML API for the registrar steps coldrig takes.

Namecheap answers every call with HTTP 200 and ``<ApiResponse Status="OK|ERROR">``; an error
is an ``<Error Number="...">`` whose number says what went wrong (namecheap.com/support/api:
the global parameters' numbers, and each method's own). NamecheapError keeps the number and
Namecheap's text and adds the fix for the numbers an operator meets (a wrong key, an address
not on the API whitelist, a domain that is not in the account).

Every call is a POST with a form body, so the API key travels in no URL and no log line.
Setting the same nameservers twice is harmless, so every call is safe to repeat: 429s, 5xx
answers and timeouts are retried by the one policy of ``retry.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback
from xml.etree import ElementTree

try:
    import httpx
    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None
except ImportError:
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.api_common import retry_after as _retry_after
from ansible_collections.coldrig.infra.plugins.module_utils.retry import RetryPolicy, retryable

DEFAULT_BASE_URL = "https://api.namecheap.com/xml.response"
SANDBOX_BASE_URL = "https://api.sandbox.namecheap.com/xml.response"
PAGE_SIZE = 100  # the documented maximum of namecheap.domains.getList

# What to do about the error numbers an operator meets (from the global parameters' and the methods' docs).
FIXES = {
    1011102: "check api_key, and that API access is enabled in Namecheap's Profile > Tools > API Access",
    1010102: "give api_key",
    1010101: "give api_user",
    1011150: "add this machine's public IPv4 address (client_ip) to the API whitelist in Namecheap's "
             "Profile > Tools > API Access, or set client_ip to an address that is on it",
    1017150: "the request IP is disabled or locked at Namecheap: contact Namecheap support",
    1017105: "the client IP is disabled or locked at Namecheap: contact Namecheap support",
    1017101: "the API user is disabled or locked at Namecheap: contact Namecheap support",
    1017411: "too many login attempts: wait before trying again",
    1016103: "username must be the API user itself or an account it may act for",
    2019166: "the domain is not registered in this Namecheap account: check the name, or the account (api_user)",
    2016166: "the domain belongs to another Namecheap account: use that account's api_user and api_key",
    2030166: "Namecheap does not allow editing this domain's nameservers (e.g. a locked or expired domain)",
}


class NamecheapError(Exception):
    """A failed call: Namecheap's error numbers and texts (or the HTTP failure), the command, the fix."""

    def __init__(self, errors, command, status=None, retryable=False, retry_after=None):
        self.errors = list(errors)  # [(number or None, text)]
        self.command, self.status = command, status
        self.retryable, self.retry_after = retryable, retry_after
        self.attempts, self.retry_note = 1, None
        super(NamecheapError, self).__init__(errors, command, status)

    @property
    def numbers(self):
        return [number for number, _text in self.errors if number is not None]

    def __str__(self):
        parts = []
        for number, text in self.errors:
            item = "%s (error %s)" % (text, number) if number is not None else text
            fix = FIXES.get(number)
            parts.append("%s: %s" % (item, fix) if fix else item)
        where = "Namecheap %s" % self.command
        if self.status is not None and self.status != 200:
            where += " HTTP %s" % self.status
        if self.attempts > 1:
            where += " after %d attempts" % self.attempts
        text = "%s: %s" % (where, "; ".join(parts) or "no details")
        return "%s; %s" % (text, self.retry_note) if self.retry_note else text


def split_domain(name):
    """(SLD, TLD) as Namecheap wants them: the first label, and the rest (``example.co.uk`` -> example, co.uk)."""
    name = name.strip().rstrip(".").lower()
    sld, _dot, tld = name.partition(".")
    return sld, tld


class NamecheapClient(object):
    """namecheap.domains.getList, namecheap.domains.dns.getList and namecheap.domains.dns.setCustom."""

    def __init__(self, api_user, api_key, client_ip, username=None, base_url=DEFAULT_BASE_URL, timeout=30.0,
                 max_retries=5, max_wait=60.0, transport=None):
        if not api_key or not all(33 <= ord(c) <= 126 for c in api_key):
            raise NamecheapError([(None, "api_key is empty or not printable ASCII")], "(no call made)")
        self.base_url = base_url
        self._auth = {"ApiUser": api_user, "ApiKey": api_key, "UserName": username or api_user, "ClientIp": client_ip}
        self.request_count = 0
        self._retry = RetryPolicy(max_retries, max_wait)
        self._http = httpx.Client(timeout=timeout, transport=transport, headers={"User-Agent": "coldrig.infra"})

    def __repr__(self):
        return "NamecheapClient(base_url=%r, api_user=%r)" % (self.base_url, self._auth["ApiUser"])

    def close(self):
        self._http.close()

    # ---- methods
    def domains(self, search=None):
        """Every domain name of the account (or those containing ``search``), following the paging."""
        names, page = [], 1
        while True:
            params = {"ListType": "ALL", "Page": page, "PageSize": PAGE_SIZE, "SortBy": "NAME"}
            if search:
                params["SearchTerm"] = search
            result = self.call("namecheap.domains.getList", **params)
            listing = result.find("DomainGetListResult")
            names.extend(item.get("Name", "").lower() for item in (listing if listing is not None else []))
            total = int(result.findtext("Paging/TotalItems") or 0)
            if page * PAGE_SIZE >= total:
                return names
            page += 1

    def nameservers(self, domain):
        """(uses Namecheap's own DNS, [nameservers]) of a domain of the account."""
        sld, tld = split_domain(domain)
        result = self.call("namecheap.domains.dns.getList", SLD=sld, TLD=tld).find("DomainDNSGetListResult")
        if result is None:
            raise NamecheapError([(None, "the answer has no DomainDNSGetListResult")], "namecheap.domains.dns.getList")
        servers = [ns.text.strip().lower().rstrip(".") for ns in result.findall("Nameserver") if ns.text]
        return result.get("IsUsingOurDNS", "").lower() == "true", servers

    def set_nameservers(self, domain, nameservers):
        sld, tld = split_domain(domain)
        result = self.call("namecheap.domains.dns.setCustom", SLD=sld, TLD=tld, Nameservers=",".join(nameservers))
        outcome = result.find("DomainDNSSetCustomResult")
        if outcome is None or outcome.get("Updated", "").lower() != "true":
            raise NamecheapError([(None, "Namecheap did not confirm the change (Updated is not true)")],
                                 "namecheap.domains.dns.setCustom")

    # ---- transport
    def call(self, command, **params):
        """The ``<CommandResponse>`` element of a successful call, retried by the shared policy."""
        return self._retry.call(self._send, command, params)

    def _send(self, command, params):
        self.request_count += 1
        form = dict(self._auth, Command=command)
        form.update((key, str(value)) for key, value in params.items())
        try:
            response = self._http.post(self.base_url, data=form)
        except httpx.TransportError as exc:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise NamecheapError([(None, "%s: %s" % (type(exc).__name__, str(exc) or "no details"))], command,
                                 retryable=retryable(None, True, never_sent)) from None
        if response.status_code != 200:
            raise NamecheapError([(None, "HTTP %d: %r" % (response.status_code, response.text[:200]))], command,
                                 status=response.status_code, retryable=retryable(response.status_code, True),
                                 retry_after=_retry_after(response.headers.get("Retry-After")))
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError as exc:
            raise NamecheapError([(None, "not an XML answer (%s): %r" % (exc, response.text[:200]))], command) from None
        for element in root.iter():  # the documented answers come with and without the xml.response namespace
            element.tag = element.tag.rpartition("}")[2]
        if root.get("Status", "").upper() != "OK":
            errors = [(_number(item.get("Number")), (item.text or "").strip())
                      for item in root.iter("Error")] or [(None, "Status is %r, no error given" % root.get("Status"))]
            raise NamecheapError(errors, command)
        result = root.find("CommandResponse")
        if result is None:
            raise NamecheapError([(None, "the answer has no CommandResponse")], command)
        return result


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
