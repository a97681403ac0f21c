"""The money layer end to end: a Stripe stand-in speaking Stripe's wire format, signed webhooks,
promo codes and plans in a real browser, and `dcdn admin verify-ledger` on the result."""

import hashlib
import hmac
import json
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from conftest import DCDN, Instance, admin_token, serve_http, signed_up
from test_dashboard_browser import browser, wait  # noqa: F401 (fixture)
from test_domains_browser import sign_in

WEBHOOK_SECRET = "whsec_e2e_0123456789abcdef"
STRIPE_KEY = "sk_test_e2e"


class FakeStripe(BaseHTTPRequestHandler):
    """POST /v1/checkout/sessions as Stripe answers it; remembers each request."""

    requests = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = dict(urllib.parse.parse_qsl(body))
        with self.lock:
            self.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
        if self.headers.get("Authorization") != f"Bearer {STRIPE_KEY}":
            self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
        elif self.path.startswith("/v1/subscriptions/sub_"):
            self._answer(200, {"id": self.path.rsplit("/", 1)[1], "object": "subscription", "cancel_at_period_end": form.get("cancel_at_period_end") == "true"})
        elif self.path == "/v1/checkout/sessions":
            session = f"cs_test_{uuid.uuid4().hex[:12]}"
            self._answer(200, {"id": session, "object": "checkout.session", "url": f"https://checkout.stripe.com/c/pay/{session}"})
        else:
            self._answer(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({self.path})"}})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def billing():
    with serve_http(FakeStripe) as port:
        instance = Instance(
            "dev",
            env={
                "DCDN_STRIPE_API_BASE": f"http://127.0.0.1:{port}",
                "DCDN_STRIPE_SECRET_KEY": STRIPE_KEY,
                "DCDN_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "DCDN_CREDITS_PURCHASABLE": "true",
                "DCDN_RATE_LIMIT_API_BURST": "100000",
                "DCDN_RATE_LIMIT_API_RATE": "100000",
            },
        )
        yield instance
        assert instance.stop() == 0, instance.output


def stripe_signature(payload, secret=WEBHOOK_SECRET, timestamp=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post_event(base_url, event, **signature):
    payload = json.dumps(event).encode()
    return requests.post(
        f"{base_url}/api/v1/billing/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload, **signature)},
        timeout=10,
    )


def test_buying_credits_through_stripe_checkout_and_webhooks(billing):
    jwt = signed_up(billing.url, f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    auth = {"Authorization": f"Bearer {jwt}"}
    bought = requests.post(
        f"{billing.url}/api/v1/credits/buy", json={"package": "standard"}, headers={**auth, "Idempotency-Key": "buy-1"}, timeout=10
    )
    assert bought.status_code == 201, bought.text
    assert bought.json()["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    sent = FakeStripe.requests[-1]
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["form"]["mode"] == "payment"
    assert sent["form"]["line_items[0][price_data][unit_amount]"] == "5000"
    assert sent["form"]["line_items[0][price_data][currency]"] == "usd"
    assert sent["form"]["metadata[payment_id]"] == bought.json()["payment_id"]
    assert sent["headers"]["Idempotency-Key"] == bought.json()["payment_id"]

    event = {
        "id": f"evt_{uuid.uuid4().hex[:10]}",
        "type": "checkout.session.completed",
        "data": {"object": {"id": bought.json()["session_id"], "payment_status": "paid", "amount_total": 5000,
                            "client_reference_id": bought.json()["payment_id"]}},
    }
    assert post_event(billing.url, event, secret="whsec_wrong").status_code == 400
    assert post_event(billing.url, event, timestamp=int(time.time()) - 600).status_code == 400
    delivered = post_event(billing.url, event)
    assert delivered.status_code == 200 and delivered.json()["result"] == "fulfilled", delivered.text
    assert post_event(billing.url, event).json()["result"] == "duplicate"
    balance = requests.get(f"{billing.url}/api/v1/credits/balance", headers=auth, timeout=10).json()
    assert balance["balance"] == 50 and balance["total_granted"] == 50

    plan = requests.post(f"{billing.url}/api/v1/billing/subscribe", json={"plan_id": "pro", "method": "stripe"}, headers=auth, timeout=10)
    assert plan.status_code == 201 and FakeStripe.requests[-1]["form"]["line_items[0][price_data][recurring][interval]"] == "month"
    subscribed = post_event(billing.url, {
        "id": f"evt_{uuid.uuid4().hex[:10]}",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_plan", "payment_status": "paid", "amount_total": 1500, "subscription": "sub_e2e1",
                            "metadata": {"payment_id": plan.json()["payment_id"]}}},
    })
    assert subscribed.json()["result"] == "fulfilled", subscribed.text
    overview = requests.get(f"{billing.url}/api/v1/billing", headers=auth, timeout=10).json()
    assert overview["plan"] == "pro" and overview["subscription"]["method"] == "stripe"
    canceled = requests.post(f"{billing.url}/api/v1/billing/cancel", headers=auth, timeout=10)
    assert canceled.status_code == 200 and canceled.json()["cancel_at_period_end"] is True, canceled.text
    assert FakeStripe.requests[-1]["path"] == "/v1/subscriptions/sub_e2e1"
    assert FakeStripe.requests[-1]["form"] == {"cancel_at_period_end": "true"}
    token = requests.post(f"{billing.url}/api/v1/billing/subscribe", json={"plan_id": "business", "method": "token"}, headers=auth, timeout=10)
    assert token.json()["amount"] == 50.15 and token.json()["discount_percent"] == 15


def test_promo_codes_credits_page_and_plans_in_the_browser(billing, browser):  # noqa: F811
    admin = admin_token(billing.url)
    code = f"E2E{uuid.uuid4().hex[:6].upper()}"
    created = requests.post(
        f"{billing.url}/api/v1/promo/create",
        json={"code": code, "credit_amount": 25, "max_uses": 10, "campaign": "e2e"},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    email = f"promo-{uuid.uuid4().hex[:6]}@example.com"
    signed_up(billing.url, email)
    sign_in(browser, billing.url, email, "a long enough password")

    browser.find_element(By.LINK_TEXT, "Credits").click()
    assert browser.find_element(By.ID, "credit-balance").text == "0"
    browser.find_element(By.ID, "promo-code").send_keys(code.lower())
    browser.find_element(By.ID, "promo-redeem").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "credit-balance"), "25"))
    assert "Promo code redeemed" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert f"promo:{code}" in browser.find_element(By.ID, "transaction-table").text
    chart = browser.find_element(By.CSS_SELECTOR, "#balance-chart svg.chart")
    title = browser.find_element(By.ID, chart.get_attribute("aria-labelledby").split()[0])
    assert "Balance" in title.get_attribute("textContent")
    assert browser.find_element(By.ID, "export-csv").get_attribute("href").endswith("/dashboard/credits/export.csv")
    browser.find_element(By.ID, "promo-code").send_keys(code)
    browser.find_element(By.ID, "promo-redeem").click()
    assert "already redeemed" in wait(browser).until(EC.presence_of_element_located((By.ID, "error-summary"))).text

    browser.find_element(By.LINK_TEXT, "Billing & plan").click()
    Select(browser.find_element(By.ID, "method-standard")).select_by_value("credits")
    browser.find_element(By.ID, "subscribe-standard").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "plan-name"), "standard"))
    assert browser.find_element(By.ID, "period-end").text

    browser.find_element(By.LINK_TEXT, "Affiliate Program").click()
    browser.find_element(By.ID, "affiliate-join").click()
    link = wait(browser).until(EC.presence_of_element_located((By.ID, "referral-link"))).text
    assert "/?ref=" in link
    browser.get(link.replace("http://127.0.0.1:8080", billing.url) if "127.0.0.1:8080" in link else link)
    assert browser.find_element(By.ID, "referral_code").get_attribute("value") == link.split("ref=")[1]


