# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One view of a cloud node, whichever provider it lives on (Hetzner Cloud or DigitalOcean).

Used by the ``server`` and ``rdns`` modules and by the ``cloud_nodes`` filter that checks the
provisioning spec: the checks every provider shares (mail host names, labels and what each
provider allows in them, OpenSSH public keys, admin user names), the cloud-init document that
creates the admin user, the SSH banner wait, ``nodes_for`` - a small adapter per provider
over its client (``HcloudClient``, ``DigitalOceanClient``) so that the modules read, compare
and act without knowing which API is behind it -, and the start and end of those modules
(``missing_library``, ``run_module``). Every API call lives in the clients.

Errors are ``CloudError`` whose text starts with the field it is about ("name: ...",
"labels.coldrig_fleet: ..."); failures of an API are the clients' own errors
(``HcloudError``, ``DigitalOceanError``), which the modules report as they are.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import time
import traceback

from ansible_collections.coldrig.infra.plugins.module_utils import digitalocean as do
from ansible_collections.coldrig.infra.plugins.module_utils import hcloud as hc
from ansible_collections.coldrig.infra.plugins.module_utils.api_common import openssh_fingerprint
from ansible_collections.coldrig.infra.plugins.module_utils.inventory import (
    label_groups,
    normalise_host_vars,
)
from ansible_collections.coldrig.infra.plugins.module_utils.validate import (
    fqdn_problem,
    normalise_name,
    unix_user_problem,
)

PROVIDERS = ("hcloud", "digitalocean")
PROVIDER_NAMES = {"hcloud": "Hetzner Cloud", "digitalocean": "DigitalOcean"}
TOKEN_ENV = {"hcloud": ("HCLOUD_TOKEN",), "digitalocean": do.TOKEN_ENV}
ENDPOINT_ENV = {"hcloud": ("HCLOUD_ENDPOINT",), "digitalocean": ()}
DEFAULT_ENDPOINT = {"hcloud": hc.DEFAULT_ENDPOINT, "digitalocean": do.DEFAULT_ENDPOINT}
DEFAULT_IMAGE = {"hcloud": "debian-12", "digitalocean": "debian-12-x64"}
INVENTORY_GROUP = {"hcloud": "hcloud", "digitalocean": "digitalocean"}  # the inventory plugins' `group` default
SSH_BANNER_PREFIX = b"SSH-"

_HCLOUD_LABEL_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
_HCLOUD_LABEL_KEY = re.compile(r"^(?:(?P<prefix>[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)/)?%s$" % _HCLOUD_LABEL_NAME)
_HCLOUD_LABEL_VALUE = re.compile(r"^(?:%s)?$" % _HCLOUD_LABEL_NAME)
_DO_TAG_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_COMMENT = re.compile(r"[^A-Za-z0-9@._-]+")
RESERVED_USERS = ("root", "daemon", "bin", "sys", "sync", "nobody", "sshd", "systemd-network")


class CloudError(Exception):
    """A value that cannot be used, or a node that is not as it must be; the text names the field."""


# ------------------------------------------------------------------ checks
def argument_spec(**options):
    """The options every cloud module has (the ``coldrig.infra.cloud`` doc fragment), with the module's own."""
    spec = dict(
        provider=dict(type="str", required=True, choices=list(PROVIDERS)),
        api_token=dict(type="str", no_log=True),
        api_endpoint=dict(type="str"),
    )
    spec.update(options)
    return spec


def check_provider(provider, field="provider"):
    if provider not in PROVIDERS:
        raise CloudError("%s: %r is not one of %s" % (field, provider, ", ".join(PROVIDERS)))
    return provider


def check_fqdn(name, field="name"):
    """The mail host name, lower case and without a trailing dot; a CloudError unless it is a FQDN.

    A mail host is a fully qualified name of two or more labels (letters, digits, inner
    hyphens) whose last label is not a number: ``mx1.outreach-example.com``. On DigitalOcean
    this name is also what sets the PTR, so it must be a FQDN everywhere.
    """
    if not isinstance(name, str) or not name.strip():
        raise CloudError("%s: a fully qualified domain name is required, e.g. mx1.outreach-example.com" % field)
    problem = fqdn_problem(name)  # the one rule for host names (validate.py)
    if problem:
        raise CloudError("%s: %r is not a fully qualified domain name (it %s); give two or more dot-separated "
                         "labels of letters, digits and inner hyphens, e.g. mx1.outreach-example.com" % (
                             field, name, problem))
    return normalise_name(name)


