# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig.infra.dns_restore runs on the controller, where dns_records wrote the backups.

The arguments are validated by dns_sync.validate_args, without the task's arguments in the
error (Ansible would print them, API token included).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback
from ansible.plugins.action import ActionBase

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import RESTORE_SPEC, SyncFailure, restore_zone, validate_args


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, error = validate_args(self._task.args, env_fallback, RESTORE_SPEC)
        if error:
            result.update(failed=True, msg="coldrig.infra.dns_restore: %s" % error)
            return result
        try:
            result.update(restore_zone(params, check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff)))
        except SyncFailure as exc:
            result.update(exc.result)
            result.pop("exception", None)
            result.update(failed=True, msg=str(exc))
        return result
