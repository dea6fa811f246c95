# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: lab
short_description: The nodes of a running coldrig lab
description:
  - Lists the QEMU nodes of a lab started with C(coldrig lab up), read from the
    lab's state file C(<lab_dir>/state.json).
  - Every node gets the normalised host variables that all coldrig inventories share
    (C(coldrig_provider), C(coldrig_public_ipv4), C(coldrig_public_ipv6), C(coldrig_ptr),
    C(coldrig_region), C(coldrig_size), C(coldrig_labels)) and the SSH connection
    variables of the lab (its key, its own known_hosts file, the forwarded port).
  - Nodes join C(coldrig_role_<role>) and C(coldrig_fleet_<fleet>) from their labels.
  - The lab's DNS server is set on the C(all) group as C(coldrig_lab_dns), in the shape of
    the C(rfc2136) DNS provider settings.
  - The lab's ACME server (pebble, Let's Encrypt's ACME test server) is set on the C(all) group
    as C(coldrig_lab_acme), a dictionary of C(directory) (the ACME directory URL as a node
    reaches it, C(https://10.0.2.2:<port>/dir)), C(ca_bundle_file) (the CA of the directory's
    HTTPS certificate, a file on this machine, for the ACME client's CA bundle) and C(root_file)
    (the root the certificates it issues chain to, a file on this machine; a new one at every start
    of the ACME server). It validates http-01 on the node's port 80 and tls-alpn-01 on its port 443.
  - The lab's public SSH key is given as C(coldrig_admin_ssh_keys), the keys of the admin user
    that the harden role makes, and QEMU's user-network gateway (every connection from this
    machine reaches a node from C(10.0.2.2)) as C(coldrig_trusted_networks), which fail2ban never bans.
  - The inventory file must end in C(lab.yml) or C(lab.yaml).
author:
  - coldrig maintainers (@coldrig)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: The name of this plugin; it must always be set to C(coldrig.infra.lab).
    required: true
    type: str
    choices: [coldrig.infra.lab]
  lab_dir:
    description:
      - The lab's directory, as given to C(coldrig lab up --lab-dir).
      - When unset, C($XDG_STATE_HOME/coldrig/lab) (C(~/.local/state/coldrig/lab)).
    type: path
    env:
      - name: COLDRIG_LAB_DIR
  include_stopped:
    description: Also list nodes whose QEMU process is not running.
    type: bool
    default: false
"""

EXAMPLES = r"""
# inventories/lab/lab.yml
plugin: coldrig.infra.lab
---
# A second lab, and groups of one's own
plugin: coldrig.infra.lab
lab_dir: /srv/coldrig/lab2
keyed_groups:
  - key: coldrig_lab.accel
    prefix: accel
groups:
  big: coldrig_lab.memory_mb >= 2048
"""

import json
import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.coldrig.infra.plugins.module_utils.inventory import normalise_host_vars
from ansible_collections.coldrig.infra.plugins.plugin_utils.inventory import add_node

STATE_VERSION = 1
# QEMU user networking: every connection from the host reaches the guest from this address.
QEMU_USER_GATEWAY = "10.0.2.2/32"


def default_lab_dir():
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "coldrig", "lab")


def qemu_running(pid, lab_id, name):
    """True when pid is alive and is the QEMU process of this lab node."""
    if not pid:
        return False
    try:
        with open("/proc/%d/cmdline" % int(pid), "rb") as handle:
            words = handle.read().split(b"\0")
        with open("/proc/%d/stat" % int(pid), "rb") as handle:
            if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return False
    except (OSError, ValueError, IndexError):
        return False
    return ("coldrig-%s-%s" % (lab_id, name)).encode() in words


def node_host_vars(node, state):
    """All variables of one lab node, from its entry in the state file."""
    ssh = state.get("ssh", {})
    host_vars = normalise_host_vars(
        "lab",
        ipv4=node.get("address"),
        ptr=node.get("fqdn"),
        region="local",
        size="%dvcpu-%dmb" % (node.get("cpus", 0), node.get("memory_mb", 0)),
        labels=node.get("labels"),
    )
    host_vars.update({
        "ansible_host": node["address"],
        "ansible_port": node["ports"]["ssh"],
        "ansible_user": ssh.get("user", "root"),
        "ansible_ssh_private_key_file": ssh.get("private_key"),
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes "
                                   "-o IdentitiesOnly=yes" % ssh.get("known_hosts"),
        "ansible_python_interpreter": "/usr/bin/python3",
        "coldrig_admin_ssh_keys": _public_keys(ssh.get("private_key")),
        "coldrig_trusted_networks": [QEMU_USER_GATEWAY],
        "coldrig_lab": {
            "name": node["name"],
            "fqdn": node.get("fqdn"),
            "pid": node.get("pid"),
            "accel": node.get("accel"),
            "memory_mb": node.get("memory_mb"),
            "cpus": node.get("cpus"),
            "image": node.get("image"),
            "ports": node.get("ports", {}),
            "console_log": node.get("console_log"),
        },
    })
    return host_vars


def _public_keys(private_key):
    """The lab key's public half, as the admin user's authorized key; [] when it cannot be read."""
    try:
        with open("%s.pub" % private_key) as handle:
            return [line.strip() for line in handle if line.strip()]
    except (OSError, TypeError):
        return []


def lab_acme_vars(state):
    acme = state.get("acme")
    if not acme:
        return None
    return {
        "directory": acme["node_directory"],
        "ca_bundle_file": acme["api_ca_file"],
        "root_file": acme["root_file"],
    }


def lab_dns_vars(state, lab_dir=None):
    dns = state.get("dns")
    if not dns:
        return None
    return {
        "provider": "rfc2136",
        "server": dns["server"],
        "port": dns["port"],
        "tsig_key_name": dns["tsig_key_name"],
        "tsig_algorithm": dns["tsig_algorithm"],
        "tsig_key_file": dns["tsig_secret_file"],
        "zones": dns.get("zones", []),
        "lab_dir": lab_dir,
    }


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "coldrig.infra.lab"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("lab.yml", "lab.yaml"))

    def _read_state(self, lab_dir):
        path = os.path.join(lab_dir, "state.json")
        try:
            with open(path) as handle:
                state = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AnsibleParserError("cannot read the lab state %s: %s" % (path, exc))
        if state.get("version") != STATE_VERSION:
            raise AnsibleParserError("%s: state version %r is not %d; this collection and the coldrig "
                                     "command disagree" % (path, state.get("version"), STATE_VERSION))
        return state

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        lab_dir = self.get_option("lab_dir") or default_lab_dir()
        state = self._read_state(lab_dir)
        if state is None:
            self.display.vvv("coldrig.infra.lab: no lab in %s" % lab_dir)
            return
        strict = self.get_option("strict")
        dns_vars = lab_dns_vars(state, lab_dir)
        if dns_vars:
            self.inventory.set_variable("all", "coldrig_lab_dns", dns_vars)
        acme_vars = lab_acme_vars(state)
        if acme_vars:
            self.inventory.set_variable("all", "coldrig_lab_acme", acme_vars)
        for name in sorted(state.get("nodes", {})):
            node = state["nodes"][name]
            if not self.get_option("include_stopped") and not qemu_running(
                    node.get("pid"), state.get("lab_id"), name):
                continue
            add_node(self, name, node_host_vars(node, state), strict=strict)
