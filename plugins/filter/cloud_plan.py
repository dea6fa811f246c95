# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: cloud_plan
short_description: The checked provisioning spec - cloud settings and the list of nodes
description:
  - Takes the provisioning spec of an inventory, C(coldrig_cloud) (provider, credentials, SSH keys, admin user,
    defaults) and C(coldrig_nodes) (the nodes, one by one or as a count with a name pattern), checks every key
    before any API request is made, and returns the settings with their defaults and one entry per node.
  - >-
    The first invalid key fails the task with a message that starts with the key's path and says why, e.g.
    C(coldrig_nodes[1].labels.coldrig_fleet: 'eu.1' cannot be part of a DigitalOcean tag ...).
  - Unknown keys are errors too (a misspelt C(typ) would otherwise be ignored).
  - The API token is not part of the result; the playbooks pass C(coldrig_cloud.api_token) to the modules directly.
  - docs/onboarding-spec.md describes the spec.
author:
  - coldrig maintainers (@coldrig)
positional: _input, nodes
options:
  _input:
    description: C(coldrig_cloud).
    type: dict
    required: true
  nodes:
    description: C(coldrig_nodes).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the spec
  ansible.builtin.set_fact:
    provision: "{{ coldrig_cloud | default(None) | coldrig.infra.cloud_plan(coldrig_nodes | default(None)) }}"
