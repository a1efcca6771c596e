"""Pure parts of the Security page: the QR image URL and what each step renders."""

from __future__ import annotations

import base64
import re

import pytest

from pierre.dashboard import security
from pierre.security import totp


def test_qr_code_is_a_data_image_holding_the_svg() -> None:
    svg = totp.qr_svg(totp.otpauth_uri(totp.new_secret(), "a@b.example", "Pierre"))
    uri = security.qr_data_uri(svg)
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


def test_enrolment_shows_qr_secret_and_confirm_form_without_inline_code() -> None:
    secret = totp.new_secret()
    html = security.enrolment_body({"secret": secret, "qr_svg": "<svg/>", "digits": 6,
                                    "period": 30}, "tok")
    assert f'id="mfa-secret">{secret}<' in html
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+"', html)
    assert 'action="/dashboard/security/confirm"' in html and 'value="tok"' in html
    assert "<script" not in html and "style=" not in html and "<svg" not in html


@pytest.mark.parametrize("enabled", [False, True])
def test_status_offers_only_the_actions_that_apply(enabled: bool) -> None:
    html = security.status_body(enabled, "tok")
    assert f'id="mfa-state">{"on" if enabled else "off"}<' in html
    assert ('action="/dashboard/security/enable"' in html) is not enabled
    for action in ("recovery-codes", "disable"):
        assert (f'action="/dashboard/security/{action}"' in html) is enabled
    assert html.count('name="csrf" value="tok"') == (2 if enabled else 1)


def test_recovery_codes_are_escaped_one_per_line_with_a_copy_button() -> None:
    html = security.recovery_body(["abcde-fghjk", "<b>x</b>"])
    assert "abcde-fghjk\n&lt;b&gt;x&lt;/b&gt;" in html
    assert 'data-copy="recovery-codes"' in html
