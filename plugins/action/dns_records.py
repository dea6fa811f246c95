# -*- coding: utf-8 -*-
# Copyright: coldrig maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldrig.infra.dns_records runs on the controller, in the Ansible worker.

DNS providers are reached from the controller anyway; doing the work here instead of
shipping the module saves a Python start and the imports for every zone (see
plugins/module_utils/dns_sync.py, which the module shares).

With ``async``, the task runs the module instead (the same code, through Ansible's async
wrapper on the task's host), so that ``poll: 0`` and ``async_status`` work as for any module.

The arguments are validated here, not with ActionBase.validate_argument_spec: that one fails
with the task's arguments attached to the error, and Ansible prints them, API token included.
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
    SyncFailure,
    argument_spec,
    sync_zone,
)


def validate(args, zones=False):
    """(params, None) or (None, error message without any no_log value); ``zones`` for dns_zones' options."""
    validator = ArgumentSpecValidator(argument_spec(env_fallback, zones), mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                      required_if=REQUIRED_IF)
    validation = validator.validate(dict(args))
    no_log_values = set(validation._no_log_values)  # pylint: disable=protected-access
    for key in ("api_token", "tsig_key_secret"):  # also when the spec could not even read them
        if isinstance(args.get(key), str) and args[key]:
            no_log_values.add(args[key])
    if validation.error_messages:
        return None, remove_values("; ".join(validation.error_messages), no_log_values)
    return validation.validated_parameters, None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_async = True
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        params, error = validate(self._task.args)
        if error:
            result.update(failed=True, msg="coldrig.infra.dns_records: %s" % error)
            return result
        if self._task.async_val:
            return self._run_async(result, task_vars)
        try:
            result.update(sync_zone(params, check_mode=bool(self._task.check_mode), want_diff=bool(self._task.diff)))
        except SyncFailure as exc:
            result.update(exc.result)
            result.pop("exception", None)
            result.update(failed=True, msg=str(exc))
        return result

    def _run_async(self, result, task_vars):
        """The module through the async wrapper: a job id for async_status, or the result with poll > 0."""
        wrap_async = not self._connection.has_native_async
        result.update(self._execute_module(module_name="coldrig.infra.dns_records", module_args=self._task.args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result
