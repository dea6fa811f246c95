# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig's Hetzner Cloud client, built on the ``hcloud`` library.

Shared by the ``coldrig.infra.hcloud`` inventory plugin and the ``server`` and ``rdns``
modules: listing servers with the filters the inventory offers, the normalised host
variables of a server, SSH keys matched by fingerprint, servers created and waited for
until they run, power and deletion, and reverse DNS (PTR) for IPv4 and IPv6 set
idempotently.

Every failure is an HcloudError carrying the API's error code and message, the HTTP
status that code is documented with, and what was being done. Rate-limited requests
(``rate_limit_exceeded``) and gateway errors are retried by the ``hcloud`` library with
exponential backoff. The API token lives only inside the ``hcloud`` client: no error text
or repr shows it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ipaddress
import time
import traceback

try:
    import requests
    from hcloud import APIException, Client
    from hcloud.actions import BoundAction
    from hcloud.images import Image
    from hcloud.locations import Location
    from hcloud.networks import Network
    from hcloud.server_types import ServerType
    from hcloud.servers import ServerCreatePublicNetwork
    from hcloud.ssh_keys import SSHKey
    HAS_HCLOUD = True
    HCLOUD_IMPORT_ERROR = None
except ImportError:
    HAS_HCLOUD = False
    HCLOUD_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coldrig.infra.plugins.module_utils.api_common import (
    as_list,
    openssh_fingerprint,
    poll_status,
)
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import normalise_host_vars

