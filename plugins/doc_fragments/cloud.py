# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of every module that speaks to a cloud provider's API (coldrig.infra.server, coldrig.infra.rdns)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  provider:
    description: Where the node lives.
    type: str
    required: true
    choices: [hcloud, digitalocean]
  api_token:
    description:
      - The API token (Hetzner Cloud project token with Read & Write; DigitalOcean personal access token with
        write scopes).
      - When not given, read from E(HCLOUD_TOKEN) (hcloud) or E(DIGITALOCEAN_TOKEN), E(DO_API_TOKEN), E(DO_API_KEY),
        E(DO_OAUTH_TOKEN), E(DIGITALOCEAN_ACCESS_TOKEN) (digitalocean) in the controller's environment.
      - Never shown in output or error messages.
    type: str
  api_endpoint:
    description:
      - The API's base URL; another one only for tests and proxies.
      - Default C(https://api.hetzner.cloud/v1) (or E(HCLOUD_ENDPOINT)), C(https://api.digitalocean.com/v2).
    type: str
"""
