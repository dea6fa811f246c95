"""coldrig: turn bare VPSes into authenticated cold-email senders.

The Python package holds the ``coldrig`` command (the local lab, and later the
web hook service). The Ansible side lives in the collection ``coldrig.infra``
at the root of the repository.
"""

__version__ = "0.1.0"
