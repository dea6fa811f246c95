from ansible_collections.coldrig.infra.plugins.filter.mailbox_credentials import mailbox_credentials


def test_new_passwords_win_known_ones_are_kept_and_lost_ones_are_none():
    result = [
        {"email": "b@x.test", "name": "B", "created": False},
        {"email": "a@x.test", "name": "A", "created": True, "password": "new-a"},
        {"email": "c@x.test", "name": "C", "created": False},
    ]
    existing = [{"email": "b@x.test", "password": "old-b"}, {"email": "gone@x.test", "password": "old-gone"},
                {"email": "a@x.test", "password": "old-a"}]
    merged = mailbox_credentials(result, existing)
    assert [(box["email"], box["password"]) for box in merged] == [
        ("a@x.test", "new-a"), ("b@x.test", "old-b"), ("c@x.test", None)]
    assert "created" not in merged[0]
