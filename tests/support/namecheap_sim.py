"""A local simulator of Namecheap's XML API -- a simulator, NOT Namecheap.

Written from Namecheap's API documentation (namecheap.com/support/api): the global
parameters and their error numbers, and the methods coldrig uses:

* ``namecheap.domains.getList`` (ListType, SearchTerm, Page, PageSize 10-100, SortBy), with
  ``<Paging>``;
* ``namecheap.domains.dns.getList`` (SLD, TLD): ``IsUsingOurDNS`` and the ``<Nameserver>``s;
* ``namecheap.domains.dns.setCustom`` (SLD, TLD, Nameservers comma-separated).

As the real API does, every answer is HTTP 200 with ``<ApiResponse Status="OK|ERROR">``; errors
are ``<Error Number="...">`` items. Requests come as a GET query or a POST form. Authentication
is ApiUser + ApiKey, and the caller's address must be on the account's whitelist (the
``ClientIp`` parameter is the address the API checks: the simulator sees every caller as
127.0.0.1, so it checks that parameter). Error numbers used, from the documentation:

======== ===================================================================
1010101  Parameter APIUser is missing
1010102  Parameter APIKey is missing
1010104  Parameter Command is missing
1010105  Parameter ClientIP is missing
1011102  API Key is invalid or API access has not been enabled (the live API's text for a
         wrong key under the documented "APIKey" number)
1011150  Invalid request IP (the whitelist)
1016103  Parameter UserName is unauthorized
2019166  Domain not found
2016166  Domain is not associated with your account
======== ===================================================================

A PageSize outside 10-100 is clamped (the documentation gives the range, not the error).
Not simulated: every other method, sandbox accounts, the documented request rate limits.
"""

from __future__ import annotations

import threading
from xml.sax import saxutils
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from tests.support.http_api import Answer, ApiSimulator, cli_parser, serve_until_signalled

NAMESPACE = "http://api.namecheap.com/xml.response"
DEFAULT_NAMESERVERS = ["dns1.registrar-servers.com", "dns2.registrar-servers.com"]


