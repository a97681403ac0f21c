"""Accessibility: axe-core (the engine behind Lighthouse's audits) on every page people reach —
signed out, as a customer with a domain, as an admin, at 1280 px and on a 375 px phone, in the
light and the dark theme, each form after a failed post, and the edge's own pages — plus a
keyboard-only walk that adds a domain and a DNS record. Pages are collected from the sidebar and
the pages' own links, so a new page is checked without anyone listing it here."""

import pathlib
import re
import shutil
import uuid
from urllib.parse import urljoin, urlparse

import pytest
import requests
import selenium_axe_python
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, Instance, closed_port, serve_http, signed_up

AXE_SCRIPT = pathlib.Path(selenium_axe_python.__file__).parent / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and the best practices that make the structure
# (one main, one h1, every part in a landmark) that screen-reader users navigate by.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}
PASSWORD = "a long enough password"
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Links that end the session or leave the dashboard.
NOT_FOLLOWED = ("/dashboard/logout",)


def browser(phone=False, resolve_to_loopback=()):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    arguments = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]
    if resolve_to_loopback:
        # The edge's sites are names; the browser reaches them on loopback only.
        arguments.append("--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in resolve_to_loopback))
    for argument in arguments:
        options.add_argument(argument)
    if phone:
        # A phone is emulated, never a narrow window (headless Chromium keeps windows ≥ 500 px).
        options.add_experimental_option(
            "mobileEmulation",
            {
                "deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 3.0, "touch": True},
                "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            },
        )
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(60)
    return driver


def set_theme(driver, theme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": theme}]})


def audit(driver, where):
    """axe's violations on the page now shown, as readable lines."""
    driver.execute_script(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1]; axe.run(document, arguments[0]).then(done, e => done({error: String(e)}));",
        AXE_OPTIONS,
    )
    assert "error" not in result, result
    lines = []
    for violation in result["violations"]:
        targets = "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"]) for node in violation["nodes"][:4])
        lines.append(f"{where}: {violation['id']} ({violation['impact']}) — {violation['help']} — {targets}")
    return lines


def sign_in(driver, base, email, password):
    driver.get(f"{base}/dashboard/login")
    WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "email"))).send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: "/dashboard/login" not in d.current_url)


def shape(path):
    """/dashboard/domains/<uuid>/x → /dashboard/domains/{id}/x: one page of each kind is enough."""
    return UUID_PATTERN.sub("{id}", path)


def crawl(driver, base, start="/dashboard", limit=80):
    """Dashboard pages reachable by links from `start`: (path, shape) pairs, one per shape."""
    seen, queue, pages = set(), [start], []
    while queue and len(pages) < limit:
        path = queue.pop(0)
        if shape(path) in seen:
            continue
        seen.add(shape(path))
        driver.get(base + path)
        if urlparse(driver.current_url).path.startswith("/dashboard/login"):
            continue
        pages.append(path)
        for link in driver.find_elements(By.CSS_SELECTOR, "a[href]"):
            href = link.get_attribute("href") or ""
            target = urlparse(urljoin(base + path, href))
            if f"{target.scheme}://{target.netloc}" != base or not target.path.startswith("/dashboard"):
                continue
            if target.path.startswith(NOT_FOLLOWED) or "." in target.path.rsplit("/", 1)[-1]:
                continue  # signing out, or a download (CSV, zone file) rather than a page
            next_path = target.path + (f"?{target.query}" if target.query and "notice=" not in target.query else "")
            if shape(next_path) not in seen:
                queue.append(next_path)
    return pages


def failed_posts(driver, base, path):
    """Submits each of the page's forms that has fields people type into, emptied (the browser's
    own checks off, as a script or an old browser would), and audits the answer. A form that
    failed must put an error summary first and move focus to it."""
    findings = []
    driver.get(base + path)
    count = len(driver.find_elements(By.CSS_SELECTOR, "main form[method=post], main form[method=POST]"))
    for index in range(count):
        driver.get(base + path)
        forms = driver.find_elements(By.CSS_SELECTOR, "main form[method=post], main form[method=POST]")
        if index >= len(forms):
            break
        form = forms[index]
        typed = form.find_elements(
            By.CSS_SELECTOR, "input[type=text], input[type=email], input[type=password], input[type=number], input[type=url], input:not([type]), textarea"
        )
        typed = [field for field in typed if field.is_displayed()]
        if not typed:
            continue
        html = driver.find_element(By.TAG_NAME, "html")
        driver.execute_script(
            "const form = arguments[0]; form.noValidate = true;"
            "for (const field of form.querySelectorAll('input, textarea')) {"
            "  if (['text','email','password','number','url','','textarea'].includes(field.type || '') || field.tagName === 'TEXTAREA') field.value = ''; }"
            "form.requestSubmit ? form.requestSubmit() : form.submit();",
            form,
        )
        WebDriverWait(driver, 15).until(EC.staleness_of(html))  # the answer replaced the page
        WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
        where = f"{path} form {index + 1} after a failed post"
        findings += audit(driver, where)
        summaries = driver.find_elements(By.CSS_SELECTOR, ".error-summary")
        if driver.find_elements(By.CSS_SELECTOR, "[role=alert], .error-summary, [aria-invalid=true]"):
            if not summaries:
                findings.append(f"{where}: no error summary")
            elif not driver.execute_script("return arguments[0].contains(document.activeElement)", summaries[0]):
                findings.append(f"{where}: the error summary does not have focus")
    return findings