"""

RETURN = r"""
_value:
  description:
    - C(cloud) - provider, api_endpoint (none for the provider's own), has_token, ssh_keys, ssh_user, ssh_port,
      admin_user, admin_ssh_keys, user_data, wait_timeout.
    - C(nodes) - one per node, in spec order with counts expanded - name, server_type, image, location, labels
      (C(coldrig_role) always set, C(mta) unless given).
  type: dict
"""

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.module_utils import cloud

CLOUD_KEYS = ("provider", "api_token", "api_endpoint", "ssh_keys", "ssh_user", "ssh_port", "admin_user",
              "admin_ssh_keys", "user_data", "wait_timeout", "defaults")
NODE_KEYS = ("name", "count", "start", "type", "image", "location", "labels", "role", "fleet")
DEFAULT_KEYS = ("type", "image", "location", "labels", "role", "fleet")
MAX_COUNT = 100
DEFAULT_ROLE = "mta"


def _fail(message):
    raise AnsibleFilterError(message)


def _mapping(value, path):
    if not isinstance(value, dict):
        _fail("%s: must be a mapping, not %s" % (path, type(value).__name__ if value is not None else "nothing"))
    return value


def _unknown(data, known, path):
    extra = sorted(str(k) for k in data if k not in known)
    if extra:
        _fail("%s.%s: unknown key; the keys are %s" % (path, extra[0], ", ".join(known)))


def _text(value, path, required=False):
    if value is None or value == "":
        if required:
            _fail("%s: required" % path)
        return None
    if not isinstance(value, str):
        _fail("%s: %r is not a string" % (path, value))
    return value.strip()


def _int(value, path, default, low, high):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            _fail("%s: %r is not a whole number" % (path, value))
    if not low <= value <= high:
        _fail("%s: %d is not between %d and %d" % (path, value, low, high))
    return value


def check_cloud(spec, environ=None):
    spec = _mapping(spec, "coldrig_cloud")
    _unknown(spec, CLOUD_KEYS, "coldrig_cloud")
    try:
        provider = cloud.check_provider(spec.get("provider"), "coldrig_cloud.provider")
        token = _text(spec.get("api_token"), "coldrig_cloud.api_token")
        cloud.token_from(provider, token, environ)
    except cloud.CloudError as exc:
        _fail(str(exc) if str(exc).startswith("coldrig_cloud.") else "coldrig_cloud.%s" % exc)
    endpoint = _text(spec.get("api_endpoint"), "coldrig_cloud.api_endpoint")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        _fail("coldrig_cloud.api_endpoint: %r is not an http(s) URL such as %s" % (
            endpoint, cloud.DEFAULT_ENDPOINT[provider]))
    try:
        keys = cloud.check_ssh_keys(spec.get("ssh_keys"), "coldrig_cloud.ssh_keys")
        admin_user = _text(spec.get("admin_user"), "coldrig_cloud.admin_user")
        admin_keys = spec.get("admin_ssh_keys")
        if admin_user:
            cloud.check_admin_user(admin_user, "coldrig_cloud.admin_user")
            admin_keys = cloud.check_ssh_keys(admin_keys if admin_keys is not None else keys,
                                              "coldrig_cloud.admin_ssh_keys")
            if not admin_keys:
                _fail("coldrig_cloud.admin_ssh_keys: the admin user %s needs at least one OpenSSH public key "
                      "(admin_ssh_keys, or ssh_keys)" % admin_user)
        elif admin_keys:
            _fail("coldrig_cloud.admin_ssh_keys: only used with admin_user; set admin_user too")
    except cloud.CloudError as exc:
        _fail(str(exc))
    if not keys:
        _fail("coldrig_cloud.ssh_keys: give at least one OpenSSH public key (e.g. the line of ~/.ssh/id_ed25519.pub): "
              "without one the provider mails a root password and nothing can log in to the new nodes")
    user_data = spec.get("user_data")
    if user_data is not None and not isinstance(user_data, str):
        _fail("coldrig_cloud.user_data: must be a string (a cloud-init document)")
    if user_data and admin_user:
        _fail("coldrig_cloud.user_data: give either admin_user (coldrig writes the cloud-init) or user_data, not both")
    return {
        "provider": provider,
        "api_endpoint": endpoint,
        "has_token": bool(token),
        "ssh_keys": keys,
        "ssh_user": _text(spec.get("ssh_user"), "coldrig_cloud.ssh_user") or "root",
        "ssh_port": _int(spec.get("ssh_port"), "coldrig_cloud.ssh_port", 22, 1, 65535),
        "admin_user": admin_user,
        "admin_ssh_keys": admin_keys if admin_user else None,
        "user_data": user_data or None,
        "wait_timeout": _int(spec.get("wait_timeout"), "coldrig_cloud.wait_timeout", 600, 30, 7200),
    }


def _labels(provider, source, path):
    """The labels of a node or of the defaults, with role and fleet folded in."""
    if source.get("labels") is not None and not isinstance(source.get("labels"), dict):
        _fail("%s.labels: must be a mapping of label names to values, e.g. {coldrig_role: mta}" % path)
    labels = dict(source.get("labels") or {})
    for key, label in (("role", "coldrig_role"), ("fleet", "coldrig_fleet")):
        value = source.get(key)
        if value is None:
            continue
        if label in labels and str(labels[label]) != str(value):
            _fail("%s.%s: %r contradicts labels.%s: %r; give one of them" % (path, key, value, label, labels[label]))
        labels[label] = value
    try:
        return cloud.check_labels(provider, labels, "%s.labels" % path)
    except cloud.CloudError as exc:
        _fail(str(exc))


def _names(item, path):
    pattern = _text(item.get("name"), "%s.name" % path, required=True)
    if "count" not in item and "start" not in item:
        return [(pattern, "%s.name" % path)]
    count = _int(item.get("count"), "%s.count" % path, 1, 1, MAX_COUNT)
    start = _int(item.get("start"), "%s.start" % path, 1, 0, 100000)
    if "{n" not in pattern:
        _fail("%s.name: %r has no {n} for the node number; with count, write e.g. mx{n}.example.com or "
              "mx{n:02d}.example.com" % (path, pattern))
    names = []
    for number in range(start, start + count):
        try:
            names.append((pattern.format(n=number), "%s.name (n=%d)" % (path, number)))
        except (KeyError, IndexError, ValueError) as exc:
            _fail("%s.name: %r is not a name pattern with {n} (or {n:02d}): %s" % (path, pattern, exc))
    return names


def check_nodes(nodes, settings, defaults):
    provider = settings["provider"]
    if not isinstance(nodes, list) or not nodes:
        _fail("coldrig_nodes: give a list of nodes, each with at least a name, e.g. "
              "[{name: mx1.example.com, type: cx22, location: fsn1}]")
    base = _mapping(defaults if defaults is not None else {}, "coldrig_cloud.defaults")
    _unknown(base, DEFAULT_KEYS, "coldrig_cloud.defaults")
    base_labels = _labels(provider, base, "coldrig_cloud.defaults")
    out, seen = [], {}
    for index, item in enumerate(nodes):
        path = "coldrig_nodes[%d]" % index
        _mapping(item, path)
        _unknown(item, NODE_KEYS, path)
        labels = dict(base_labels)
        labels.update(_labels(provider, item, path))
        labels.setdefault("coldrig_role", DEFAULT_ROLE)
        values = {}
        for key in ("type", "image", "location"):
            values[key] = _text(item.get(key), "%s.%s" % (path, key)) or _text(
                base.get(key), "coldrig_cloud.defaults.%s" % key)
        values["image"] = values["image"] or cloud.DEFAULT_IMAGE[provider]
        for key, example in (("type", {"hcloud": "cx22", "digitalocean": "s-1vcpu-1gb"}),
                             ("location", {"hcloud": "fsn1", "digitalocean": "fra1"})):
            if not values[key]:
                _fail("%s.%s: required (or coldrig_cloud.defaults.%s), e.g. %s" % (path, key, key, example[provider]))
        for name, where in _names(item, path):
            try:
                fqdn = cloud.check_fqdn(name, where)
            except cloud.CloudError as exc:
                _fail(str(exc))
            if fqdn in seen:
                _fail("%s: %s is already the name of %s; every node needs its own mail host name" % (
                    where, fqdn, seen[fqdn]))
            seen[fqdn] = where.split(" ")[0].rsplit(".", 1)[0]
            out.append({"name": fqdn, "server_type": values["type"], "image": values["image"],
                        "location": values["location"], "labels": dict(labels)})
    return out


def cloud_plan(spec, nodes, environ=None):
    """{"cloud": checked settings, "nodes": one entry per node}; AnsibleFilterError naming the first bad key."""
    settings = check_cloud(spec, os.environ if environ is None else environ)
    return {"cloud": settings, "nodes": check_nodes(nodes, settings, spec.get("defaults"))}


class FilterModule(object):
    def filters(self):
        return {"cloud_plan": cloud_plan}
