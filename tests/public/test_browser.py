"""The status page in a real headless browser (Debian's chromium, driven by Selenium): it renders, it
reads on a phone-sized screen, and what was published shows as typed, with no script run."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.harness import Harness
from tests.public.test_publishing import press_publish

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}}
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
async def bot(tmp_path: Any) -> AsyncIterator[Harness]:
    harness = await Harness.start(f"sqlite:///{tmp_path}/opsbot.db", status_page_name="Shop status")
    try:
        yield harness
    finally:
        await harness.close()


async def load(browser: Any, url: str) -> None:
    await asyncio.to_thread(browser.get, url)


async def test_status_page_in_a_real_browser(bot: Harness, browser: Any) -> None:
    await load(browser, f"{bot.url}/status")
    assert browser.title == "Shop status"
    assert "All Systems Operational" in browser.find_element(By.CLASS_NAME, "banner").text
    names = [li.text.splitlines()[0] for li in browser.find_elements(By.CSS_SELECTOR, ".components li")]
    assert names[:2] == ["Website", "Checkout"]

    await bot.command("open P1 checkout broken")
    await bot.settle()
    text = "Card payments fail <script>document.title='owned'</script> & we are on it"
    await press_publish(bot, await bot.command(f"publish INC-1 {text}"))
    await load(browser, f"{bot.url}/status")
    assert browser.title == "Shop status"  # the pasted script did not run
    assert "Partial System Outage" in browser.find_element(By.CLASS_NAME, "banner").text
    incident = browser.find_element(By.ID, "inc1")
    assert "<script>document.title='owned'</script> & we are on it" in incident.text
    viewport, page_width = browser.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert viewport == 390 and page_width <= viewport  # a phone, and no sideways scrolling
