"""The dev demo site's miss then hit, and Caching (page rules, purge) and Analytics in a real
browser — on a customer's own domain, so that the rules and purges stay out of the demo site the
other tests share."""

import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import proxied_site, serve_http
from test_dashboard_browser import ARTIFACTS, browser, wait  # noqa: F401 (fixture)
from test_dns import wait_for
from test_domains_browser import sign_in

DEMO = "demo.dcdn.test"


def edge(dev, path="/", host=DEMO):
    return requests.get(f"http://127.0.0.1:{dev.edge_port}{path}", headers={"Host": host}, timeout=10, allow_redirects=False)


@pytest.fixture(scope="module")
def site(dev):
    from test_edge_cache import Origin

    with serve_http(Origin) as port:
        yield proxied_site(dev, port, "caching")


def submit(browser, button_id):
    """Clicks a form's button and waits for the page it leads to (URLs may repeat a notice)."""
    button = browser.find_element(By.ID, button_id)
    button.click()

    def replaced(_):
        # While the old page goes away chromedriver may answer "node does not belong to the
        # document" instead of a stale-element error: either means the page was replaced.
        try:
            button.is_enabled()
            return False
        except WebDriverException:
            return True

    wait(browser).until(replaced)


def test_demo_site_shows_a_miss_then_a_hit(dev):
    wait_for(lambda: edge(dev, "/?warm-up").status_code == 200, timeout=10)
    first = edge(dev, "/?first")
    assert first.status_code == 200 and "demo origin" in first.text
    assert "fwd=uri-miss" in first.headers["Cache-Status"]
    assert edge(dev, "/?first").headers["Cache-Status"].startswith("DCDN; hit")


def test_demo_origin_serves_a_generated_photo(dev):
    wait_for(lambda: edge(dev, "/?warm-up").status_code == 200, timeout=10)
    photo = edge(dev, "/sample.jpg")
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    data = photo.content
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and len(data) > 100_000
    sof = data.index(b"\xff\xc0")  # baseline frame header: precision, height, width
    height, width = int.from_bytes(data[sof + 5:sof + 7], "big"), int.from_bytes(data[sof + 7:sof + 9], "big")
    assert width * height >= 3_000_000, "a few megapixels"
    assert "hit" in edge(dev, "/sample.jpg").headers["Cache-Status"]


def test_page_rule_purge_and_analytics_from_the_dashboard(dev, site, browser):
    name = site["name"]
    sign_in(browser, dev.url, site["email"], "a long enough password")
    browser.find_element(By.LINK_TEXT, "Domains").click()
    browser.find_element(By.LINK_TEXT, name).click()
    browser.find_element(By.PARTIAL_LINK_TEXT, "Caching").click()

    # A page rule that forwards, then one that bypasses the cache for /api/*.
    browser.find_element(By.ID, "rule-pattern").send_keys(f"{name}/old/*")
    Select(browser.find_element(By.ID, "rule-action")).select_by_visible_text("Forward (301)")
    browser.find_element(By.ID, "rule-forwarding").send_keys(f"http://{name}/$1")
    submit(browser, "add-rule-submit")
    wait(browser).until(EC.url_contains("notice=rule_added"))
    browser.find_element(By.ID, "rule-pattern").send_keys(f"{name}/api/*")
    Select(browser.find_element(By.ID, "rule-action")).select_by_visible_text("Cache bypass")
    submit(browser, "add-rule-submit")
    wait(browser).until(EC.url_contains("notice=rule_added"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#page-rules tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows] == [f"{name}/old/*", f"{name}/api/*"]
    wait_for(lambda: "detail=page-rule" in edge(dev, "/api/time?cc=max-age%3D60", name).headers["Cache-Status"], timeout=15)
    moved = edge(dev, "/old/page", name)
    assert moved.status_code == 301 and moved.headers["Location"] == f"http://{name}/page"

    # Move the bypass rule up, then a bad pattern shows the reason.
    rows[1].find_element(By.CSS_SELECTOR, "button[title='Move up']").click()

    def first_rule(driver):
        # The page reloads: chromedriver may report an element of the old page in more ways than
        # staleness, so the question is asked of the new page until it answers.
        try:
            return driver.find_elements(By.CSS_SELECTOR, "#page-rules tbody tr")[0].find_elements(By.TAG_NAME, "td")[1].text
        except (WebDriverException, IndexError):
            return None

    wait(browser).until(lambda driver: first_rule(driver) == f"{name}/api/*")
    browser.find_element(By.ID, "rule-pattern").send_keys("elsewhere.example/*")
    submit(browser, "add-rule-submit")
    assert f"must be for {name}" in wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#rules .error"))).text

    # Purge one URL: the next request is a miss.
    purged = "/?purge-me&cc=max-age%3D600"
    edge(dev, purged, name)
    assert "hit" in edge(dev, purged, name).headers["Cache-Status"]
    Select(browser.find_element(By.ID, "purge-kind")).select_by_visible_text("URLs (one per line)")
    browser.find_element(By.ID, "purge-values").send_keys(f"http://{name}{purged}")
    browser.find_element(By.ID, "purge-submit").click()
    wait(browser).until(EC.url_contains("notice=purged"))
    wait_for(lambda: "hit" not in edge(dev, purged, name).headers["Cache-Status"], timeout=15)
    assert f"{name}{purged}" in browser.find_element(By.ID, "recent-purges").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "caching.png"))

    # Analytics: the traffic above shows up in the chart's totals.
    browser.find_element(By.LINK_TEXT, "Analytics").click()
    browser.find_element(By.LINK_TEXT, "1h").click()

    def counted():
        browser.refresh()
        return int(browser.find_element(By.ID, "total-requests").text) >= 4

    wait_for(counted, timeout=15, interval=1)
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart polyline.requests").get_attribute("points")
    assert browser.find_element(By.ID, "hit-ratio").text.endswith("%")
    browser.save_screenshot(str(ARTIFACTS / "analytics.png"))
