# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig's Hetzner Cloud client, built on the ``hcloud`` library.

Shared by the ``coldrig.infra.hcloud`` inventory plugin and the ``server`` and ``rdns``
modules: listing servers with the filters the inventory offers, the normalised host
variables of a server, SSH keys matched by fingerprint, servers created and waited for
until they run, power and deletion, and reverse DNS (PTR) for IPv4 and IPv6 set
idempotently.

Every request is made here, with httpx (one HTTP client per HcloudClient), and retried
by the shared policy of ``retry.py``, as the Cloudflare and DigitalOcean clients are: 429
and ``conflict`` always, 5xx and lost answers only for requests that are safe to repeat,
honouring ``Retry-After``. The ``hcloud`` library's own request methods are not used: they
retry with a policy of their own (no 500 or 503, no ``Retry-After``) that cannot be set
through its public API. Its objects are: servers, actions and SSH keys are returned as
``BoundServer``, ``BoundAction`` and ``BoundSSHKey`` built from the API's answers with
their public constructors.

Every failure is an HcloudError carrying the API's error code and message, the HTTP
status, and what was being done. A ``POST /servers`` whose answer is lost or a 5xx may
have made the server: the client then looks for it by name and carries on with it. The
API token lives only in the HTTP client's headers: no error text or repr shows it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import time
import traceback

try:
    import httpx
    # retry.py's policy needs it: its absence is told here, with the other libraries
    import tenacity  # noqa: F401 pylint: disable=unused-import
    from hcloud import Client
    from hcloud.actions import BoundAction
    from hcloud.servers import BoundServer
    from hcloud.ssh_keys import BoundSSHKey
    HAS_HCLOUD = True
    HCLOUD_IMPORT_ERROR = None
except ImportError:
    HAS_HCLOUD = False
    HCLOUD_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.api_common import (
    as_list,
    made_anyway,
    openssh_fingerprint,
    poll_status,
    retry_after as _retry_after,
)
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import normalise_host_vars
from ansible_collections.coldrig.infra.plugins.module_utils.retry import (
    IDEMPOTENT,
    MAX_RETRIES,
    MAX_WAIT,
    RetryPolicy,
    retryable,
)

PROVIDER = "hcloud"
DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
APPLICATION_NAME = "coldrig.infra"
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request
ACTION_TIMEOUT = 600.0  # seconds to wait for Actions (creating a server takes about a minute)
POLL_INTERVAL = 1.0  # seconds between two polls of running Actions
PER_PAGE = 50  # the documented maximum
USER_AGENT = APPLICATION_NAME
CONNECT_WITH = ("public_ipv4", "public_ipv6", "private_ipv4", "hostname", "ipv4_dns_ptr")

# The HTTP status each documented error code is answered with (https://docs.hetzner.cloud/#errors).
HTTP_STATUS = {
    "invalid_input": 400, "json_error": 400,
    "unauthorized": 401,
    "forbidden": 403, "token_readonly": 403, "resource_limit_exceeded": 403,
    "not_found": 404, "deprecated_api_endpoint": 410,
    "conflict": 409, "uniqueness_error": 409,
    "unsupported_error": 422,
    "locked": 423, "protected": 423,
    "rate_limit_exceeded": 429,
    "server_error": 500, "bad_gateway": 502, "resource_unavailable": 503, "service_error": 503,
    "maintenance": 503, "unavailable": 503, "timeout": 504,
}

TOKEN_HELP = "set HCLOUD_TOKEN or api_token to a token of the project (Security > API tokens in the Hetzner Console)"