@pytest.fixture(scope="module")
def site():
    """A dev platform with a customer who has a domain (its origin down: a port that refuses), and
    the admin."""
    with closed_port() as down:
        yield from _site(down)


def _site(down):
    instance = Instance(
        "dev",
        env={
            "DCDN_RATE_LIMIT_API_BURST": "100000", "DCDN_RATE_LIMIT_API_RATE": "100000",
            # The challenge page stays on screen while axe reads it (a browser would need hours).
            "DCDN_CHALLENGE_DIFFICULTY": "28",
            "DCDN_EDGE_TEST_COUNTRY_HEADER": "X-Test-Country",
        },
    )
    email = f"a11y-{uuid.uuid4().hex[:6]}@example.com"
    jwt = signed_up(instance.url, email)
    headers = {"Authorization": f"Bearer {jwt}"}
    domain = f"a11y-{uuid.uuid4().hex[:6]}.example"
    created = requests.post(
        f"{instance.url}/api/v1/cdn/domains", json={"domain": domain, "origin_ip": f"127.0.0.1:{down}", "ssl_mode": "off"},
        headers=headers, timeout=10,
    )
    assert created.status_code == 201, created.text
    requests.post(
        f"{instance.url}/api/v1/cdn/domains/{created.json()['id']}/records",
        json={"name": "www", "type": "CNAME", "content": domain, "proxied": True}, headers=headers, timeout=10,
    )
    yield {"dev": instance, "email": email, "domain": domain, "domain_id": created.json()["id"], "headers": headers}
    instance.stop()


@pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
def test_every_page_passes_axe(site, phone):
    base = site["dev"].url
    findings = []
    driver = browser(phone=phone)
    try:
        for path in ("/dashboard/login", "/dashboard/register"):
            for theme in ("light", "dark"):
                set_theme(driver, theme)
                driver.get(base + path)
                findings += audit(driver, f"{path} ({theme}, signed out)")
            set_theme(driver, "light")
            if not phone:
                findings += failed_posts(driver, base, path)
        for who, email, password in (("customer", site["email"], PASSWORD), ("admin", "admin@dcdn.test", ADMIN_PASSWORD)):
            set_theme(driver, "light")
            driver.delete_all_cookies()
            sign_in(driver, base, email, password)
            pages = crawl(driver, base)
            assert len(pages) >= (8 if who == "customer" else 14), f"the {who} reached only {pages}"
            # Colours do not depend on the width: the phone checks the dark theme on its first page
            # (the one with the phone's menu) and every page in the light theme, to keep the run short.
            for index, path in enumerate(pages):
                for theme in ("light", "dark") if not phone or index == 0 else ("light",):
                    set_theme(driver, theme)
                    driver.get(base + path)
                    findings += audit(driver, f"{path} ({theme}, {who})")
            set_theme(driver, "light")
            if not phone:
                for path in pages:
                    findings += failed_posts(driver, base, path)
    finally:
        driver.quit()
    assert not findings, f"{len(findings)} accessibility findings:\n" + "\n".join(findings)


def test_the_edge_pages_pass_axe(site):
    """The edge's own pages: unknown site, origin down, Under Attack challenge, 451."""
    base, domain, edge = site["dev"].url, site["domain"], site["dev"].edge_port
    unknown = f"nobody-{uuid.uuid4().hex[:6]}.example"
    driver = browser(resolve_to_loopback=[domain, unknown])
    findings = []
    try:
        driver.get(f"http://{unknown}:{edge}/")
        findings += audit(driver, "edge: unknown site")
        driver.get(f"http://{domain}:{edge}/")
        assert "502" in driver.title, driver.title
        findings += audit(driver, "edge: origin unreachable")
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"X-Test-Country": "KP"}})
        driver.get(f"http://{domain}:{edge}/")
        findings += audit(driver, "edge: 451")
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
        answer = requests.post(
            f"{base}/api/v1/ddos/under-attack", json={"domain_name": domain, "enabled": True}, headers=site["headers"], timeout=10
        )
        assert answer.status_code == 200, answer.text
        WebDriverWait(driver, 15, poll_frequency=0.2).until(
            lambda d: d.get(f"http://{domain}:{edge}/") or "challenge" in d.page_source.lower()
        )
        findings += audit(driver, "edge: Under Attack challenge")
    finally:
        requests.post(
            f"{base}/api/v1/ddos/under-attack", json={"domain_name": domain, "enabled": False}, headers=site["headers"], timeout=10
        )
        driver.quit()
    assert not findings, f"{len(findings)} accessibility findings:\n" + "\n".join(findings)


