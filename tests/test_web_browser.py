"""The dashboard in real headless Chromium (Debian's chromium and chromedriver, via selenium):
log in with the token, see the overview charts drawn, search without hostile text running,
acknowledge an incident and add a note. Screenshots are checked for real drawing.

``make test`` installs the browser. Set ``YUQING_SKIP_BROWSER=1`` to skip these tests
explicitly; a missing browser is otherwise a failure, never a silent skip.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.config import parse_config
from pipeline.web import create_app
from storage import incidents
from storage.db import Store
from tests.conftest import TEST_CONFIG
from tests.test_web import TOKEN, open_incident, seed_mentions

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)
NEGATIVE_RGB = (0xD9, 0x48, 0x5F)  # COLORS.negative in static/dashboard.js
WAIT = 15  # seconds; a loaded CI machine is slow, a working page is fast


@pytest.fixture(scope="module")
def binaries():
    if os.environ.get("YUQING_SKIP_BROWSER") == "1":
        pytest.skip("YUQING_SKIP_BROWSER=1 asked to skip the browser tests")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail(
            "chromium and chromedriver are needed (make test installs them: "
            "apt-get install chromium chromium-driver); YUQING_SKIP_BROWSER=1 skips explicitly"
        )
    return chromium, driver


@pytest.fixture(scope="module")
def site(binaries, tmp_path_factory):
    """A seeded SQLite dashboard served by uvicorn on an ephemeral loopback port."""
    import uvicorn

    folder = tmp_path_factory.mktemp("web")
    store = Store.open(f"sqlite:///{folder / 'yuqing.db'}", auto_migrate=True)
    now = datetime.now(UTC)
    seed_mentions(store, (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0))
    incident = open_incident(store, at=now - timedelta(hours=1))
    app = create_app(parse_config(TEST_CONFIG, "test.toml"), store, TOKEN)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield {
            "url": f"http://127.0.0.1:{sock.getsockname()[1]}",
            "store": store,
            "incident": incident["id"],
        }
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()
        store.close()


@pytest.fixture(scope="module")
def browser(binaries, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium then never tries to download one.
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: condition(d), message=what)


def body_data(driver, key: str):
    return driver.execute_script(f"return document.body.dataset.{key} || null")


def assert_not_blank(png: bytes, path) -> None:
    from PIL import Image

    path.write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None or image.width > 0
    assert colours is None or len(colours) > 50, f"{path} looks blank ({len(colours)} colours)"


def count_near(image, rgb, tolerance=12) -> int:
    """Pixels within ``tolerance`` of ``rgb`` in every channel (anti-aliased edges differ)."""
    return sum(
        count
        for count, pixel in image.getcolors(maxcolors=1 << 24)
        if all(abs(channel - want) <= tolerance for channel, want in zip(pixel, rgb, strict=True))
    )


def no_policy_violations(driver) -> None:
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
    ]
    assert problems == []


def test_login_overview_charts_and_safe_search(browser, site, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    browser.get(site["url"] + "/")
    wait_for(browser, lambda d: d.current_url.endswith("/login"), "redirect to the login page")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.ID, "login").click()
    wait_for(browser, lambda d: body_data(d, "chartsReady") == "2", "two topic charts drawn")
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: not for scripts

    cards = browser.find_elements(By.CSS_SELECTOR, "#charts section.card")
    assert [c.find_element(By.TAG_NAME, "h2").text.split()[0] for c in cards] == [
        "星澜咖啡",
        "青禾手机",
    ]
    assert "预警" in cards[0].text  # the live incident's severity badge
    assert "共 6 条 · 负面 4 条" in cards[0].text
    assert cards[0].find_elements(By.TAG_NAME, "canvas"), "ECharts draws on a canvas"
    assert_not_blank(browser.get_screenshot_as_png(), tmp_path / "overview.png")
    chart = Image.open(
        io.BytesIO(cards[0].find_element(By.CSS_SELECTOR, ".chart").screenshot_as_png)
    )
    assert count_near(chart.convert("RGB"), NEGATIVE_RGB) > 300, "no negative bars drawn"

    browser.get(site["url"] + "/mentions?contains=onerror")
    wait_for(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results tbody tr")) == 1,
        "one search result",
    )
    text_cell = browser.find_element(By.CSS_SELECTOR, "#results tbody td.text")
    assert '<img src=x onerror="document.body.dataset.pwned=1">' in text_cell.text
    assert "<script>alert(1)</script>" in text_cell.text
    assert browser.find_elements(By.CSS_SELECTOR, "#results img, #results script") == []
    assert body_data(browser, "pwned") is None
    assert text_cell.find_elements(By.TAG_NAME, "a") == []  # its javascript: URL gets no link
    csv_link = browser.find_element(By.ID, "export-csv").get_attribute("href")
    assert "contains=onerror" in csv_link and "format=csv" in csv_link
    no_policy_violations(browser)


def test_acknowledge_and_note_an_incident(browser, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(site["url"] + f"/login?token={TOKEN}")
    browser.get(site["url"] + "/incidents")
    wait_for(browser, lambda d: body_data(d, "incidentsReady") == "1", "incident list loaded")
    row = browser.find_element(By.CSS_SELECTOR, f'#incidents tr[data-id="{site["incident"]}"]')
    assert "未处理" in row.text and "预警" in row.text
    row.find_element(By.CSS_SELECTOR, "button.ack").click()
    wait_for(
        browser,
        lambda d: "已确认" in d.find_element(By.ID, "detail-fields").text,
        "the incident shown as acknowledged",
    )
    assert incidents.get_incident(site["store"], site["incident"])["status"] == "acknowledged"

    browser.find_element(By.ID, "note-text").send_keys("已联系门店核实 <b>不是粗体</b>")
    browser.find_element(By.ID, "do-note").click()
    wait_for(
        browser,
        lambda d: "不是粗体" in d.find_element(By.ID, "notes").text,
        "the note listed",
    )
    assert "<b>不是粗体</b>" in browser.find_element(By.ID, "notes").text
    assert "<script>alert(1)</script>" in browser.find_element(By.ID, "evidence").text
    notes = incidents.get_incident(site["store"], site["incident"])["notes"]
    assert notes[-1]["text"] == "已联系门店核实 <b>不是粗体</b>"
    assert_not_blank(browser.get_screenshot_as_png(), tmp_path / "incidents.png")
    no_policy_violations(browser)