class HcloudError(Exception):
    """A failed Hetzner Cloud call: what was being done, the API's code and message, the HTTP status."""

    def __init__(self, message, code=None, status=None, details=None, doing=None, correlation_id=None,
                 retry_after=None, retryable=False):
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}
        self.doing = doing
        self.correlation_id = correlation_id
        self.retry_after, self.retryable = retry_after, retryable
        self.retry_note = None  # set by the retry policy when it did not wait for a long Retry-After
        self.attempts = 1
        super(HcloudError, self).__init__(message, code, status)

    def __str__(self):
        if self.code == "unauthorized":
            text = "the Hetzner Cloud API token is wrong or lacks access to this project (%s): %s" % (
                self.message, TOKEN_HELP)
        elif self.code == "token_readonly":
            text = "the Hetzner Cloud API token is read-only (%s): this needs a token with Read & Write permission" % (
                self.message)
        else:
            text = self.message + _field_details(self.details, self.message)
        if self.retry_note:
            text = "%s; %s" % (text, self.retry_note)
        tags = [str(self.code)] if self.code is not None else []
        if self.status is not None:
            tags.append("HTTP %s" % self.status)
        if self.attempts > 1:
            tags.append("after %d attempts" % self.attempts)
        if self.correlation_id:
            tags.append("correlation id %s" % self.correlation_id)
        text = "%s (%s)" % (text, ", ".join(tags)) if tags else text
        return "%s: %s" % (self.doing, text) if self.doing else text

    def __repr__(self):
        return "HcloudError(%r)" % str(self)


def _field_details(details, message):
    """The messages of ``details.fields`` that the main message does not already say."""
    extra = []
    for field in (details or {}).get("fields") or []:
        if not isinstance(field, dict):
            continue
        for text in field.get("messages") or []:
            item = "%s: %s" % (field.get("name"), text)
            if text not in message:
                extra.append(item)
    return "; %s" % "; ".join(extra) if extra else ""


def check_token(api_token):
    """Raise an HcloudError, never showing the value, when the token cannot be sent as a Bearer header."""
    if not api_token:
        raise HcloudError("no Hetzner Cloud API token: %s" % TOKEN_HELP, code="unauthorized")
    if not all(33 <= ord(char) <= 126 for char in api_token):
        raise HcloudError("the Hetzner Cloud API token contains spaces or characters that are not printable ASCII "
                          "(a stray newline from a file or vault?): %s" % TOKEN_HELP)


def ssh_key_fingerprint(public_key):
    """The fingerprint Hetzner Cloud gives an OpenSSH public key: MD5 of the key blob, colon-separated hex."""
    fingerprint = openssh_fingerprint(public_key)
    if fingerprint is None:
        raise HcloudError("the SSH public key is not in OpenSSH format 'TYPE BASE64 [COMMENT]' "
                          "(as in ~/.ssh/id_ed25519.pub): %r" % (public_key or "")[:40])
    return fingerprint


def default_ipv4_ptr(ip):
    """The PTR name Hetzner gives a public IPv4 address until it is changed."""
    return "static.%s.clients.your-server.de" % ".".join(reversed(ip.split(".")))


def first_ipv6_address(network):
    """The address Hetzner configures on a server from its /64: the network's ::1."""
    net = ipaddress.ip_network(u"%s" % network, strict=False)
    return (net.network_address + 1).compressed


def _norm_ptr(ptr):
    return ptr.rstrip(".").lower() if ptr else None


