"""The dashboard in a real headless Chromium (Selenium), against a real daemon.

Screenshots of the main pages go to var/screenshots/; every page must load
without a browser console error (the CSP would report any inline code).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pierre.dashboard.routes import session_key
from pierre.dashboard.session import SESSION_COOKIE, SessionCodec
from pierre.db.sqlite import SQLiteDatabase
from pierre.oauth2.server import DEV_KEY_FILE, secret_from_file
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


def _admin(d: DaemonProcess) -> tuple[str, str]:
    async def make() -> tuple[str, str]:
        db = SQLiteDatabase(d.config["database"]["path"])
        await db.start()
        try:
            tenant = await db.create_tenant("acme", settings={})
            user = await db.create_user(tenant.id, "root@acme.example.com", role="admin")
            return tenant.id, user.id
        finally:
            await db.close()

    return asyncio.run(make())


def _console_errors(drv: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _visit(drv: webdriver.Chrome, url: str, shot: str) -> None:
    drv.get(url)
    WebDriverWait(drv, 10).until(ec.presence_of_element_located((By.ID, "main")))
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / f"{shot}.png"))
    assert _console_errors(drv) == [], f"console errors on {url}"


def test_dashboard_pages_in_chromium(daemon_factory: Callable[..., DaemonProcess],
                                     browser: webdriver.Chrome) -> None:
    d = daemon_factory()
    base = d.http_url
    tenant_id, user_id = _admin(d)
    # The sign-in page renders and is CSP-clean.
    _visit(browser, f"{base}/dashboard/login", "login")
    assert browser.find_element(By.ID, "signin").is_displayed()
    # Session: the signed cookie a sign-in would set.
    secret = secret_from_file(Path(d.config["server"]["data_dir"]) / DEV_KEY_FILE)
    cookie, _ = SessionCodec(session_key(secret)).issue(tenant_id, user_id)
    browser.add_cookie({"name": SESSION_COOKIE, "value": cookie, "path": "/",
                        "httpOnly": True, "sameSite": "Lax"})
    _visit(browser, f"{base}/dashboard/", "overview")
    # Connect the synthetic provider with the dashboard's button, then see it connected.
    _visit(browser, f"{base}/dashboard/providers", "providers-before")
    browser.find_element(By.ID, "connect-synthetic").click()
    WebDriverWait(browser, 10).until(
        ec.text_to_be_present_in_element((By.ID, "status-synthetic"), "connected"))
    _visit(browser, f"{base}/dashboard/providers", "providers")
    # Training chart: uPlot draws a canvas from the embedded data.
    _visit(browser, f"{base}/dashboard/training", "training")
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "training-chart").get_attribute("data-rendered"))
    assert browser.find_elements(By.CSS_SELECTOR, "#training-chart canvas")
    assert browser.find_elements(By.CSS_SELECTOR, "#recent tbody tr")
    # Narrow screen: nothing wider than the viewport at the page level.
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= browser.execute_script("return window.innerWidth") + 1
    _visit(browser, f"{base}/dashboard/usage", "usage")
    _visit(browser, f"{base}/dashboard/keys", "keys")
    _visit(browser, f"{base}/dashboard/tenant", "tenant")
    _visit(browser, f"{base}/dashboard/admin", "admin")
    # Admin reads the audit log, filtered by action.
    _visit(browser, f"{base}/dashboard/admin/audit?action=dashboard.provider_connect", "audit")
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")
    assert rows and all("dashboard.provider_connect" in r.text for r in rows)
    # Sign out clears the session.
    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 10).until(ec.url_contains("/dashboard/login"))
    assert _console_errors(browser) == []
