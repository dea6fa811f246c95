# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig.infra.dns_restore runs on the controller, where dns_records wrote the backups.

The arguments are validated here, without the task's arguments in the error (see
plugins/action/dns_records.py: Ansible would print them, API token included).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.coldrig.infra.plugins.module_utils.dns_sync import (
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
    RESTORE_SPEC,
    SyncFailure,
    argument_spec,
    restore_zone,
)


def validate(args):
    """(params, None) or (None, error message without any no_log value)."""
    validator = ArgumentSpecValidator(argument_spec(env_fallback, RESTORE_SPEC), mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                      required_if=REQUIRED_IF)
    validation = validator.validate(dict(args))
    no_log_values = set(validation._no_log_values)  # pylint: disable=protected-access
    for key in ("api_token", "tsig_key_secret"):
        if isinstance(args.get(key), str) and args[key]:
            no_log_values.add(args[key])
    if validation.error_messages:
        return None, remove_values("; ".join(validation.error_messages), no_log_values)
    return validation.validated_parameters, None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, error = validate(self._task.args)
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
