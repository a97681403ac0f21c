"""Dashboard → Image CDN in a real browser: the builder shows the demo photo, follows the fields
live, and names a wrong parameter."""

import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import signed_up
from test_dashboard_browser import browser, wait  # noqa: F401 (fixture)
from test_domains_browser import sign_in


def natural_width(browser):
    return browser.execute_script("const i = document.getElementById('image-preview'); return i.complete ? i.naturalWidth : 0;")


def test_url_builder_previews_live_and_validates(dev, browser):
    email = f"images-{uuid.uuid4().hex[:6]}@example.com"
    signed_up(dev.url, email)
    sign_in(browser, dev.url, email, "a long enough password")
    browser.find_element(By.LINK_TEXT, "Image CDN").click()

    # A fresh install starts with its demo photo at 400 px.
    assert browser.find_element(By.ID, "image-url").get_attribute("value") == "http://demo.dcdn.test/sample.jpg"
    wait(browser).until(lambda b: natural_width(b) == 400)
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "image-meta"), "400×"))

    # Changing a field rebuilds the URL and the preview without a page load.
    width = browser.find_element(By.ID, "image-w")
    width.clear()
    width.send_keys("240")
    Select(browser.find_element(By.ID, "image-f")).select_by_value("webp")
    wait(browser).until(lambda b: natural_width(b) == 240)
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "image-meta"), "image/webp"))
    link = browser.find_element(By.ID, "image-link").text
    assert "/cdn-cgi/image/?" in link and "w=240" in link and "f=webp" in link
    assert "/cdn-cgi/image/w=240,f=webp" in browser.find_element(By.ID, "image-path-link").text

    # The form also works as a plain GET, and a bad value is named.
    browser.get(f"{dev.url}/dashboard/images?url=http%3A%2F%2Fdemo.dcdn.test%2Fsample.jpg&w=9000")
    assert "w:" in browser.find_element(By.ID, "image-error").text
