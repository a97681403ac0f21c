"""Domains, DNS records and nodes in a real browser (headless Chromium)."""

import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import ADMIN_PASSWORD, signed_up
from test_dashboard_browser import ARTIFACTS, browser, wait  # noqa: F401 (fixture)
from test_dns import dig, wait_for


def sign_in(browser, base_url, email, password):
    browser.get(f"{base_url}/dashboard/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "whoami")))


def test_add_domain_edit_records_and_see_them_in_dns(dev, browser):
    email = f"web-{uuid.uuid4().hex[:6]}@example.com"
    signed_up(dev.url, email)
    sign_in(browser, dev.url, email, "a long enough password")
    name = f"web{uuid.uuid4().hex[:6]}.example"

    browser.find_element(By.LINK_TEXT, "Domains").click()
    browser.find_element(By.ID, "domain-name").send_keys(name)
    browser.find_element(By.ID, "domain-origin").send_keys("203.0.113.7")
    browser.find_element(By.ID, "add-domain-submit").click()
    nameservers = wait(browser).until(EC.presence_of_element_located((By.ID, "nameservers"))).text
    assert "ns1.dcdn.test" in nameservers and "ns2.dcdn.test" in nameservers

    browser.find_element(By.ID, "record-name").send_keys("api")
    Select(browser.find_element(By.ID, "record-type")).select_by_visible_text("A")
    browser.find_element(By.ID, "record-content").send_keys("203.0.113.80")
    browser.find_element(By.ID, "add-record-submit").click()
    wait(browser).until(EC.url_contains("notice=record_added"))
    wait_for(lambda: dig(dev.dns_port, f"api.{name}", "A", "+short").strip() == "203.0.113.80", timeout=5)

    # Turn the proxy on for it: DNS then answers with the edge node instead of the origin.
    row = browser.find_element(By.XPATH, "//tr[td[1][text()='api']]")
    row.find_element(By.XPATH, ".//button[text()='DNS only']").click()
    wait(browser).until(EC.url_contains("notice=record_updated"))
    wait_for(lambda: dig(dev.dns_port, f"api.{name}", "A", "+short").strip() == "127.0.0.1", timeout=5)

    # A bad record shows the reason and keeps what was typed.
    Select(browser.find_element(By.ID, "record-type")).select_by_visible_text("AAAA")
    browser.find_element(By.ID, "record-name").send_keys("v6")
    browser.find_element(By.ID, "record-content").send_keys("not-an-address")
    browser.find_element(By.ID, "add-record-submit").click()
    assert "IPv6 address" in wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#records .error"))).text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "domain.png"))


def test_admin_nodes_page_shows_health_and_issues_tokens(dev, browser):
    sign_in(browser, dev.url, "admin@dcdn.test", ADMIN_PASSWORD)
    browser.find_element(By.LINK_TEXT, "Nodes").click()
    table = wait(browser).until(EC.presence_of_element_located((By.ID, "nodes"))).text
    assert "dev-local" in table and "healthy" in table
    form = browser.find_element(By.ID, "add-node")
    form.find_element(By.NAME, "name").send_keys(f"web-{uuid.uuid4().hex[:4]}")
    form.find_element(By.NAME, "region").send_keys("eu-west")
    form.find_element(By.NAME, "country").send_keys("FR")
    form.find_element(By.NAME, "ipv4").send_keys("192.0.2.44")
    form.find_element(By.TAG_NAME, "button").click()
    token = wait(browser).until(EC.presence_of_element_located((By.ID, "node-token"))).text
    assert token.startswith("dcdn_node_")
    browser.save_screenshot(str(ARTIFACTS / "nodes.png"))