def check_labels(provider, labels, field="labels"):
    """The labels as a {str: str} dict; a CloudError naming the label unless the provider accepts it.

    Hetzner: keys of at most 63 characters (optionally ``prefix/``), values of at most 63, both
    alphanumeric at the ends with ``-_.`` inside. DigitalOcean stores them as tags ``key:value``
    (``key`` alone for an empty value): letters, digits, dashes and underscores, no dots, 255
    characters at most.
    """
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise CloudError("%s: must be a mapping of label names to values, e.g. {coldrig_role: mta}" % field)
    out = {}
    for key, value in labels.items():
        value = "" if value is None else value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise CloudError("%s.%s: %r is not a string" % (field, key, value))
        key, value = str(key), str(value)
        where = "%s.%s" % (field, key)
        if provider == "hcloud":
            match = _HCLOUD_LABEL_KEY.match(key)
            if not match or key.startswith("hetzner.cloud/"):
                raise CloudError("%s: %r is not a Hetzner label key: at most 63 letters, digits, '-', '_' and '.', "
                                 "starting and ending with a letter or digit (an optional 'prefix/' before it; "
                                 "hetzner.cloud/ is reserved)" % (where, key))
            if not _HCLOUD_LABEL_VALUE.match(value):
                raise CloudError("%s: %r is not a Hetzner label value: at most 63 letters, digits, '-', '_' and '.', "
                                 "starting and ending with a letter or digit" % (where, value))
        else:
            if not _DO_TAG_PART.match(key):
                raise CloudError("%s: %r cannot be part of a DigitalOcean tag (key:value): letters, digits, dashes "
                                 "and underscores only, no dots or colons" % (where, key))
            if value and not _DO_TAG_PART.match(value):
                raise CloudError("%s: %r cannot be part of a DigitalOcean tag (key:value): letters, digits, dashes "
                                 "and underscores only, no dots or colons" % (where, value))
            if len(label_tag(key, value)) > 255:
                raise CloudError("%s: the tag %s:%s is longer than 255 characters" % (where, key, value))
        out[key] = value
    return out


def label_tag(key, value):
    """The DigitalOcean tag of one label: ``key:value``, or ``key`` for an empty value."""
    return "%s:%s" % (key, value) if value else key


def labels_to_tags(labels):
    """The DigitalOcean tags of a label dict, in its order."""
    return [label_tag(key, value) for key, value in (labels or {}).items()]


def key_fingerprint(public_key, field="ssh_keys"):
    """The MD5 fingerprint both providers give an OpenSSH public key; a CloudError naming ``field`` if it is none."""
    fingerprint = openssh_fingerprint(public_key)
    if fingerprint is None:
        raise CloudError("%s: not an OpenSSH public key 'TYPE BASE64 [COMMENT]' (the line of a .pub file such as "
                         "~/.ssh/id_ed25519.pub): %r" % (field, (public_key or "")[:40]))
    return fingerprint


def check_ssh_keys(keys, field="ssh_keys"):
    """The keys, stripped, each checked; duplicates (same fingerprint) dropped."""
    if keys is None:
        return []
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise CloudError("%s: must be a list of OpenSSH public key lines" % field)
    out, seen = [], set()
    for index, key in enumerate(keys):
        if not isinstance(key, str):
            raise CloudError("%s[%d]: must be a string, one OpenSSH public key line" % (field, index))
        fingerprint = key_fingerprint(key, "%s[%d]" % (field, index))
        if fingerprint not in seen:
            seen.add(fingerprint)
            out.append(key.strip())
    return out


def ssh_key_name(public_key):
    """The name a key is uploaded under when the project/account lacks it: its comment and fingerprint.

    ``ops@example.test (coldrig 37b765e3)``; a key without a comment is ``coldrig 37b765e3``.
    Both providers take a key only once, so a key that is there already keeps its name.
    """
    fingerprint = key_fingerprint(public_key).replace(":", "")[:8]
    comment = _KEY_COMMENT.sub("-", " ".join(public_key.strip().split()[2:])).strip("-")[:64]
    return "%s (coldrig %s)" % (comment, fingerprint) if comment else "coldrig %s" % fingerprint


