#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: server
short_description: A mail node on Hetzner Cloud or DigitalOcean, found and kept by its name
description:
  - Makes sure a server (Hetzner Cloud) or droplet (DigitalOcean) called O(name) exists, runs or is
    stopped, or is gone, and returns the host variables the coldrig inventory plugins give it.
  - Idempotent by name. An existing node is never recreated. When its server type, image or location
    differ from what is asked, the module warns and reports the difference in RV(drift); the node
    stays as it is. O(labels) are set on an existing node (other labels it has are kept).
  - O(name) is the mail host's fully qualified name. On DigitalOcean the droplet name is what sets the
    PTR of its addresses, so the droplet is named after the mail host; on Hetzner the PTR is set with
    M(coldrig.infra.rdns).
  - SSH keys are uploaded to the project (account) under a name of their own when it lacks them,
    matched by fingerprint, and given to a server when it is created.
  - With O(wait), a new or starting node is waited for until it runs and, with O(wait_for_ssh), until
    its public IPv4 address answers on O(ssh_port) with an SSH banner.
  - Deleting needs O(state=absent); nothing else deletes.
  - Runs on the controller (C(delegate_to=localhost) or a play on localhost) and needs the C(hcloud) or
    C(python-digitalocean) library there.
version_added: 0.1.0
author:
  - coldrig maintainers (@coldrig)