# ------------------------------------------------------------- host variables
def server_facts(server, network_names=None):
    """The ``hcloud_*`` variables and normalised values of one server, as plain JSON-safe data.

    ``server`` is an hcloud (Bound)Server; ``network_names`` maps network ids to names (the
    server only knows the ids of its private networks, and fetching names one server at a
    time would cost a request per server).
    """
    network_names = network_names or {}
    public = server.public_net
    ipv4 = public.ipv4 if public is not None else None
    ipv6 = public.ipv6 if public is not None else None
    ptrs = {}
    if ipv4 is not None and ipv4.dns_ptr:
        ptrs[ipv4.ip] = ipv4.dns_ptr
    ipv6_host = first_ipv6_address(ipv6.ip) if ipv6 is not None else None
    if ipv6 is not None:
        for entry in ipv6.dns_ptr or []:
            ptrs[ipaddress.ip_address(u"%s" % entry["ip"]).compressed] = entry["dns_ptr"]
    stype, location, image = server.server_type, server.location, server.image
    private = []
    for attachment in server.private_net or []:
        network_id = attachment.network.id  # only the id: a name would be fetched lazily, per server
        private.append({"id": network_id, "name": network_names.get(network_id), "ip": attachment.ip,
                        "alias_ips": list(attachment.alias_ips or [])})
    labels = dict(server.labels or {})
    return {
        "hcloud_id": server.id,
        "hcloud_name": server.name,
        "hcloud_status": server.status,
        "hcloud_created": server.created.isoformat() if server.created is not None else None,
        "hcloud_server_type": stype.name if stype is not None else None,
        "hcloud_architecture": stype.architecture if stype is not None else None,
        "hcloud_cores": stype.cores if stype is not None else None,
        "hcloud_memory_gb": stype.memory if stype is not None else None,
        "hcloud_disk_gb": stype.disk if stype is not None else None,
        "hcloud_location": location.name if location is not None else None,
        "hcloud_network_zone": location.network_zone if location is not None else None,
        "hcloud_image": (image.name or image.description) if image is not None else None,
        "hcloud_image_id": image.id if image is not None else None,
        "hcloud_image_os_flavor": image.os_flavor if image is not None else None,
        "hcloud_labels": labels,
        "hcloud_ipv4": ipv4.ip if ipv4 is not None else None,
        "hcloud_ipv6": ipv6_host,
        "hcloud_ipv6_network": ipv6.ip if ipv6 is not None else None,
        "hcloud_private_networks": private,
        "hcloud_dns_ptrs": ptrs,
    }


def _private_attachment(facts, network=None):
    """The private network attachment ``network`` (name or id) names; the first one without it."""
    attachments = facts.get("hcloud_private_networks") or []
    if network in (None, ""):
        return attachments[0] if attachments else None
    for attachment in attachments:
        if str(network) in (str(attachment["id"]), attachment.get("name")):
            return attachment
    return None


def connect_address(facts, connect_with="public_ipv4", network=None):
    """(address for ansible_host, None) or (None, why there is none) for ``connect_with``."""
    if connect_with not in CONNECT_WITH:
        raise HcloudError("connect_with: %r is not one of %s" % (connect_with, ", ".join(CONNECT_WITH)))
    if connect_with == "hostname":
        return facts["hcloud_name"], None
    if connect_with == "public_ipv4":
        if facts.get("hcloud_ipv4"):
            return facts["hcloud_ipv4"], None
        return None, "it has no public IPv4 address (connect_with: public_ipv4); try public_ipv6 or private_ipv4"
    if connect_with == "public_ipv6":
        if facts.get("hcloud_ipv6"):
            return facts["hcloud_ipv6"], None
        return None, "it has no public IPv6 network (connect_with: public_ipv6); try public_ipv4 or private_ipv4"
    if connect_with == "ipv4_dns_ptr":
        ptr = (facts.get("hcloud_dns_ptrs") or {}).get(facts.get("hcloud_ipv4"))
        if ptr:
            return ptr.rstrip("."), None
        return None, "it has no public IPv4 address with a PTR name (connect_with: ipv4_dns_ptr)"
    attachment = _private_attachment(facts, network)
    if attachment is not None:
        return attachment["ip"], None
    if network not in (None, ""):
        return None, "it is not attached to the private network %s (connect_with: private_ipv4)" % network
    return None, "it is attached to no private network (connect_with: private_ipv4)"