def check_admin_user(name, field="admin_user"):
    if unix_user_problem(name, allow_root=True):  # the rule of validate.py; root is refused below, a system account
        raise CloudError("%s: %r is not a Linux user name: lower-case letters, digits, '_' and '-', starting with a "
                         "letter or '_', at most 32 characters" % (field, name))
    if name in RESERVED_USERS:
        raise CloudError("%s: %r is a system account; choose a user of your own (e.g. ops)" % (field, name))
    return name


def cloud_init(admin_user, admin_ssh_keys):
    """A cloud-config document that creates ``admin_user`` with the keys and passwordless sudo.

    The distribution's default user stays (``default`` first), so the keys the provider puts
    on root (or its default user) keep working; the admin user gets a locked password, bash,
    the ``sudo`` group and ``NOPASSWD:ALL``. Values are written as JSON, which is YAML, so no
    key comment can break the document.
    """
    check_admin_user(admin_user)
    keys = check_ssh_keys(admin_ssh_keys, "admin_ssh_keys")
    if not keys:
        raise CloudError("admin_ssh_keys: the admin user %s needs at least one OpenSSH public key" % admin_user)
    user = {
        "name": admin_user,
        "groups": ["sudo"],
        "shell": "/bin/bash",
        "lock_passwd": True,
        "sudo": "ALL=(ALL) NOPASSWD:ALL",
        "ssh_authorized_keys": keys,
    }
    lines = ["#cloud-config", "# written by coldrig.infra.server", "users:", "  - default",
             "  - " + json.dumps(user, sort_keys=True)]
    return "\n".join(lines) + "\n"


def _first_set(names, environ=None):
    """The value of the first of these environment variables that is set and not empty, else None."""
    environ = os.environ if environ is None else environ
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


def token_from(provider, api_token, environ=None):
    """The API token: the one given, else the provider's environment variables; a CloudError naming them."""
    token = api_token or _first_set(TOKEN_ENV[provider], environ)
    if not token:
        raise CloudError("api_token: not given, and none of %s is set in the controller's environment: give the %s "
                         "API token as api_token (from a vault) or in %s" % (
                             ", ".join(TOKEN_ENV[provider]), PROVIDER_NAMES[provider], TOKEN_ENV[provider][0]))
    return token


def endpoint_from(provider, api_endpoint, environ=None):
    """The API's base URL: the one given, else the provider's environment variable, else its default."""
    return api_endpoint or _first_set(ENDPOINT_ENV[provider], environ) or DEFAULT_ENDPOINT[provider]


# ------------------------------------------------------------- SSH banner
def read_ssh_banner(host, port, timeout):
    """Connect to ``host:port`` and read the server's identification line; (banner, None) or (None, why)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 255:
                chunk = sock.recv(255 - len(data))
                if not chunk:
                    break
                data += chunk
    except socket.timeout:
        return None, "timed out after %g s" % timeout
    except OSError as exc:
        return None, exc.strerror or str(exc)
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    if line.startswith(SSH_BANNER_PREFIX):
        return line.decode("ascii", "replace"), None
    if not data:
        return None, "the connection was closed before a banner came"
    return None, "answered %r, not an SSH banner" % line[:60].decode("ascii", "replace")


def wait_for_ssh(host, port, timeout, interval=2.0, attempt_timeout=5.0):
    """Wait until ``host:port`` answers with an ``SSH-`` banner; {"banner", "seconds", "attempts"}.

    A CloudError with the last reason when it does not within ``timeout`` seconds.
    """
    start = time.monotonic()
    deadline = start + timeout
    attempts, why = 0, "not tried"
    while True:
        attempts += 1
        left = deadline - time.monotonic()
        banner, why = read_ssh_banner(host, port, max(0.5, min(attempt_timeout, left)))
        if banner is not None:
            return {"banner": banner, "seconds": round(time.monotonic() - start, 2), "attempts": attempts}
        if time.monotonic() + interval > deadline:
            raise CloudError("SSH at %s port %d gave no SSH banner within %g s (%d attempts; last: %s)" % (
                host, port, timeout, attempts, why))
        time.sleep(interval)


# ------------------------------------------------------- provider adapters
class _Nodes(object):
    """What the modules need of one provider; ``raw`` is the client's own server/droplet object."""

    provider = None

    def __init__(self, client):
        self.client = client

    def summary(self, raw):
        """{name, status, state, server_type, image, location, labels, ipv4, ipv6} of a node."""
        raise NotImplementedError

    def groups(self, labels):
        """The groups the inventory plugin puts a node with these labels in (its default ``group`` option)."""
        return [INVENTORY_GROUP[self.provider]] + label_groups(labels)

    def ensure_keys(self, public_keys):
        """(the keys to create a node with, {name, fingerprint, uploaded} of each): uploaded where missing."""
        refs, keys = [], []
        for key in public_keys:
            bound, uploaded = self.client.ensure_ssh_key(ssh_key_name(key), key)
            refs.append(bound)
            keys.append({"name": bound.name, "fingerprint": bound.fingerprint, "uploaded": uploaded})
        return refs, keys

    def power_on(self, raw, wait, timeout):
        return self.client.power_on(raw, wait=wait, timeout=timeout)

    def power_off(self, raw, wait, timeout):
        return self.client.power_off(raw, graceful=True, wait=wait, timeout=timeout)

    def reload(self, raw):
        return self.client.reload(raw)