class NamecheapSimulator(ApiSimulator):
    server_name = "namecheap-sim"
    api_prefix = "/xml.response"
    content_type = "text/xml; charset=utf-8"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.accounts: dict[str, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.writes = 0

    # ---- test setup
    def add_account(self, api_user: str, api_key: str, whitelist=("127.0.0.1",), enabled: bool = True) -> None:
        with self.lock:
            self.accounts[api_user] = {"key": api_key, "whitelist": set(whitelist), "enabled": enabled,
                                       "domains": {}}

    def add_domain(self, api_user: str, name: str, nameservers=None) -> None:
        with self.lock:
            custom = list(nameservers or [])
            self.accounts[api_user]["domains"][name.lower()] = {
                "nameservers": custom or list(DEFAULT_NAMESERVERS), "ours": not custom}

    def nameservers(self, name: str) -> list[str]:
        """What the registry shows for a domain (the Cloudflare simulator reads this to activate a zone)."""
        with self.lock:
            for account in self.accounts.values():
                if name.lower() in account["domains"]:
                    return list(account["domains"][name.lower()]["nameservers"])
        return []

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        """The next ``times`` requests get an HTTP ``status`` (429 or 5xx) instead of an answer."""
        self._check_injectable(status)
        self._inject(status, times)

    # ---- HTTP
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
               host_header: str | None = None) -> Answer:
        url = urlsplit(target)
        entry = self._record(method, url)
        fault = self._take_fault(url.path)
        if fault is not None:
            entry["status"] = fault
            return fault, "<html><body>%d</body></html>" % fault, {}
        if url.path != self.api_prefix or method not in ("GET", "POST"):
            entry["status"] = 404
            return 404, "<html><body>404 Not Found</body></html>", {}
        params = parse_qs(url.query, keep_blank_values=True)
        if method == "POST":
            params.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        flat = dict((key.lower(), values[-1]) for key, values in params.items())
        entry["status"] = 200
        entry["command"] = flat.get("command", "")
        return 200, self._answer(flat), {}

    def encode(self, status: int, payload: Any) -> tuple[str | None, bytes | None]:
        return self.content_type, payload.encode("utf-8")

    # ---- the API
    def _answer(self, params: dict[str, str]) -> str:
        command = params.get("command", "")
        try:
            account = self._authenticate(params)
            handler = {
                "namecheap.domains.getlist": self._get_list,
                "namecheap.domains.dns.getlist": self._dns_get_list,
                "namecheap.domains.dns.setcustom": self._dns_set_custom,
            }.get(command.lower())
            if handler is None:
                raise ApiError(1010104 if not command else 3050900,
                               "Parameter Command is missing" if not command
                               else "command %s is not simulated by coldrig's Namecheap simulator" % command)
            with self.lock:
                inner = handler(account, params)
        except ApiError as exc:
            return envelope("ERROR", command, errors=[(exc.number, exc.message)])
        return envelope("OK", command, inner=inner)

    def _authenticate(self, params: dict[str, str]) -> dict[str, Any]:
        for key, number, text in (("apiuser", 1010101, "Parameter APIUser is missing"),
                                  ("apikey", 1010102, "Parameter APIKey is missing"),
                                  ("command", 1010104, "Parameter Command is missing"),
                                  ("clientip", 1010105, "Parameter ClientIP is missing")):
            if not params.get(key):
                raise ApiError(number, text)
        with self.lock:
            account = self.accounts.get(params["apiuser"])
            if account is None or account["key"] != params["apikey"] or not account["enabled"]:
                raise ApiError(1011102, "API Key is invalid or API access has not been enabled")
            if params["clientip"] not in account["whitelist"]:
                raise ApiError(1011150, "Invalid request IP: %s" % params["clientip"])
            if params.get("username", params["apiuser"]) != params["apiuser"]:
                raise ApiError(1016103, "Parameter UserName is unauthorized")
            return account

    def _domain(self, account: dict[str, Any], params: dict[str, str]) -> tuple[str, dict[str, Any]]:
        sld, tld = params.get("sld", ""), params.get("tld", "")
        if not sld or not tld:
            raise ApiError(2019166, "Domain not found")
        name = ("%s.%s" % (sld, tld)).lower()
        if name in account["domains"]:
            return name, account["domains"][name]
        if any(name in other["domains"] for other in self.accounts.values()):
            raise ApiError(2016166, "Domain is not associated with your account")
        raise ApiError(2019166, "Domain not found")

    def _get_list(self, account: dict[str, Any], params: dict[str, str]) -> str:
        page = max(1, int(params.get("page") or 1))
        size = min(100, max(10, int(params.get("pagesize") or 20)))
        term = params.get("searchterm", "").lower()
        names = sorted(n for n in account["domains"] if term in n)
        if params.get("sortby", "NAME").upper() == "NAME_DESC":
            names.reverse()
        chunk = names[(page - 1) * size:page * size]
        items = "".join('<Domain ID="%d" Name=%s User="%s" IsExpired="false" IsLocked="false" AutoRenew="false" '
                        'IsOurDNS="%s" />' % (1000 + names.index(n), saxutils.quoteattr(n), "owner",
                                              str(account["domains"][n]["ours"]).lower()) for n in chunk)
        return ('<CommandResponse Type="namecheap.domains.getList"><DomainGetListResult>%s</DomainGetListResult>'
                '<Paging><TotalItems>%d</TotalItems><CurrentPage>%d</CurrentPage><PageSize>%d</PageSize></Paging>'
                '</CommandResponse>' % (items, len(names), page, size))

    def _dns_get_list(self, account: dict[str, Any], params: dict[str, str]) -> str:
        name, domain = self._domain(account, params)
        servers = "".join("<Nameserver>%s</Nameserver>" % saxutils.escape(ns) for ns in domain["nameservers"])
        return ('<CommandResponse Type="namecheap.domains.dns.getList"><DomainDNSGetListResult Domain=%s '
                'IsUsingOurDNS="%s">%s</DomainDNSGetListResult></CommandResponse>'
                % (saxutils.quoteattr(name), str(domain["ours"]).lower(), servers))

    def _dns_set_custom(self, account: dict[str, Any], params: dict[str, str]) -> str:
        name, domain = self._domain(account, params)
        servers = [ns.strip().lower().rstrip(".") for ns in params.get("nameservers", "").split(",") if ns.strip()]
        domain["nameservers"], domain["ours"] = servers, False
        self.writes += 1
        return ('<CommandResponse Type="namecheap.domains.dns.setCustom"><DomainDNSSetCustomResult Domain=%s '
                'Updated="true" /></CommandResponse>' % saxutils.quoteattr(name))


class ApiError(Exception):
    def __init__(self, number: int, message: str):
        super().__init__(message)
        self.number, self.message = number, message


def envelope(status: str, command: str, inner: str = "", errors=()) -> str:
    items = "".join('<Error Number="%d">%s</Error>' % (number, saxutils.escape(text)) for number, text in errors)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<ApiResponse Status="%s" xmlns="%s"><Errors>%s</Errors>'
            '<Warnings /><RequestedCommand>%s</RequestedCommand>%s<Server>namecheap-sim</Server>'
            '<GMTTimeDifference>--5:00</GMTTimeDifference><ExecutionTime>0.01</ExecutionTime></ApiResponse>'
            % (status, NAMESPACE, items, saxutils.escape(command.lower()), inner))


def main() -> int:
    parser = cli_parser("coldrig's Namecheap XML API simulator (NOT Namecheap)")
    parser.add_argument("--api-user", default="coldrig")
    parser.add_argument("--domain", action="append", default=[])
    args = parser.parse_args()
    sim = NamecheapSimulator(args.host, args.port)
    sim.add_account(args.api_user, (args.token or ["sim-key"])[0])
    for name in args.domain:
        sim.add_domain(args.api_user, name)
    return serve_until_signalled(sim, lambda: {"api_user": args.api_user})


if __name__ == "__main__":
    raise SystemExit(main())
