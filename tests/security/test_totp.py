"""TOTP against RFC 6238 Appendix B, replay refusal, recovery codes, the otpauth URI."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from pierre.security import totp

SHA1 = base64.b32encode(b"12345678901234567890").decode()
SHA256 = base64.b32encode(b"12345678901234567890123456789012").decode()
SHA512 = base64.b32encode(b"1234567890" * 6 + b"1234").decode()


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
])
def test_rfc6238_appendix_b_vectors(t: int, sha1: str, sha256: str, sha512: str) -> None:
    assert totp.totp(SHA1, t, digits=8) == sha1
    assert totp.totp(SHA256, t, digits=8, digest="sha256") == sha256
    assert totp.totp(SHA512, t, digits=8, digest="sha512") == sha512


def test_six_digit_code_is_the_low_digits_of_the_eight_digit_one() -> None:
    assert totp.totp(SHA1, 59) == "287082"


def test_verify_accepts_current_and_previous_step_only() -> None:
    secret = totp.new_secret()
    now = 1_700_000_015.0
    step = totp.step_at(now)
    assert totp.verify(secret, totp.totp(secret, now), now) == step
    assert totp.verify(secret, totp.totp(secret, now - 30), now) == step - 1
    assert totp.verify(secret, totp.totp(secret, now - 60), now) is None
    assert totp.verify(secret, totp.totp(secret, now + 30), now) is None


def test_a_code_is_refused_once_its_step_was_used() -> None:
    secret = totp.new_secret()
    now = 1_700_000_015.0
    step = totp.verify(secret, totp.totp(secret, now), now)
    assert step is not None
    assert totp.verify(secret, totp.totp(secret, now), now, last_step=step) is None
    # An older code stays refused too, a newer one is fine.
    assert totp.verify(secret, totp.totp(secret, now - 30), now, last_step=step) is None
    assert totp.verify(secret, totp.totp(secret, now + 30), now + 30, last_step=step) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(bad: str) -> None:
    assert totp.verify(totp.new_secret(), bad, 1_700_000_000.0) is None


def test_recovery_codes_are_single_use_and_hashed() -> None:
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == len(codes) == totp.RECOVERY_CODES
    hashes = [totp.hash_recovery_code(c) for c in codes]
    assert not any(c in h for c in codes for h in hashes)
    left = totp.use_recovery_code(hashes, codes[3].upper().replace("-", " "))
    assert left is not None and len(left) == len(hashes) - 1
    assert totp.use_recovery_code(left, codes[3]) is None
    assert totp.use_recovery_code(left, "not-a-code") is None


def test_otpauth_uri_and_qr_code() -> None:
    secret = totp.new_secret()
    uri = totp.otpauth_uri(secret, "ana@example.org", "Pierre")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Pierre:ana@example.org"
    q = parse_qs(parts.query)
    assert q["secret"] == [secret] and q["issuer"] == ["Pierre"] and q["period"] == ["30"]
    svg = totp.qr_svg(uri)
    assert svg.lstrip().startswith("<svg") and "path" in svg
