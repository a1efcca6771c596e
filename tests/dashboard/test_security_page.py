"""The dashboard's Security page: TOTP enrolment, recovery codes, turning MFA off, and the
sign-in's second step, against a real daemon (Chromium where the browser matters, plain
HTTP with the page's own forms elsewhere).

Codes are computed from the secret the page shows (pierre.security.totp, RFC 6238).
A step is good once per user, so `fresh_code` picks the earliest step the server still
accepts (the previous one, then the current one) and waits only when both are spent.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest

pytest.importorskip("selenium.webdriver")
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from pierre.security import totp
from tests.dashboard.test_browser import SHOTS, _console_errors, _visit, browser
from tests.support.daemon import DaemonProcess

__all__ = ["browser"]  # the Chromium fixture, shared with test_browser

PASSWORD = "correct horse battery staple"
ADMIN = "root@mfa.example.com"
# Wrong passwords and wrong codes for one account before it is locked (default 10).
LOCK_AFTER = 3


# -- helpers ----------------------------------------------------------------------------
def fresh_code(secret: str, last_step: int | None = None) -> tuple[str, int]:
    """(code, step) for the earliest step after `last_step` that the server accepts now."""
    while True:
        now = time.time()
        cur = totp.step_at(now)
        step = cur - 1 if last_step is None or last_step < cur - 1 else last_step + 1
        left = (cur + 1) * totp.STEP_S - now
        if step > cur or (step == cur - 1 and left < 3):
            time.sleep(left + 0.05)  # spent, or about to leave the accepted window
            continue
        return totp.totp(secret, step * totp.STEP_S), step


def wrong_code(secret: str) -> str:
    """A 6-digit code no accepted step of `secret` has (now or after the next tick)."""
    now = time.time()
    taken = {totp.totp(secret, now + dt) for dt in (-60, -30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in taken)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _text(html: str, id_: str) -> str:
    m = re.search(rf'id="{id_}"[^>]*>([^<]*)<', html)
    assert m, f"#{id_} is not on the page"
    return m.group(1).strip()


class Browserless:
    """A person using the dashboard's forms over plain HTTP: cookies and CSRF tokens kept."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
        self.csrf = ""

    def get(self, path: str) -> httpx.Response:
        r = self.http.get(path)
        if 'name="csrf"' in r.text:
            self.csrf = _csrf(r.text)
        return r

    def post(self, path: str, data: dict[str, str] | None = None, *,
             csrf: bool = True) -> httpx.Response:
        form = {**({"csrf": self.csrf} if csrf else {}), **(data or {})}
        r = self.http.post(path, data=form)
        if 'name="csrf"' in r.text:
            self.csrf = _csrf(r.text)
        return r

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/dashboard/login")
        return self.post("/dashboard/login", {"email": email, "password": password,
                                              "next": "/dashboard/security"})

    def state(self) -> str:
        return _text(self.get("/dashboard/security").text, "mfa-state")

    def enrol(self) -> tuple[str, list[str], int]:
        """Enable MFA from the page: (secret, recovery codes, step spent)."""
        page = self.post("/dashboard/security/enable")
        assert page.status_code == 200
        secret = _text(page.text, "mfa-secret")
        code, step = fresh_code(secret)
        done = self.post("/dashboard/security/confirm", {"code": code})
        assert done.status_code == 200, done.text
        return secret, _text(done.text, "recovery-codes").split(), step

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """One daemon for the module: admins must use MFA; a low account-lock threshold."""
    d = DaemonProcess(tmp_path_factory.mktemp("mfa"), {"security": {
        "require_admin_mfa": True,
        "monitoring": {"brute_force_account": {"threshold": LOCK_AFTER},
                       # Several accounts fail here on purpose, all from 127.0.0.1.
                       "credential_stuffing": {"threshold": 50}}}})
    d.start()
    d.cli("admin", "create-tenant", "--name", "acme")
    pw = d.tmp / "pw"
    pw.write_text(PASSWORD + "\n")
    d.cli("admin", "create-user", "--tenant", "acme", "--email", ADMIN, "--role", "admin",
          "--password-file", str(pw))
    try:
        yield d
    finally:
        d.stop()


def _user(d: DaemonProcess, email: str) -> str:
    d.cli("admin", "create-user", "--tenant", "acme", "--email", email, "--role", "user",
          "--password-file", str(d.tmp / "pw"))
    return email


