"""The request signature: HMAC-SHA256 over <t>.<body>, a replay window, two secrets during a rotation."""

import hashlib
import hmac

import pytest

from coldrig.serve import auth

NEW, OLD = "n" * 40, "o" * 40
NOW = 1_767_225_600


def test_the_signed_string_is_the_timestamp_a_dot_and_the_body():
    body = b'{"nodes": ["node1"]}'
    header = auth.sign(NEW, NOW, body, "POST", "/v1/onboardings")
    expected = hmac.new(NEW.encode(), b"1767225600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"


def test_a_request_without_a_body_signs_its_method_and_path():
    expected = hmac.new(NEW.encode(), b"1767225600.GET /v1/jobs/abc?x=1", hashlib.sha256).hexdigest()
    assert auth.sign(NEW, NOW, b"", "GET", "/v1/jobs/abc?x=1") == f"t=1767225600,v1={expected}"


def test_both_secrets_of_a_rotation_are_accepted():
    for secret in (NEW, OLD):
        header = auth.sign(secret, NOW, b"{}", "POST")
        assert auth.verify(header, b"{}", [NEW, OLD], 300, "POST", now=NOW)


def test_a_retired_secret_is_refused():
    with pytest.raises(auth.AuthError, match="does not match"):
        auth.verify(auth.sign(OLD, NOW, b"{}"), b"{}", [NEW], 300, "POST", now=NOW)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_window_is_refused(skew):
    header = auth.sign(NEW, NOW + skew, b"{}")
    with pytest.raises(auth.AuthError, match="300 s"):
        auth.verify(header, b"{}", [NEW], 300, "POST", now=NOW)


def test_a_timestamp_at_the_edge_of_the_window_is_accepted():
    assert auth.verify(auth.sign(NEW, NOW - 300, b"{}"), b"{}", [NEW], 300, "POST", now=NOW)


def test_a_changed_body_does_not_match():
    header = auth.sign(NEW, NOW, b'{"a": 1}')
    with pytest.raises(auth.AuthError):
        auth.verify(header, b'{"a": 2}', [NEW], 300, "POST", now=NOW)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=12", "t=abc,v1=00", "garbage", "t=1,,v1="])
def test_a_missing_or_malformed_header_is_refused(header):
    with pytest.raises(auth.AuthError):
        auth.verify(header, b"{}", [NEW], 300, "POST", now=NOW)


def test_one_of_several_v1_values_may_match():
    good = auth.sign(NEW, NOW, b"{}")
    header = f"t={NOW},v1={'0' * 64},{good.split(',')[1]}"
    assert auth.verify(header, b"{}", [NEW], 300, "POST", now=NOW) == good.split("v1=")[1]


def test_the_error_never_shows_a_secret():
    with pytest.raises(auth.AuthError) as caught:
        auth.verify(auth.sign("x" * 40, NOW, b"{}"), b"{}", [NEW, OLD], 300, "POST", now=NOW)
    assert NEW not in str(caught.value) and OLD not in str(caught.value)


def test_a_page_token_opens_one_job_until_it_expires():
    secrets = ["n" * 40, "o" * 40]
    token = auth.page_token(secrets[1], "job1", 1000)
    auth.verify_page_token("job1", "1000", token, secrets, ttl=600, now=900)
    for job_id, expires, sig, now in (("job2", "1000", token, 900), ("job1", "1000", token, 1001),
                                      ("job1", "1000", token[:-1] + "0", 900), ("job1", "2000", token, 900),
                                      ("job1", None, token, 900), ("job1", "1000", "", 900)):
        with pytest.raises(auth.AuthError):
            auth.verify_page_token(job_id, expires, sig, secrets, ttl=600, now=now)