def host_vars(server, connect_with="public_ipv4", network=None, network_names=None):
    """All host variables of one server: the normalised ``coldrig_*`` set, ``hcloud_*`` and ``ansible_host``.

    ``server`` is an hcloud (Bound)Server or the dict ``server_facts`` made of one (what the
    inventory cache keeps). ``network`` (name or id) picks the private network for
    ``hcloud_private_ipv4`` and ``connect_with: private_ipv4``. ``ansible_host`` is left out
    when the server has no address of the kind asked for (``connect_address`` says why).
    """
    facts = dict(server) if isinstance(server, dict) else server_facts(server, network_names)
    ptrs = facts.get("hcloud_dns_ptrs") or {}
    ipv4, ipv6 = facts.get("hcloud_ipv4"), facts.get("hcloud_ipv6")
    out = normalise_host_vars(
        PROVIDER,
        ipv4=ipv4,
        ipv6=ipv6,
        ptr=ptrs.get(ipv4) if ipv4 else ptrs.get(ipv6),
        region=facts.get("hcloud_location"),
        size=facts.get("hcloud_server_type"),
        labels=facts.get("hcloud_labels"),
    )
    out.update(facts)
    attachment = _private_attachment(facts, network)
    out["hcloud_private_ipv4"] = attachment["ip"] if attachment is not None else None
    address, _why = connect_address(facts, connect_with, network)
    if address is not None:
        out["ansible_host"] = address
    return out


