"""The dashboard in a real headless Chromium (Selenium), against a real daemon.

Screenshots of the main pages go to var/screenshots/; every page must load
without a browser console error (the CSP would report any inline code).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.strava import FakeStrava
from tests.providers.test_strava import strava_config
from tests.support.daemon import DaemonProcess

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.fail("chromium and chromium-driver are missing (tests/dashboard/ensure_chromium.sh)")
    profile = tempfile.mkdtemp(prefix="pierre-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=420,900"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=webdriver.ChromeService(DRIVER))
    drv.set_page_load_timeout(20)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


PASSWORD = "correct horse battery staple"
EMAIL = "root@acme.example.com"


def _admin(d: DaemonProcess) -> None:
    """A server admin with a password, made with the admin CLI like an operator would."""
    d.cli("admin", "create-tenant", "--name", "acme")
    pw = d.tmp / "pw"
    pw.write_text(PASSWORD + "\n")
    d.cli("admin", "create-user", "--tenant", "acme", "--email", EMAIL, "--role", "admin",
          "--password-file", str(pw))


@pytest.fixture
def strava() -> Iterator[FakeStrava]:
    """The fake Strava on its own event loop in a thread: the browser test is synchronous."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(FakeStrava().start(), loop).result(10)
    assert isinstance(fake, FakeStrava)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _console_errors(drv: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _visit(drv: webdriver.Chrome, url: str, shot: str) -> None:
    drv.get(url)
    WebDriverWait(drv, 10).until(ec.presence_of_element_located((By.ID, "main")))
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / f"{shot}.png"))
    assert _console_errors(drv) == [], f"console errors on {url}"


def test_dashboard_pages_in_chromium(daemon_factory: Callable[..., DaemonProcess],
                                     browser: webdriver.Chrome, strava: FakeStrava) -> None:
    d = daemon_factory({"providers": {"strava": strava_config(strava)}})
    base = d.http_url
    _admin(d)
    # Sign in by typing into the form; a wrong password first is refused.
    _visit(browser, f"{base}/dashboard/", "login")
    assert "/dashboard/login" in browser.current_url
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "signin").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CLASS_NAME, "error")))
    # The refusal is a 401, which Chromium logs; nothing else may be there.
    assert all("/dashboard/login" in e and "401" in e for e in _console_errors(browser))
    browser.find_element(By.ID, "email").clear()
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "signin").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "logout")))
    _visit(browser, f"{base}/dashboard/", "overview")
    # API key: created, shown once, works on the REST API, then revoked.
    _visit(browser, f"{base}/dashboard/keys", "keys-before")
    browser.find_element(By.ID, "key-name").send_keys("browser test")
    browser.find_element(By.ID, "create-key").click()
    key = WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.ID, "new-key"))).text
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "key-created.png"))
    assert key.startswith("pk_")
    me = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["email"] == EMAIL
    _visit(browser, f"{base}/dashboard/keys", "keys")
    assert key not in browser.page_source  # shown once only
    browser.find_element(By.CSS_SELECTOR, "#keys button.danger").click()
    WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#keys .key-revoked")))
    time.sleep(1.1)  # the authenticator may reuse a found key for up to a second
    assert httpx.get(f"{base}/api/me",
                     headers={"Authorization": f"Bearer {key}"}).status_code == 401
    # Connect Strava: the button runs the OAuth redirect through the fake and back to
    # the daemon's callback page.
    _visit(browser, f"{base}/dashboard/providers", "providers-before")
    browser.find_element(By.ID, "connect-strava").click()
    WebDriverWait(browser, 10).until(ec.url_contains("/oauth/strava/callback"))
    assert "Strava connected" in browser.page_source
    assert ("GET", "/oauth/authorize") in strava.calls
    # That page belongs to the providers capability; a browser asks it for a favicon.
    assert all("favicon.ico" in e for e in _console_errors(browser))
    _visit(browser, f"{base}/dashboard/providers", "providers")
    assert "connected" in browser.find_element(By.ID, "status-strava").text
    # Training chart: uPlot draws a canvas from the embedded data (Strava activities).
    _visit(browser, f"{base}/dashboard/training", "training")
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "training-chart").get_attribute("data-rendered"))
    assert browser.find_elements(By.CSS_SELECTOR, "#training-chart canvas")
    assert browser.find_elements(By.CSS_SELECTOR, "#recent tbody tr")
    # Narrow screen: nothing wider than the viewport at the page level.
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth") + 1
    # The training page ran a tool: the usage page counts it.
    _visit(browser, f"{base}/dashboard/usage", "usage")
    assert "analyze_training_load" in browser.find_element(By.ID, "per-tool").text
    _visit(browser, f"{base}/dashboard/tenant", "tenant")
    _visit(browser, f"{base}/dashboard/admin", "admin")
    assert "pierre-strava" in browser.find_element(By.ID, "plugins").text
    # Admin reads the audit log, filtered by action: the sign-ins and the key's life.
    _visit(browser, f"{base}/dashboard/admin/audit?action=api_key_revoked", "audit")
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    assert rows and all("api_key_revoked" in r.text for r in rows)
    _visit(browser, f"{base}/dashboard/admin/audit?action=login_failed", "audit-failed")
    assert browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    # Sign out clears the session.
    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 10).until(ec.url_contains("/dashboard/login"))
    assert _console_errors(browser) == []