def test_keyboard_only_adds_a_domain_and_a_record(site):
    """Tab and Enter alone: skip to content, the add-domain form, then a DNS record."""
    base = site["dev"].url
    email = f"keys-{uuid.uuid4().hex[:6]}@example.com"
    signed_up(base, email)
    driver = browser()
    try:
        sign_in(driver, base, email, PASSWORD)
        driver.get(f"{base}/dashboard/domains")
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        skip = driver.switch_to.active_element
        assert skip.get_attribute("href", ) and skip.get_attribute("href").endswith("#main"), "the first Tab reaches the skip link"
        assert skip.is_displayed(), "the skip link shows when focused"
        skip.send_keys(Keys.ENTER)

        def tab_to(predicate, limit=150):
            for _ in range(limit):
                element = driver.switch_to.active_element
                if predicate(element):
                    return element
                element.send_keys(Keys.TAB)
            raise AssertionError("Tab never reached the element")

        name = f"keys-{uuid.uuid4().hex[:6]}.example"
        field = tab_to(lambda e: e.get_attribute("name") == "domain")
        assert driver.execute_script(
            "return getComputedStyle(arguments[0]).outlineStyle !== 'none' || getComputedStyle(arguments[0]).boxShadow !== 'none'", field
        ), "a visible focus ring"
        field.send_keys(name)
        tab_to(lambda e: e.get_attribute("name") == "origin_ip").send_keys("127.0.0.1:9")
        tab_to(lambda e: e.tag_name == "button" and e.get_attribute("type") == "submit").send_keys(Keys.ENTER)
        WebDriverWait(driver, 15).until(lambda d: name in d.page_source and "/dashboard/domains/" in d.current_url)

        # On the domain's page: the record form, by keyboard.
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        driver.switch_to.active_element.send_keys(Keys.ENTER)  # skip to content
        tab_to(lambda e: e.get_attribute("name") == "name" and e.tag_name == "input").send_keys("api")
        kind = tab_to(lambda e: e.get_attribute("name") == "type")
        kind.send_keys("A")
        tab_to(lambda e: e.get_attribute("name") == "content").send_keys("192.0.2.10")
        tab_to(lambda e: e.tag_name == "button" and "record" in (e.text or "").lower()).send_keys(Keys.ENTER)
        WebDriverWait(driver, 15).until(lambda d: "192.0.2.10" in d.page_source)
    finally:
        driver.quit()


def test_phone_menu_and_chart_data_by_keyboard(site):
    """The phone's menu opens with Enter and closes with Escape, giving focus back; a chart's
    numbers open as a table from its "Show data" toggle."""
    base = site["dev"].url
    driver = browser(phone=True)
    try:
        sign_in(driver, base, site["email"], PASSWORD)
        driver.get(f"{base}/dashboard")
        toggle = driver.find_element(By.CSS_SELECTOR, ".menu-toggle")
        sidebar = driver.find_element(By.ID, "sidebar")
        assert not sidebar.is_displayed(), "the menu starts closed on a phone"
        toggle.send_keys(Keys.ENTER)
        assert sidebar.is_displayed() and toggle.get_attribute("aria-expanded") == "true"
        assert driver.execute_script("return arguments[0].contains(document.activeElement)", sidebar), "focus moves into the menu"
        driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        assert not sidebar.is_displayed() and toggle.get_attribute("aria-expanded") == "false"
        assert driver.switch_to.active_element == toggle, "focus returns to the menu button"

        driver.get(f"{base}/dashboard/domains/{site['domain_id']}/analytics")
        chart = driver.find_element(By.CSS_SELECTOR, "svg.chart")
        labelled = chart.get_attribute("aria-labelledby").split()
        assert [driver.find_element(By.ID, part).tag_name for part in labelled] == ["title", "desc"]
        summary = driver.find_element(By.CSS_SELECTOR, "details.chart-data summary")
        table = driver.find_element(By.CSS_SELECTOR, "details.chart-data table")
        assert not table.is_displayed()
        summary.send_keys(Keys.ENTER)
        assert table.is_displayed() and len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) > 1
    finally:
        driver.quit()
