"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, with no downloads."""

from __future__ import annotations

import shutil
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def available() -> bool:
    return bool(shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER))


def chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
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
        "--window-size=1500,950",
        f"--user-data-dir={tempfile.mkdtemp(prefix='txd-chromium-')}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def lineage_screenshot(driver: webdriver.Chrome, base_url: str, path: str) -> str:
    """The global asset lineage with every group unfolded, saved at ``path``; returns the page's text.
    Dagster keeps unfolded groups across a reload, which fits the whole graph to the window."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(1800, 1500)
    driver.get(f"{base_url}/asset-groups")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[aria-label='unfold_more']"))
    for _ in range(10):  # each unfold redraws the graph: find the next one afresh
        folded = driver.find_elements(By.CSS_SELECTOR, "[aria-label='unfold_more']")
        if not folded:
            break
        driver.execute_script("arguments[0].click()", folded[0])
        time.sleep(1)
    driver.refresh()
    WebDriverWait(driver, 60).until(lambda d: "transaction_files" in d.find_element(By.TAG_NAME, "body").text)
    time.sleep(3)  # the layout settles after the nodes are in the page
    driver.save_screenshot(path)
    return driver.find_element(By.TAG_NAME, "body").text