def test_admin_pages_grant_and_resellers_and_the_ledger_verifies(billing, browser):  # noqa: F811
    email = f"customer-{uuid.uuid4().hex[:6]}@example.com"
    signed_up(billing.url, email)
    sign_in(browser, billing.url, "admin@dcdn.test", "e2e operator secret")
    browser.get(f"{billing.url}/dashboard/admin/credits")
    browser.find_element(By.ID, "grant-users").send_keys(email)
    browser.find_element(By.ID, "grant-amount").send_keys("12.5")
    browser.find_element(By.ID, "grant-campaign").send_keys("browser_grant")
    browser.find_element(By.ID, "grant-submit").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "Credits granted"))
    browser.find_element(By.ID, "promo-new-code").send_keys("ADMINPAGE1")
    browser.find_element(By.ID, "promo-new-amount").send_keys("5")
    browser.find_element(By.ID, "promo-create").click()
    # The page before the click may already list codes: wait for the new one, not any table.
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "promo-table"), "ADMINPAGE1"))

    browser.get(f"{billing.url}/dashboard/admin/resellers")
    browser.find_element(By.ID, "reseller-user").send_keys(email)
    browser.find_element(By.ID, "reseller-company").send_keys("Browser Hosting")
    browser.find_element(By.ID, "reseller-submit").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "reseller-table"), "Browser Hosting"))
    assert "gold" in browser.find_element(By.ID, "tier-table").text

    verified = subprocess.run(
        [str(DCDN), "admin", "verify-ledger", "--data-dir", billing.data_dir], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Ledger consistent" in verified.stdout
