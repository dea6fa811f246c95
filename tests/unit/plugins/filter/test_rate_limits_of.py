"""coldrig.infra.rate_limits_of: a fast-path run keeps the other domains' mailboxes in Postfix's lists."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.coldrig.infra.plugins.filter.rate_limits_of import rate_limits_of

CONFIG = """
limits:
    - [10, 60]
    - [50, 86400]
limits_by_id:
    "ann.lee@one.test":
        - [10, 60]
        - [30, 86400]
    "bob@one.test":
        - [10, 60]
        - [50, 86400]
    "cy@two.test":
        - [10, 60]
        - [5, 86400]
"""


def test_the_mailboxes_of_the_named_domains_come_back_with_their_daily_limit():
    assert rate_limits_of(CONFIG, ["one.test"]) == [
        {"email": "ann.lee@one.test", "daily_limit": 30}, {"email": "bob@one.test", "daily_limit": 50}]


def test_an_empty_limits_by_id_gives_nothing():
    assert rate_limits_of("limits_by_id:\n    {}\n", ["one.test"]) == []


def test_a_file_that_is_not_yaml_fails_naming_it():
    with pytest.raises(AnsibleFilterError, match="policyd-rate-limit configuration is not YAML"):
        rate_limits_of("limits_by_id: [unclosed", ["one.test"])
