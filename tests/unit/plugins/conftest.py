"""Load the collection's plugins the way ansible does: through its collection loader."""

from pathlib import Path

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

COLLECTIONS = Path(__file__).resolve().parents[3] / "collections"

# Installed at import time: test modules import ansible_collections.coldrig.infra.*.
_AnsibleCollectionFinder(paths=[str(COLLECTIONS)])._install()  # pylint: disable=protected-access