# ------------------------------------------------------------------ the client
class HcloudClient(object):
    """The servers, SSH keys, Actions and reverse DNS of one Hetzner Cloud project."""

    def __init__(self, api_token, api_endpoint=DEFAULT_ENDPOINT, timeout=DEFAULT_TIMEOUT,
                 poll_interval=POLL_INTERVAL, application_version=None, max_retries=MAX_RETRIES, max_wait=MAX_WAIT):
        if not HAS_HCLOUD:
            raise HcloudError("the Python library hcloud is not installed on the controller: "
                              "pip install hcloud (coldrig pins it in requirements/constraints.txt)")
        check_token(api_token)
        api_endpoint = (api_endpoint or DEFAULT_ENDPOINT).rstrip("/")
        if not api_endpoint.startswith(("https://", "http://")):
            raise HcloudError("api_endpoint: %r is not an http(s) URL such as %s" % (api_endpoint, DEFAULT_ENDPOINT))
        self.api_endpoint = api_endpoint
        self.poll_interval = float(poll_interval)
        self._retry = RetryPolicy(max_retries, max_wait)
        self.request_count = 0
        self._secret = api_token  # only to scrub it from error texts
        agent = "%s/%s" % (USER_AGENT, application_version) if application_version else USER_AGENT
        headers = {"Authorization": "Bearer %s" % api_token, "Accept": "application/json", "User-Agent": agent}
        self._http = httpx.Client(base_url=api_endpoint + "/", headers=headers, timeout=timeout)
        # builds the library's objects from the answers; no request is made through it
        self._models = Client(token=api_token, api_endpoint=api_endpoint, application_name=APPLICATION_NAME,
                              application_version=application_version, poll_interval=poll_interval, timeout=timeout)

    def __repr__(self):
        return "HcloudClient(api_endpoint=%r)" % self.api_endpoint

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._http.close()

    # ---- transport
    def _request(self, method, path, params=None, json=None, doing=None):
        """The decoded JSON answer ({} when empty), retried by the shared policy (``retry.RetryPolicy``)."""
        return self._retry.call(self._send, method, path, params, json, doing)

    def _send(self, method, path, params, json, doing):
        self.request_count += 1
        idempotent = method in IDEMPOTENT
        try:
            response = self._http.request(method, path.lstrip("/"), params=params, json=json)
        except httpx.HTTPError as exc:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise HcloudError(self._scrub("cannot reach the Hetzner Cloud API at %s: %s: %s" % (
                self.api_endpoint, type(exc).__name__, exc)), doing=doing,
                retryable=isinstance(exc, httpx.TransportError) and retryable(None, idempotent, never_sent)) from None
        status = response.status_code
        correlation_id = response.headers.get("X-Correlation-Id")
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("code"):
            code, message = error["code"], str(error.get("message") or "")
            details = error.get("details") if isinstance(error.get("details"), dict) else {}
        elif 200 <= status < 300:
            code, message, details = None, "not a JSON object: %r" % response.text[:200], {}
        else:  # a gateway's error page
            code, message, details = None, response.reason_phrase or "HTTP error", {}
        can_retry = status >= 400 and (retryable(status, idempotent) or code == "conflict")
        raise HcloudError(self._scrub(message), code=code, status=status, details=details, doing=doing,
                          correlation_id=correlation_id, retryable=can_retry,
                          retry_after=_retry_after(response.headers.get("Retry-After")) if can_retry else None)

    def _pages(self, path, key, params=None, doing=None):
        """Every item of a paginated list, following ``meta.pagination.next_page``."""
        params = dict(params or {})
        params["per_page"], page, items = PER_PAGE, 1, []
        while page:
            params["page"] = page
            body = self._request("GET", path, params=params, doing=doing)
            items.extend(body.get(key) or [])
            following = ((body.get("meta") or {}).get("pagination") or {}).get("next_page")
            if following is not None and following <= page:
                raise HcloudError("the API's next page %r does not lead past page %d" % (following, page), doing=doing)
            page = following
        return items

    def _server(self, data):
        return BoundServer(self._models.servers, data, complete=True)

    def _action(self, data):
        return BoundAction(self._models.actions, data)

    def _ssh_key(self, data):
        return BoundSSHKey(self._models.ssh_keys, data)

    def _scrub(self, text):
        """The text with the token blanked out (belt and braces: no message is known to contain it)."""
        if self._secret and len(self._secret) >= 8:
            return text.replace(self._secret, "<token>")
        return text

    # ---- servers
    def list_servers(self, label_selector=None, status=None, location=None, server_type=None):
        """Every server matching all filters given: label selector and status by the API, location
        and server type (a name or a list of names each) here, since the API cannot filter by them."""
        locations, types = set(as_list(location)), set(as_list(server_type))
        params = {}
        if label_selector:
            params["label_selector"] = label_selector
        if as_list(status):
            params["status"] = as_list(status)
        servers = [self._server(data) for data in self._pages("servers", "servers", params, "listing servers")]
        return [s for s in servers
                if (not locations or (s.location is not None and s.location.name in locations))
                and (not types or (s.server_type is not None and s.server_type.name in types))]

    def list_networks(self):
        """{network id: name} of every private network of the project."""
        return dict((n["id"], n["name"]) for n in self._pages("networks", "networks", doing="listing networks"))

    def get_server_by_name(self, name):
        """The server called ``name``, or None."""
        found = self._request("GET", "servers", params={"name": name}, doing="looking up server %s" % name)["servers"]
        return self._server(found[0]) if found else None

    def reload(self, server):
        """The server as the API has it now."""
        body = self._request("GET", "servers/%d" % server.id, doing="reading server %s" % server.id)
        return self._server(body["server"])

    def create_server(self, name, server_type, image, location=None, ssh_keys=(), labels=None, user_data=None,
                      networks=(), enable_ipv4=True, enable_ipv6=True, start=True, wait=True,
                      timeout=ACTION_TIMEOUT):
        """Create a server and, with ``wait``, return it once its Actions finished (running when ``start``).

        ``server_type``, ``image`` and ``location`` are names (``cx22``, ``debian-12``, ``fsn1``);
        ``ssh_keys`` names, ids or bound keys (see ``ensure_ssh_key``); ``networks`` names or ids.
        """
        doing = "creating server %s" % name
        body = {
            "name": name,
            "server_type": server_type,
            "image": image,
            "ssh_keys": [_ssh_key_ref(k) for k in ssh_keys],
            "labels": dict(labels or {}),
            "start_after_create": bool(start),
        }
        if location:
            body["location"] = location
        if user_data is not None:
            body["user_data"] = user_data
        if networks:
            body["networks"] = [self._network_id(ref, doing) for ref in networks]
        if not (enable_ipv4 and enable_ipv6):
            body["public_net"] = {"enable_ipv4": bool(enable_ipv4), "enable_ipv6": bool(enable_ipv6)}
        try:
            answer = self._request("POST", "servers", json=body, doing=doing)
        except HcloudError as exc:
            server = self._made_anyway(exc, name, doing)
            actions = []
        else:
            server = self._server(answer["server"])
            actions = [self._action(a) for a in [answer.get("action")] + list(answer.get("next_actions") or []) if a]
        if not wait:
            return server
        self.wait_for_actions(actions, timeout=timeout, doing=doing)
        server = self.reload(server)
        if start and server.status != "running":
            server = self.wait_for_status(server, ("running",), timeout=timeout, doing=doing)
        return server

    def _made_anyway(self, exc, name, doing):
        """The server ``name`` when a POST /servers that failed (``exc``) made it all the same; else ``exc`` is raised.

        A 5xx, or an answer that never came, may follow a server that was made: Hetzner then
        has it under the name asked for, and a second POST would be refused (name taken).
        """
        return made_anyway(exc, self.get_server_by_name, name, "server", HcloudError)

    def update_labels(self, server, labels):
        """Set the given labels on the server, keeping its other labels; True when any changed.

        One ``PUT /servers/{id}`` with the merged set, and none when every label already has
        its value.
        """
        current = dict(server.labels or {})
        merged = dict(current)
        merged.update(dict((str(k), "" if v is None else str(v)) for k, v in (labels or {}).items()))
        if merged == current:
            return False
        self._request("PUT", "servers/%d" % server.id, json={"labels": merged},
                      doing="labelling server %s" % server.name)
        return True

    def _network_id(self, ref, doing):
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return int(ref)
        found = self._request("GET", "networks", params={"name": ref}, doing=doing)["networks"]
        if not found:
            raise HcloudError("no private network named %s in this project" % ref, code="not_found", doing=doing)
        return found[0]["id"]

    def power_on(self, server, wait=True, timeout=ACTION_TIMEOUT):
        """Start the server unless it runs or is starting; True when it was started."""
        server = self.reload(server)
        if server.status in ("running", "starting"):
            if wait and server.status == "starting":
                self.wait_for_status(server, ("running",), timeout=timeout, doing="starting server %s" % server.name)
            return False
        doing = "starting server %s" % server.name
        action = self._server_action(server, doing, "poweron", timeout)
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
            self.wait_for_status(server, ("running",), timeout=timeout, doing=doing)
        return True

    def power_off(self, server, graceful=False, wait=True, timeout=ACTION_TIMEOUT):
        """Stop the server (``graceful``: ACPI shutdown, else cut power) unless it is off; True when stopped."""
        server = self.reload(server)
        if server.status == "off":
            return False
        doing = "%s server %s" % ("shutting down" if graceful else "powering off", server.name)
        action = self._server_action(server, doing, "shutdown" if graceful else "poweroff", timeout)
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
            self.wait_for_status(server, ("off",), timeout=timeout, doing=doing)
        return True

    def delete_server(self, server, wait=True, timeout=ACTION_TIMEOUT):
        """Delete the server; False when there was none (None given, or already gone)."""
        if server is None:
            return False
        doing = "deleting server %s" % (server.name or server.id)
        try:
            action = self._action(self._request("DELETE", "servers/%d" % server.id, doing=doing)["action"])
        except HcloudError as exc:
            if exc.code == "not_found":
                return False
            raise
        if wait:
            self.wait_for_action(action, timeout=timeout, doing=doing)
        return True

    def wait_for_status(self, server, statuses, timeout=ACTION_TIMEOUT, doing=None):
        """Poll the server until its status is one of ``statuses``; the reloaded server."""
        server, settled = poll_status(self.reload, server, statuses, timeout, self.poll_interval)
        if not settled:
            raise HcloudError("server %s is still %s after %g s, not %s" % (
                server.name, server.status, timeout, " or ".join(statuses)), code="timeout", doing=doing)
        return server

    def _server_action(self, server, doing, command, timeout, **body):
        """Start an Action on the server (POST /servers/{id}/actions/``command``); when the server is ``locked``
        by a running Action, wait for that and try once more."""
        path = "servers/%d/actions/%s" % (server.id, command)
        try:
            return self._action(self._request("POST", path, json=body, doing=doing)["action"])
        except HcloudError as exc:
            if exc.code != "locked":
                raise
        running = self._request("GET", "servers/%d/actions" % server.id, params={"status": "running", "per_page": 50},
                                doing=doing)["actions"]
        self.wait_for_actions([self._action(a) for a in running], timeout=timeout, doing=doing)
        return self._action(self._request("POST", path, json=body, doing=doing)["action"])

    # ---- Actions
    def wait_for_action(self, action, timeout=ACTION_TIMEOUT, doing=None):
        """Wait until the Action finished; the finished Action, or an HcloudError if it failed or timed out."""
        return self.wait_for_actions([action], timeout=timeout, doing=doing)[0]

    def wait_for_actions(self, actions, timeout=ACTION_TIMEOUT, doing=None):
        """Wait until every Action finished, polling all running ones in one request (GET /actions?id=...)."""
        current = dict((a.id, a) for a in actions)
        deadline = time.monotonic() + timeout
        while True:
            for action in current.values():
                if action.status == "error":
                    error = action.error or {}
                    raise HcloudError("Action %s (%s) failed: %s" % (
                        action.command, action.id, error.get("message") or "no reason given"),
                        code=error.get("code") or "action_failed", details=error.get("details"), doing=doing)
            running = sorted(i for i, a in current.items() if a.status == "running")
            if not running:
                return [current[a.id] for a in actions]
            if time.monotonic() >= deadline:
                names = ", ".join("%s (%s, %s%%)" % (current[i].command, i, current[i].progress) for i in running)
                raise HcloudError("Actions still running after %g s: %s" % (timeout, names), code="timeout", doing=doing)
            time.sleep(self.poll_interval)
            for start in range(0, len(running), 50):  # one request per 50 Actions (the page size limit)
                body = self._request("GET", "actions", params={"id": running[start:start + 50], "per_page": 50},
                                     doing=doing or "polling Actions")
                for data in body.get("actions", []):
                    current[data["id"]] = self._action(data)

    # ---- SSH keys
    def ensure_ssh_key(self, name, public_key, labels=None):
        """(key, changed): the project's key with this public key's fingerprint, uploaded as ``name`` when missing.

        A key already there under another name is used as it is (Hetzner allows a key once).
        """
        fingerprint = ssh_key_fingerprint(public_key)
        doing = "ensuring SSH key %s" % name
        found = self._request("GET", "ssh_keys", params={"fingerprint": fingerprint}, doing=doing)["ssh_keys"]
        if found:
            return self._ssh_key(found[0]), False
        body = {"name": name, "public_key": public_key.strip()}
        if labels is not None:
            body["labels"] = labels
        try:
            return self._ssh_key(self._request("POST", "ssh_keys", json=body, doing=doing)["ssh_key"]), True
        except HcloudError as exc:
            fields = [f.get("name") for f in exc.details.get("fields") or [] if isinstance(f, dict)]
            if exc.code == "uniqueness_error" and ("name" in fields or "same name" in exc.message):
                named = self._request("GET", "ssh_keys", params={"name": name}, doing=doing)["ssh_keys"]
                other = self._ssh_key(named[0]) if named else None
                raise HcloudError("an SSH key named %s already exists with another key (fingerprint %s, not %s): "
                                  "choose another name or delete that key" % (
                                      name, other.fingerprint if other else "unknown", fingerprint),
                                  code=exc.code, status=exc.status, doing=doing)
            raise

    # ---- reverse DNS
    def get_ptrs(self, server):
        """{ip: PTR name} of the server's public IPv4 and of the IPv6 addresses that have one."""
        return dict(server_facts(server)["hcloud_dns_ptrs"])

    def set_ptr(self, server, ip, ptr, wait=True, timeout=ACTION_TIMEOUT):
        """Set (``ptr`` None: reset) the PTR of one of the server's public addresses; True when it changed."""
        return self.set_ptrs(server, {ip: ptr}, wait=wait, timeout=timeout)

    def set_ptrs(self, server, ptrs, wait=True, timeout=ACTION_TIMEOUT):
        """Set several PTRs ({ip: name or None}) of one server, only those that differ; True when any changed.

        IPv4 must be the server's address, IPv6 any address in its /64. Names compare without
        case or trailing dot. None resets: Hetzner's default name for IPv4, no PTR for IPv6.
        Changes run one after the other (Hetzner locks a server while an Action runs); with
        ``wait`` False the last one may still be running on return, and the PTRs read before
        it finishes are the old ones.
        """
        server = self.reload(server)
        doing = "setting reverse DNS of server %s" % server.name
        changes = [(change["ip"], change["after"]) for change in self.plan_ptrs(server, ptrs)]
        for number, (ip, ptr) in enumerate(changes, 1):
            action = self._server_action(server, "%s (%s -> %s)" % (doing, ip, ptr),
                                         "change_dns_ptr", timeout, ip=ip, dns_ptr=ptr)
            # Hetzner locks a server while one of its Actions runs: one change at a time
            if wait or number < len(changes):
                self.wait_for_action(action, timeout=timeout, doing=doing)
        return bool(changes)

    def plan_ptrs(self, server, ptrs):
        """The PTR changes ``set_ptrs`` would make, without making them (check mode reads this).

        A list of ``{"ip", "before", "after"}``, one per address whose PTR differs; ``before`` is
        the current name (None: no PTR), ``after`` the wanted one without a trailing dot (None:
        reset). Addresses that are not the server's are an HcloudError, as in ``set_ptrs``.
        """
        facts = server_facts(server)
        current = facts["hcloud_dns_ptrs"]
        doing = "setting reverse DNS of server %s" % server.name
        changes = []
        for ip, ptr in ptrs.items():
            address = self._server_address(facts, ip, doing)
            wanted = _norm_ptr(ptr)
            if wanted is None and address.version == 4:
                wanted = default_ipv4_ptr(address.compressed)
            if _norm_ptr(current.get(address.compressed)) != wanted:
                changes.append({"ip": address.compressed, "before": current.get(address.compressed),
                                "after": ptr.rstrip(".") if ptr else None})
        return changes

    @staticmethod
    def _server_address(facts, ip, doing):
        try:
            address = ipaddress.ip_address(u"%s" % ip)
        except ValueError:
            raise HcloudError("%r is not an IP address" % (ip,), doing=doing) from None
        network = facts.get("hcloud_ipv6_network")
        if address.version == 4 and address.compressed == facts.get("hcloud_ipv4"):
            return address
        if address.version == 6 and network and address in ipaddress.ip_network(u"%s" % network):
            return address
        raise HcloudError("%s is not a public address of server %s (IPv4 %s, IPv6 %s)" % (
            ip, facts["hcloud_name"], facts.get("hcloud_ipv4") or "none", network or "none"), doing=doing)


def _ssh_key_ref(ref):
    """What POST /servers takes for an SSH key: its id (a bound key, an int or digits) or its name."""
    if getattr(ref, "id", None) is not None:
        return ref.id
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return int(ref)
    return ref