class HcloudNodes(_Nodes):
    provider = "hcloud"
    states = {"running": "running", "off": "stopped", "initializing": "pending", "starting": "pending",
              "stopping": "pending", "deleting": "deleting"}

    def find(self, name):
        return self.client.get_server_by_name(name)

    def summary(self, raw):
        facts = hc.server_facts(raw)
        return {"id": facts["hcloud_id"], "name": facts["hcloud_name"], "status": facts["hcloud_status"],
                "state": self.states.get(facts["hcloud_status"], "other"),
                "server_type": facts["hcloud_server_type"], "image": facts["hcloud_image"],
                "location": facts["hcloud_location"], "labels": facts["hcloud_labels"],
                "ipv4": facts["hcloud_ipv4"], "ipv6": facts["hcloud_ipv6"]}

    def facts(self, raw):
        names = self.client.list_networks() if raw.private_net else None
        return hc.server_facts(raw, names)

    def host_vars(self, raw):
        return hc.host_vars(self.facts(raw))

    def create(self, name, server_type, image, location, key_refs, labels, user_data, start, wait, timeout):
        return self.client.create_server(name, server_type, image, location=location, ssh_keys=key_refs,
                                         labels=labels, user_data=user_data, start=start, wait=wait, timeout=timeout)

    def wait_settled(self, raw, timeout):
        """Wait until a node that is being created, started or stopped has settled (running or off)."""
        return self.client.wait_for_status(raw, ("running", "off"), timeout=timeout,
                                           doing="waiting for server %s" % raw.name)

    def delete(self, raw, wait, timeout):
        return self.client.delete_server(raw, wait=wait, timeout=timeout)

    def plan_labels(self, raw, labels):
        """(labels after, {label: [before, after]} of what changes)."""
        current = dict(raw.labels or {})
        after = dict(current)
        after.update(labels)
        changes = dict((k, [current.get(k), v]) for k, v in labels.items() if current.get(k) != v)
        return after, changes

    def set_labels(self, raw, labels):
        return self.client.update_labels(raw, labels)