options:
  name:
    description: The mail host's fully qualified name, e.g. C(mx1.outreach-example.com); the server's (droplet's) name.
    type: str
    required: true
  server_type:
    description: The server type (C(cx22), C(cpx11), ...) or droplet size (C(s-1vcpu-1gb), ...). Required to create.
    type: str
    aliases: [size]
  image:
    description:
      - The image to create from, e.g. C(debian-12) (Hetzner) or C(debian-12-x64) (DigitalOcean). Required to create.
    type: str
  location:
    description: The location (C(fsn1), C(nbg1), C(hel1), ...) or region (C(fra1), C(ams3), ...). The provider chooses when not given.
    type: str
    aliases: [region]
  ssh_keys:
    description:
      - OpenSSH public key lines (C(ssh-ed25519 AAAA... ops@example.com)) for root (Hetzner) or the image's
        default user (DigitalOcean) of a new server.
      - A key the project (account) lacks is uploaded as C(<comment> (coldrig <fingerprint>)); a key already
        there under any name is used as it is.
      - Without any key, both providers mail a root password and no automation can log in.
    type: list
    elements: str
    default: []
  labels:
    description:
      - "Labels of the node, e.g. C({coldrig_role: mta, coldrig_fleet: eu-1}); C(coldrig_role) and C(coldrig_fleet)
        make the inventory groups C(coldrig_role_<role>) and C(coldrig_fleet_<fleet>).
      - Hetzner keeps them as labels. DigitalOcean keeps them as tags C(key:value), so keys and values may
        hold letters, digits, dashes and underscores only (no dots)."
      - Set on an existing node too; its other labels are kept. On DigitalOcean a label with a new value
        replaces the old C(key:value) tag.
    type: dict
    default: {}
  user_data:
    description:
      - Cloud-init user data for a new server (not applied to an existing one). Mutually exclusive with O(admin_user).
    type: str
  admin_user:
    description:
      - Create this user through cloud-init on a new server, with the keys of O(admin_ssh_keys), a locked password
        and passwordless sudo. Mutually exclusive with O(user_data).
    type: str
  admin_ssh_keys:
    description: OpenSSH public keys of O(admin_user). Default O(ssh_keys).
    type: list
    elements: str
  state:
    description:
      - C(present) the node exists (created running; an existing node keeps its power state).
      - C(running) it exists and runs; C(stopped) it exists and is off (an ACPI shutdown first); C(absent) it is deleted.
    type: str
    default: present
    choices: [present, running, stopped, absent]
  wait:
    description: Wait for the provider's actions to finish and for a new or starting node to run.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the provider's actions, and again for SSH.
    type: int
    default: 600
  wait_for_ssh:
    description:
      - With O(wait), once the node runs, wait until its public IPv4 address answers on O(ssh_port) with an
        C(SSH-2.0-) banner (a TCP connection and the server's first line; no login).
    type: bool
    default: true
  ssh_port:
    description: The port O(wait_for_ssh) checks.
    type: int
    default: 22
requirements:
  - hcloud (provider hcloud) or python-digitalocean (provider digitalocean) on the controller
  - httpx and tenacity on the controller
extends_documentation_fragment:
  - coldrig.infra.cloud
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Check mode makes only read requests. For a node not yet created it returns the host variables that are
    known before creation (provider, region, size, labels) and no addresses.
seealso:
  - module: coldrig.infra.rdns
  - module: coldrig.infra.egress_check
"""

EXAMPLES = r"""
- name: A mail node on Hetzner Cloud, with an admin user
  coldrig.infra.server:
    provider: hcloud
    api_token: "{{ vault_hcloud_token }}"
    name: mx1.outreach-example.com
    server_type: cx22
    image: debian-12
    location: fsn1
    ssh_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
    labels: {coldrig_role: mta, coldrig_fleet: eu-1}
    admin_user: ops
  delegate_to: localhost
  register: node

- name: The same on DigitalOcean (the droplet name sets the PTR)
  coldrig.infra.server:
    provider: digitalocean
    name: mx1.outreach-example.com
    size: s-1vcpu-1gb
    image: debian-12-x64
    region: fra1
    ssh_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
    labels: {coldrig_role: mta}
  delegate_to: localhost

- name: Delete it
  coldrig.infra.server:
    provider: hcloud
    name: mx1.outreach-example.com
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
host_vars:
  description:
    - The host variables the provider's coldrig inventory plugin gives the node (with C(connect_with) at its default,
      C(public_ipv4)) - the normalised C(coldrig_*) set, the C(hcloud_*) or C(do_*) values and C(ansible_host).
    - Empty after O(state=absent); in check mode for a node not yet created, only what is known before creation.
  returned: always
  type: dict
  sample: {coldrig_provider: hcloud, coldrig_public_ipv4: 198.51.100.7, coldrig_ptr: mx1.outreach-example.com,
           coldrig_region: fsn1, coldrig_size: cx22, coldrig_labels: {coldrig_role: mta}, ansible_host: 198.51.100.7}
groups:
  description: The inventory groups the provider's inventory plugin puts the node in, e.g. C([hcloud, coldrig_role_mta]).
  returned: always
  type: list
  elements: str
server:
  description: The node as the provider has it - id, name, status, server_type, image, location, labels, ipv4, ipv6.
  returned: when the node exists
  type: dict
drift:
  description:
    - What differs between the asked O(server_type), O(image), O(location) and the existing node, by field, each
      with C(wanted) and C(actual). The node is not changed for it.
  returned: always
  type: dict
  sample: {server_type: {wanted: cx32, actual: cx22}}
ssh_keys:
  description: The keys given to a new node, C([{name, fingerprint, uploaded}]).
  returned: when a node was created
  type: list
  elements: dict
ssh:
  description: The SSH banner the node answered with, after how many seconds and attempts.
  returned: when O(wait_for_ssh) waited
  type: dict
  sample: {banner: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3, seconds: 21.4, attempts: 9}
created:
  description: Whether the node was created by this run (would be, in check mode).
  returned: always
  type: bool
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.coldrig.infra.plugins.module_utils import cloud

FIELDS = ("server_type", "image", "location")


def argument_spec():
    return cloud.argument_spec(
        name=dict(type="str", required=True),
        server_type=dict(type="str", aliases=["size"]),
        image=dict(type="str"),
        location=dict(type="str", aliases=["region"]),
        ssh_keys=dict(type="list", elements="str", default=[], no_log=False),
        labels=dict(type="dict", default={}),
        user_data=dict(type="str"),
        admin_user=dict(type="str"),
        admin_ssh_keys=dict(type="list", elements="str", no_log=False),
        state=dict(type="str", default="present", choices=["present", "running", "stopped", "absent"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        wait_for_ssh=dict(type="bool", default=True),
        ssh_port=dict(type="int", default=22),
    )


def checked_params(params):
    """The parameters after every check that needs no API request; a CloudError names the field."""
    provider = params["provider"]
    out = dict(params)
    out["name"] = cloud.check_fqdn(params["name"], "name")
    out["labels"] = cloud.check_labels(provider, params["labels"], "labels")
    out["ssh_keys"] = cloud.check_ssh_keys(params["ssh_keys"], "ssh_keys")
    if params["wait_timeout"] <= 0:
        raise cloud.CloudError("wait_timeout: %d is not a positive number of seconds" % params["wait_timeout"])
    if not 0 < params["ssh_port"] < 65536:
        raise cloud.CloudError("ssh_port: %d is not a TCP port" % params["ssh_port"])
    if params["admin_user"] is not None:
        if params["user_data"] is not None:
            raise cloud.CloudError("admin_user: give either admin_user (coldrig writes the cloud-init) or user_data "
                                   "(your own), not both")
        keys = params["admin_ssh_keys"] if params["admin_ssh_keys"] is not None else params["ssh_keys"]
        out["user_data"] = cloud.cloud_init(params["admin_user"], keys)
    elif params["admin_ssh_keys"]:
        raise cloud.CloudError("admin_ssh_keys: only used with admin_user; set admin_user too")
    return out


def drift_of(summary, params):
    drift = {}
    for field in FIELDS:
        wanted = params[field]
        if wanted is None:
            continue
        actual = summary[field]
        if str(wanted).lower() != str(actual).lower():
            drift[field] = {"wanted": wanted, "actual": actual}
    return drift


def view(summary, labels=None, state=None):
    """The part of a node that the diff shows."""
    if not summary:
        return {}
    return {"name": summary["name"], "state": state or summary["state"], "server_type": summary["server_type"],
            "image": summary["image"], "location": summary["location"],
            "labels": dict(labels if labels is not None else summary["labels"])}


class Deadline(object):
    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self):
        return max(1.0, self.end - time.monotonic())


def run(module, params, nodes, result):
    """Read, compare, act, filling ``result`` as it goes (so a failure reports what was done)."""
    check = module.check_mode
    name, state, provider = params["name"], params["state"], params["provider"]
    deadline = Deadline(params["wait_timeout"])
    raw = nodes.find(name)
    before = nodes.summary(raw) if raw is not None else None

    if state == "absent":
        if raw is not None:
            result["changed"] = True
            if not check:
                nodes.delete(raw, params["wait"], deadline.left())
        result["diff"] = {"before": view(before), "after": {}}
        return result

    if raw is None:
        for field in ("server_type", "image"):
            if not params[field]:
                raise cloud.CloudError("%s: required to create %s (no %s of that name exists yet)" % (
                    field, name, "server" if provider == "hcloud" else "droplet"))
        result.update(changed=True, created=True)
        after = {"name": name, "state": "stopped" if state == "stopped" else "running",
                 "server_type": params["server_type"], "image": params["image"], "location": params["location"],
                 "labels": dict(params["labels"])}
        result["diff"] = {"before": {}, "after": after}
        if check:
            result["host_vars"] = cloud.planned_host_vars(provider, name, params["server_type"], params["location"],
                                                          params["labels"])
            result["groups"] = nodes.groups(params["labels"])
            return result
        refs, keys = nodes.ensure_keys(params["ssh_keys"])
        result["ssh_keys"] = keys
        raw = nodes.create(name, params["server_type"], params["image"], params["location"], refs,
                           params["labels"], params["user_data"], state != "stopped", params["wait"], deadline.left())
    else:
        result["drift"] = drift_of(before, params)
        if result["drift"]:
            module.warn("%s exists with %s: coldrig never recreates a node, so it stays as it is. Change the spec to "
                        "match, or delete it (state: absent) and run again." % (name, ", ".join(
                            "%s %s (not %s)" % (f, d["actual"], d["wanted"]) for f, d in sorted(result["drift"].items()))))
        labels_after, label_changes = nodes.plan_labels(raw, params["labels"])
        target = {"running": "running", "stopped": "stopped"}.get(state, before["state"])
        if before["state"] == "pending" and state == "present":
            # being created or started: present waits for it to run; being stopped: for it to be off
            target = "stopped" if before["status"] == "stopping" else "running"
        power = state != "present" and ((target == "running" and before["state"] == "stopped") or (
            target == "stopped" and before["state"] in ("running", "pending")))  # present only waits
        result["changed"] = bool(label_changes) or power
        result["diff"] = {"before": view(before), "after": view(before, labels_after, target)}
        if not check:
            if label_changes:
                nodes.set_labels(raw, params["labels"])
            if params["wait"] and before["state"] == "pending":
                raw = nodes.wait_settled(raw, deadline.left())
                before = nodes.summary(raw)
            if target == "running" and nodes.summary(raw)["state"] == "stopped":
                nodes.power_on(raw, params["wait"], deadline.left())
            elif target == "stopped" and nodes.summary(raw)["state"] != "stopped":
                nodes.power_off(raw, params["wait"], deadline.left())
            raw = nodes.reload(raw)

    if check:
        result["server"] = before
        result["host_vars"] = nodes.host_vars(raw)
        result["groups"] = nodes.groups(result["host_vars"]["coldrig_labels"])
        return result
    summary = nodes.summary(raw)
    result["server"] = summary
    result["host_vars"] = nodes.host_vars(raw)
    result["groups"] = nodes.groups(result["host_vars"]["coldrig_labels"])
    if params["wait"] and params["wait_for_ssh"] and summary["state"] == "running":
        if not summary["ipv4"]:
            module.warn("%s has no public IPv4 address: wait_for_ssh skipped" % name)
        else:
            try:
                result["ssh"] = cloud.wait_for_ssh(summary["ipv4"], params["ssh_port"], params["wait_timeout"])
            except cloud.CloudError as exc:
                raise cloud.CloudError("wait_for_ssh: %s runs, but %s. cloud-init may still be at work, or a firewall "
                                       "drops the port; look at the console in the provider's panel, or set "
                                       "wait_for_ssh: false to skip this check" % (name, exc))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    provider = module.params["provider"]
    missing = cloud.missing_library(provider)
    if missing:
        module.fail_json(msg=missing_required_lib(missing[0]), exception=missing[1])
    result = {"changed": False, "created": False, "drift": {}, "host_vars": {}, "groups": []}

    def work():
        params = checked_params(module.params)
        token = cloud.token_from(provider, params["api_token"])
        nodes = cloud.nodes_for(provider, token, cloud.endpoint_from(provider, params["api_endpoint"]))
        run(module, params, nodes, result)

    cloud.run_module(module, result, work)


if __name__ == "__main__":
    main()
