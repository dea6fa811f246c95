"""Run a coldrig.infra module in this process, the way ansible would run it on the controller."""

import json

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys, monkeypatch):
    """``run_module(module, args, check=False, diff=False)`` -> the module's result, with ``failed``."""
    # Once a test has imported controller code (the inventory plugins' tests do), module warnings would
    # go to the controller's display instead of the result; a module runs as a module here.
    monkeypatch.setattr(_internal, "is_controller", False)

    def run(module, args, check=False, diff=False):
        arguments = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        # warnings and deprecations are kept per process; a real module process starts with none
        module_warnings._global_warnings.clear()  # pylint: disable=protected-access
        module_warnings._global_deprecations.clear()  # pylint: disable=protected-access
        capsys.readouterr()
        with patch_module_args(arguments):
            with pytest.raises(SystemExit) as exited:
                module.main()
        result = json.loads(capsys.readouterr().out)
        result.setdefault("failed", exited.value.code != 0)
        return result

    return run
