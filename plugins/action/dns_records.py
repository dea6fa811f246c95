# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig.infra.dns_records runs on the controller, in the Ansible worker.

DNS providers are reached from the controller anyway; doing the work here instead of
shipping the module saves a Python start and the imports for every zone (see
plugins/module_utils/dns_sync.py, which the module shares).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback
from ansible.plugins.action import ActionBase

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
    SyncFailure,
    argument_spec,
    sync_zone,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, params = self.validate_argument_spec(
            argument_spec=argument_spec(env_fallback),
            required_if=REQUIRED_IF,
            mutually_exclusive=MUTUALLY_EXCLUSIVE,
        )
        try:
            result.update(sync_zone(params, check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff)))
        except SyncFailure as exc:
            result.update(exc.result)
            result.pop("exception", None)
            result.update(failed=True, msg=str(exc))
        return result
