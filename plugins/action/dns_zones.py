# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig.infra.dns_zones runs on the controller, in the Ansible worker (as dns_records does).

The zones are pushed by a pool of threads here (plugins/module_utils/dns_sync.py, sync_zones);
arguments are validated as dns_records' action plugin does (dns_sync.validate_args), so that an error never carries
the API token or the TSIG secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback
from ansible.plugins.action import ActionBase

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import ZONES_ARGUMENT_SPEC, SyncFailure, validate_args, zones_result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, error = validate_args(self._task.args, env_fallback, ZONES_ARGUMENT_SPEC)
        if error:
            result.update(failed=True, msg="coldrig.infra.dns_zones: %s" % error)
            return result
        try:
            result.update(zones_result(params, check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff)))
        except SyncFailure as exc:
            result.update(exc.result)
            result.pop("exception", None)
            result.update(failed=True, msg=str(exc))
        return result
