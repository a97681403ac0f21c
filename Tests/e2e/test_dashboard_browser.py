"""The dashboard in a real browser: headless Chromium driven by Selenium."""

import pathlib
import shutil
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

# Screenshots for people to look at after a run; the folder is ignored by git, so a test run
# never changes a tracked file.
ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts"


def chromium(width=1280, height=900, extra_arguments=()):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}", *extra_arguments):
        options.add_argument(argument)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


@pytest.fixture
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def wait(driver):
    return WebDriverWait(driver, 15)


def test_register_verify_through_outbox_login_and_account(dev, browser):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    password = "a long enough password"

    browser.get(f"{dev.url}/")
    wait(browser).until(EC.url_contains("/dashboard/login"))
    browser.find_element(By.LINK_TEXT, "Create an account").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "register-submit")))
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "register-submit").click()
    wait(browser).until(EC.url_contains("notice=registered"))
    assert "Check your inbox" in browser.find_element(By.CSS_SELECTOR, ".notice").text

    # The dev outbox is where the newcomer reads the mail and clicks the link.
    browser.get(f"{dev.url}/dashboard/outbox")
    row = wait(browser).until(EC.presence_of_element_located((By.XPATH, f"//tr[td[contains(., '{email}')]]//a")))
    row.click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "a.mail-link"))).click()
    message = wait(browser).until(EC.presence_of_element_located((By.ID, "verified-message")))
    assert email in message.text

    browser.get(f"{dev.url}/dashboard/login")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-submit").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "whoami")))
    assert browser.find_element(By.ID, "whoami").text == email
    assert "Your plan: Free" in browser.page_source

    browser.find_element(By.LINK_TEXT, "Account & API tokens").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "plan-name")))
    assert browser.find_element(By.ID, "plan-name").text == "Free"
    browser.find_element(By.ID, "token-name").send_keys("browser-token")
    browser.find_element(By.ID, "create-token").click()
    token = wait(browser).until(EC.presence_of_element_located((By.ID, "new-token"))).text
    assert token.startswith("dcdn_")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "account.png"))

    # No console errors: the CSP allows everything the page loads.
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors

    browser.find_element(By.ID, "logout").click()
    wait(browser).until(EC.url_contains("notice=signed_out"))


def test_usable_on_a_phone(dev):
    driver = chromium(390, 844)
    try:
        driver.get(f"{dev.url}/dashboard/login")
        driver.find_element(By.ID, "email").send_keys("admin@dcdn.test")
        driver.find_element(By.ID, "password").send_keys("e2e operator secret")
        driver.find_element(By.ID, "login-submit").click()
        toggle = wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".menu-toggle")))
        sidebar = driver.find_element(By.ID, "sidebar")
        assert not sidebar.is_displayed()
        toggle.click()
        assert sidebar.is_displayed()
        # Admins see the admin section; the page never scrolls sideways.
        driver.find_element(By.LINK_TEXT, "Users").click()
        wait(driver).until(EC.presence_of_element_located((By.ID, "users")))
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "phone-users.png"))
    finally:
        driver.quit()
