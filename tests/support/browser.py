"""Headless Chromium through selenium and Debian's chromium-driver, offline: for tests that
open the HTML reports in a real browser. ``MTLSWEEP_REQUIRE_SERVERS=1`` makes a missing
browser a failure, as for servers."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .servers import REQUIRE_ENV

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--window-size=1280,2000")


def _require(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{name} is required (Debian packages chromium, chromium-driver)")
        pytest.skip(f"{name} not installed")
    return found


@contextlib.contextmanager
def headless_chromium(profile: Path) -> Iterator[Any]:
    """A selenium WebDriver on a fresh profile; browser console messages are kept."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _require("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=Service(executable_path=_require("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()