# -- Chromium ---------------------------------------------------------------------------
def _sign_in(drv: webdriver.Chrome, base: str, email: str) -> None:
    drv.get(f"{base}/dashboard/login")
    drv.find_element(By.ID, "email").send_keys(email)
    drv.find_element(By.ID, "password").send_keys(PASSWORD)
    drv.find_element(By.ID, "signin").click()


def _second_step(drv: webdriver.Chrome, code: str) -> None:
    WebDriverWait(drv, 10).until(ec.presence_of_element_located((By.ID, "mfa-code")))
    field = drv.find_element(By.ID, "mfa-code")
    field.clear()
    field.send_keys(code)
    drv.find_element(By.ID, "verify").click()


def _sign_out(drv: webdriver.Chrome) -> None:
    drv.find_element(By.ID, "logout").click()
    WebDriverWait(drv, 10).until(ec.url_contains("/dashboard/login"))


def _refused(drv: webdriver.Chrome) -> str:
    return str(WebDriverWait(drv, 10).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "p.error"))).text)


def test_admin_enrols_from_the_security_page_then_signs_in_with_codes(
        site: DaemonProcess, browser: webdriver.Chrome) -> None:
    base = site.http_url
    _sign_in(browser, base, ADMIN)
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "logout")))
    # require_admin_mfa: every page carries the banner until the admin enrols.
    assert browser.find_element(By.ID, "mfa-required").is_displayed()
    _visit(browser, f"{base}/dashboard/security", "security-off")
    assert browser.find_element(By.ID, "mfa-state").text == "off"
    browser.find_element(By.ID, "mfa-enable").click()
    qr = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "mfa-qr")))
    # The QR code is a data: image the CSP allows, and it decodes (non-zero size).
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", qr))
    svg = base64.b64decode(unquote(qr.get_attribute("src") or "").split(",", 1)[1]).decode()
    assert "<svg" in svg
    secret = browser.find_element(By.ID, "mfa-secret").text
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert browser.find_element(By.ID, "copy-secret").is_displayed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "security-enrol.png"))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth") + 1  # narrow screen
    enrol_code, step = fresh_code(secret)
    browser.find_element(By.ID, "confirm-code").send_keys(enrol_code)
    browser.find_element(By.ID, "mfa-confirm").click()
    shown = WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.ID, "recovery-codes"))).text
    codes = shown.split()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    assert browser.find_element(By.ID, "copy-codes").is_displayed()
    assert not browser.find_elements(By.ID, "mfa-required")
    browser.save_screenshot(str(SHOTS / "security-recovery-codes.png"))
    _visit(browser, f"{base}/dashboard/security", "security")
    assert browser.find_element(By.ID, "mfa-state").text == "on"
    assert codes[0] not in browser.page_source  # shown once only
    assert not browser.find_elements(By.ID, "mfa-required")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth") + 1

    # Password alone is no longer enough; the code spent on enrolment is refused.
    _sign_out(browser)
    _sign_in(browser, base, ADMIN)
    WebDriverWait(browser, 10).until(ec.url_contains("/dashboard/login/mfa"))
    _second_step(browser, enrol_code)
    assert "not valid" in _refused(browser)
    _second_step(browser, fresh_code(secret, step)[0])
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "logout")))

    # A recovery code signs in once.
    _sign_out(browser)
    _sign_in(browser, base, ADMIN)
    _second_step(browser, codes[0])
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "logout")))
    _sign_out(browser)
    _sign_in(browser, base, ADMIN)
    _second_step(browser, codes[0])
    assert "not valid" in _refused(browser)
    _second_step(browser, codes[1])
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "logout")))
    # The only console errors are the refused second steps' 401 responses.
    errors = _console_errors(browser)
    assert errors and all("/dashboard/login/mfa" in e and "401" in e for e in errors)