PROVIDER = "hcloud"
DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
APPLICATION_NAME = "coldrig.infra"
DEFAULT_TIMEOUT = 30.0  # seconds per HTTP request
ACTION_TIMEOUT = 600.0  # seconds to wait for Actions (creating a server takes about a minute)
POLL_INTERVAL = 1.0  # seconds between two polls of running Actions
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

    def __init__(self, message, code=None, status=None, details=None, doing=None, correlation_id=None):
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}
        self.doing = doing
        self.correlation_id = correlation_id
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
        tags = [str(self.code)] if self.code is not None else []
        if self.status is not None:
            tags.append("HTTP %s" % self.status)
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
                 poll_interval=POLL_INTERVAL, application_version=None):
        if not HAS_HCLOUD:
            raise HcloudError("the Python library hcloud is not installed on the controller: "
                              "pip install hcloud (coldrig pins it in requirements/constraints.txt)")
        check_token(api_token)
        api_endpoint = (api_endpoint or DEFAULT_ENDPOINT).rstrip("/")
        if not api_endpoint.startswith(("https://", "http://")):
            raise HcloudError("api_endpoint: %r is not an http(s) URL such as %s" % (api_endpoint, DEFAULT_ENDPOINT))
        self.api_endpoint = api_endpoint
        self.poll_interval = float(poll_interval)
        self._secret = api_token  # only to scrub it from error texts
        self._client = Client(token=api_token, api_endpoint=api_endpoint, application_name=APPLICATION_NAME,
                              application_version=application_version, poll_interval=poll_interval, timeout=timeout)

    def __repr__(self):
        return "HcloudClient(api_endpoint=%r)" % self.api_endpoint

    @property
    def hcloud(self):
        """The underlying ``hcloud.Client``, for what this class does not wrap."""
        return self._client

    @contextlib.contextmanager
    def _api(self, doing):
        """Turn anything the hcloud library or requests raise into an HcloudError that says what was being done."""
        try:
            yield
        except HcloudError:
            raise
        except APIException as exc:
            code = exc.code
            status = code if isinstance(code, int) else HTTP_STATUS.get(code)
            details = exc.details if isinstance(exc.details, dict) else {}
            if isinstance(code, int):  # no JSON error body: the library passes the HTTP status and reason
                details = {}
            raise HcloudError(self._scrub(str(exc.message)), code=code, status=status, details=details,
                              doing=doing, correlation_id=exc.correlation_id) from exc
        except requests.exceptions.RequestException as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None  # urllib3's innermost cause
            raise HcloudError(self._scrub("cannot reach the Hetzner Cloud API at %s: %s: %s" % (
                self.api_endpoint, type(exc).__name__, reason or exc)), doing=doing) from exc

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
        with self._api("listing servers"):
            servers = self._client.servers.get_all(**params)
        return [s for s in servers
                if (not locations or (s.location is not None and s.location.name in locations))
                and (not types or (s.server_type is not None and s.server_type.name in types))]

    def list_networks(self):
        """{network id: name} of every private network of the project."""
        with self._api("listing networks"):
            return dict((n.id, n.name) for n in self._client.networks.get_all())

    def get_server_by_name(self, name):
        """The server called ``name``, or None."""
        with self._api("looking up server %s" % name):
            return self._client.servers.get_by_name(name)

    def reload(self, server):
        """The server as the API has it now."""
        with self._api("reading server %s" % server.id):
            return self._client.servers.get_by_id(server.id)

    def create_server(self, name, server_type, image, location=None, ssh_keys=(), labels=None, user_data=None,
                      networks=(), enable_ipv4=True, enable_ipv6=True, start=True, wait=True,
                      timeout=ACTION_TIMEOUT):
        """Create a server and, with ``wait``, return it once its Actions finished (running when ``start``).

        ``server_type``, ``image`` and ``location`` are names (``cx22``, ``debian-12``, ``fsn1``);
        ``ssh_keys`` names, ids or bound keys (see ``ensure_ssh_key``); ``networks`` names or ids.
        """
        doing = "creating server %s" % name
        kwargs = {
            "name": name,
            "server_type": ServerType(name=server_type),
            "image": Image(name=image),
            "ssh_keys": [k if hasattr(k, "id_or_name") else _ssh_key_ref(k) for k in ssh_keys],
            "labels": dict(labels or {}),
            "start_after_create": bool(start),
        }
        if location:
            kwargs["location"] = Location(name=location)
        if user_data is not None:
            kwargs["user_data"] = user_data
        if networks:
            kwargs["networks"] = [Network(id=self._network_id(ref, doing)) for ref in networks]
        if not (enable_ipv4 and enable_ipv6):
            kwargs["public_net"] = ServerCreatePublicNetwork(enable_ipv4=bool(enable_ipv4),
                                                             enable_ipv6=bool(enable_ipv6))
        with self._api(doing):
            response = self._client.servers.create(**kwargs)
        if not wait:
            return response.server
        self.wait_for_actions([response.action] + list(response.next_actions), timeout=timeout, doing=doing)
        server = self.reload(response.server)
        if start and server.status != "running":
            server = self.wait_for_status(server, ("running",), timeout=timeout, doing=doing)
        return server

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
        with self._api("labelling server %s" % server.name):
            self._client.servers.update(server, labels=merged)
        return True

    def _network_id(self, ref, doing):
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return int(ref)
        with self._api(doing):
            network = self._client.networks.get_by_name(ref)
        if network is None:
            raise HcloudError("no private network named %s in this project" % ref, code="not_found", doing=doing)
        return network.id

    def power_on(self, server, wait=True, timeout=ACTION_TIMEOUT):
        """Start the server unless it runs or is starting; True when it was started."""
        server = self.reload(server)
        if server.status in ("running", "starting"):
            if wait and server.status == "starting":
                self.wait_for_status(server, ("running",), timeout=timeout, doing="starting server %s" % server.name)
            return False
        doing = "starting server %s" % server.name
        action = self._server_action(server, doing, self._client.servers.power_on, timeout)
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
        start = self._client.servers.shutdown if graceful else self._client.servers.power_off
        action = self._server_action(server, doing, start, timeout)
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
            with self._api(doing):
                action = self._client.servers.delete(server)
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

    def _server_action(self, server, doing, start, timeout, **kwargs):
        """Start an Action on the server; when it is ``locked`` by a running Action, wait for that and retry once."""
        try:
            with self._api(doing):
                return start(server, **kwargs)
        except HcloudError as exc:
            if exc.code != "locked":
                raise
        with self._api(doing):
            running = self._client.servers.get_actions_list(server, status=["running"]).actions
        self.wait_for_actions(running, timeout=timeout, doing=doing)
        with self._api(doing):
            return start(server, **kwargs)

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
                with self._api(doing or "polling Actions"):
                    body = self._client.request(method="GET", url="/actions",
                                                params={"id": running[start:start + 50], "per_page": 50})
                for data in body.get("actions", []):
                    current[data["id"]] = BoundAction(self._client.actions, data)

    # ---- SSH keys
    def ensure_ssh_key(self, name, public_key, labels=None):
        """(key, changed): the project's key with this public key's fingerprint, uploaded as ``name`` when missing.

        A key already there under another name is used as it is (Hetzner allows a key once).
        """
        fingerprint = ssh_key_fingerprint(public_key)
        doing = "ensuring SSH key %s" % name
        with self._api(doing):
            key = self._client.ssh_keys.get_by_fingerprint(fingerprint)
        if key is not None:
            return key, False
        try:
            with self._api(doing):
                return self._client.ssh_keys.create(name=name, public_key=public_key.strip(), labels=labels), True
        except HcloudError as exc:
            fields = [f.get("name") for f in exc.details.get("fields") or [] if isinstance(f, dict)]
            if exc.code == "uniqueness_error" and ("name" in fields or "same name" in exc.message):
                with self._api(doing):
                    other = self._client.ssh_keys.get_by_name(name)
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
                                         self._client.servers.change_dns_ptr, timeout, ip=ip, dns_ptr=ptr)
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
    """An SSHKey reference from an id or a name."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return SSHKey(id=int(ref))
    return SSHKey(name=ref)