class DigitalOceanNodes(_Nodes):
    provider = "digitalocean"
    states = {"active": "running", "off": "stopped", "new": "pending", "archive": "other"}

    def find(self, name):
        return self.client.get_droplet_by_name(name)

    def summary(self, raw):
        facts = do.droplet_facts(raw)
        labels, _conflicts = do.tag_labels(facts["do_tags"])
        return {"id": facts["do_id"], "name": facts["do_name"], "status": facts["do_status"],
                "state": self.states.get(facts["do_status"], "other"),
                "server_type": facts["do_size_slug"], "image": facts["do_image"],
                "location": facts["do_region"], "labels": labels,
                "ipv4": facts["do_public_ipv4"], "ipv6": facts["do_public_ipv6"]}

    def facts(self, raw):
        return do.droplet_facts(raw)

    def host_vars(self, raw):
        return do.host_vars(self.facts(raw))

    def create(self, name, server_type, image, location, key_refs, labels, user_data, start, wait, timeout):
        droplet = self.client.create_droplet(name, server_type, image, region=location, ssh_keys=key_refs,
                                             tags=labels_to_tags(labels), user_data=user_data, wait=wait or not start,
                                             timeout=timeout)
        if not start:  # DigitalOcean cannot create a droplet powered off
            self.client.power_off(droplet, graceful=False, wait=wait, timeout=timeout)
            droplet = self.client.reload(droplet)
        return droplet

    def wait_settled(self, raw, timeout):
        return self.client.wait_for_status(raw, ("active", "off"), timeout=timeout,
                                           doing="waiting for droplet %s" % raw.name)

    def delete(self, raw, wait, timeout):
        return self.client.delete_droplet(raw)

    def _tag_plan(self, raw, labels):
        """(tags to add, tags to remove): a label with another value loses its old ``key:...`` tags."""
        have = list(getattr(raw, "tags", None) or [])
        lower = set(t.lower() for t in have)
        add = [label_tag(k, v) for k, v in labels.items() if label_tag(k, v).lower() not in lower]
        remove = []
        for key, value in labels.items():
            wanted = label_tag(key, value).lower()
            for tag in have:
                tag_key = tag.partition(":")[0]
                if tag_key.lower() == key.lower() and tag.lower() != wanted and tag not in remove:
                    remove.append(tag)
        return add, remove

    def plan_labels(self, raw, labels):
        """(labels after, {label: [before, after]} of what changes), read from the tags."""
        add, remove = self._tag_plan(raw, labels)
        have = list(getattr(raw, "tags", None) or [])
        touched = set(tag.partition(":")[0].lower() for tag in add + remove)
        current, _conflicts = do.tag_labels(have)
        after, _conflicts = do.tag_labels([tag for tag in have if tag not in remove] + add)
        changes = dict((k, [current.get(k), v]) for k, v in labels.items() if k.lower() in touched)
        return after, changes

    def set_labels(self, raw, labels):
        add, remove = self._tag_plan(raw, labels)
        changed = self.client.ensure_tags(raw, add) if add else False
        if remove:
            changed = self.client.remove_tags(self.client.reload(raw), remove) or changed
        return changed


def nodes_for(provider, api_token, api_endpoint=None, timeout=30.0, poll_interval=None):
    """The adapter of ``provider`` over a client with this token and end point (no request is made)."""
    check_provider(provider)
    kwargs = {"timeout": timeout}
    if poll_interval is not None:
        kwargs["poll_interval"] = poll_interval
    if provider == "hcloud":
        return HcloudNodes(hc.HcloudClient(api_token, api_endpoint=api_endpoint or hc.DEFAULT_ENDPOINT, **kwargs))
    return DigitalOceanNodes(do.DigitalOceanClient(api_token, api_endpoint=api_endpoint or do.DEFAULT_ENDPOINT,
                                                   **kwargs))


def planned_host_vars(provider, name, server_type, location, labels):
    """The normalised host vars a node about to be created will have, as far as they are known (check mode)."""
    return normalise_host_vars(provider, ptr=name if provider == "digitalocean" else None, region=location,
                               size=server_type, labels=labels)


API_ERRORS = (hc.HcloudError, do.DigitalOceanError)


# ---------------------------------------------------------- module plumbing
def missing_library(provider):
    """(name, import error) of the Python library ``provider`` needs when the controller lacks it, else None."""
    if provider == "hcloud" and not hc.HAS_HCLOUD:
        return "hcloud, httpx and tenacity", hc.HCLOUD_IMPORT_ERROR
    if provider == "digitalocean" and not do.HAS_DIGITALOCEAN:
        return "python-digitalocean, httpx and tenacity", do.DIGITALOCEAN_IMPORT_ERROR
    return None


def hide_environment_tokens(module, environ=None):
    """Mask the tokens of the controller's environment in everything the module returns, as api_token is masked.

    A token read from HCLOUD_TOKEN or DIGITALOCEAN_TOKEN is no parameter, so Ansible does not
    know to hide it: a value that contains it (a name built from a template, say) would be shown.
    """
    environ = os.environ if environ is None else environ
    for names in TOKEN_ENV.values():
        for name in names:
            value = (environ.get(name) or "").strip()
            if len(value) >= 4:  # a shorter value is no token, and masking it would garble the output
                module.no_log_values.add(value)


def run_module(module, result, work):
    """Call ``work()``, which fills ``result``, then exit the module with ``result``.

    A CloudError (it names the field) or an API error (it says what was being done) fails the
    module with its text, anything else with its type and traceback; ``result`` then reports what
    was done before the failure. The diff is left out unless the run asked for one.
    """
    hide_environment_tokens(module)
    try:
        work()
    except (CloudError,) + API_ERRORS as exc:
        module.fail_json(msg=str(exc), **result)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="%s: %s" % (type(exc).__name__, exc), exception=traceback.format_exc(), **result)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