# -- plain HTTP -------------------------------------------------------------------------
def test_recovery_codes_are_renewed_with_a_fresh_code_only(site: DaemonProcess) -> None:
    user = Browserless(site.http_url)
    try:
        email = _user(site, "renew@mfa.example.com")
        assert user.sign_in(email).url.path == "/dashboard/security"
        assert user.state() == "off"
        assert "mfa-required" not in user.get("/dashboard/security").text  # not an admin
        # Every POST needs the page's CSRF token.
        assert user.post("/dashboard/security/enable", csrf=False).status_code == 403
        secret, old, step = user.enrol()
        assert user.state() == "on"
        spent = totp.totp(secret, step * totp.STEP_S)
        refused = user.post("/dashboard/security/recovery-codes", {"code": spent})
        assert refused.status_code == 400 and 'id="recovery-codes"' not in refused.text
        refused = user.post("/dashboard/security/recovery-codes", {"code": wrong_code(secret)})
        assert refused.status_code == 400 and "not valid" in refused.text
        renewed = user.post("/dashboard/security/recovery-codes",
                            {"code": fresh_code(secret, step)[0]})
        assert renewed.status_code == 200
        new = _text(renewed.text, "recovery-codes").split()
        assert len(new) == 10 and not set(new) & set(old)
        # The old codes are gone: one cannot turn MFA off; a new one can.
        assert user.post("/dashboard/security/disable", {"code": old[0]}).status_code == 400
        assert user.state() == "on"
        off = user.post("/dashboard/security/disable", {"code": new[0]})
        assert off.status_code == 200 and "Two-step sign-in is off" in off.text
        assert user.state() == "off"
    finally:
        user.close()


def test_disabling_mfa_needs_a_current_code(site: DaemonProcess) -> None:
    user = Browserless(site.http_url)
    try:
        email = _user(site, "off@mfa.example.com")
        user.sign_in(email)
        secret, _codes, step = user.enrol()
        for code in ("", wrong_code(secret), totp.totp(secret, step * totp.STEP_S)):
            r = user.post("/dashboard/security/disable", {"code": code})
            assert r.status_code == 400 and "Traceback" not in r.text
            assert user.state() == "on"
        assert user.post("/dashboard/security/disable",
                         {"code": fresh_code(secret, step)[0]}).status_code == 200
        assert user.state() == "off"
        # Signing in again asks for no code now.
        user.post("/dashboard/logout")
        assert user.sign_in(email).url.path == "/dashboard/security"
    finally:
        user.close()


def test_wrong_codes_and_passwords_count_toward_the_same_account_lock(
        site: DaemonProcess) -> None:
    user = Browserless(site.http_url)
    try:
        email = _user(site, "locked@mfa.example.com")
        user.sign_in(email)
        secret, _codes, _ = user.enrol()
        user.post("/dashboard/logout")
        for _ in range(LOCK_AFTER - 1):  # wrong passwords: one short of the lock
            assert user.sign_in(email, "not the password").status_code == 401
        at_code = user.sign_in(email)
        assert at_code.url.path == "/dashboard/login/mfa"
        # One wrong code makes LOCK_AFTER failures on this account: it is locked.
        r = user.post("/dashboard/login/mfa", {"mfa_code": wrong_code(secret),
                                               "next": "/dashboard/security"})
        assert r.status_code == 401
        r = user.post("/dashboard/login/mfa", {"mfa_code": fresh_code(secret)[0],
                                               "next": "/dashboard/security"})
        assert r.status_code in (403, 423, 429) and r.url.path.startswith("/dashboard/login")
        assert "logout" not in r.text
        assert user.sign_in(email).status_code in (403, 423, 429)
    finally:
        user.close()


def test_admin_without_mfa_sees_the_banner_and_no_admin_page_until_enrolled(
        site: DaemonProcess) -> None:
    email = "second-admin@mfa.example.com"
    site.cli("admin", "create-user", "--tenant", "acme", "--email", email, "--role", "admin",
             "--password-file", str(site.tmp / "pw"))
    admin = Browserless(site.http_url)
    try:
        admin.sign_in(email)
        assert 'id="mfa-required"' in admin.get("/dashboard/keys").text
        for path in ("/dashboard/admin", "/dashboard/admin/audit", "/dashboard/tenant"):
            r = admin.get(path)
            assert r.status_code == 403 and "must turn on two-step sign-in" in r.text
        admin.enrol()
        assert 'id="mfa-required"' not in admin.get("/dashboard/keys").text
        for path in ("/dashboard/admin", "/dashboard/admin/audit", "/dashboard/tenant"):
            assert admin.get(path).status_code == 200
    finally:
        admin.close()


def test_security_page_needs_a_session(site: DaemonProcess) -> None:
    r = httpx.get(f"{site.http_url}/dashboard/security", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/dashboard/login?next=")
    r = httpx.post(f"{site.http_url}/dashboard/security/disable", data={"code": "123456"})
    assert r.status_code == 401

