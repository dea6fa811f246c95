"""The README variable table of every role is generated from its argument specs (scripts/role-docs)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_role_readme_lists_its_variables_as_the_argument_specs_say():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "role-docs"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
