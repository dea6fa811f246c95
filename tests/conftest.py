"""Make the checkout's collection and Python package importable in tests."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "src", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


# dns_records saves a zone backup before every write (default ~/.local/state/coldrig/zone-backups):
# tests that push records write theirs under one temporary directory instead of the user's home.
if "COLDRIG_DNS_BACKUP_DIR" not in os.environ:
    os.environ["COLDRIG_DNS_BACKUP_DIR"] = tempfile.mkdtemp(prefix="coldrig-test-zone-backups-")
