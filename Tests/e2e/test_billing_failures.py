"""Billing when it goes wrong, end to end on a real `dcdn coordinator` (SQLite, and PostgreSQL when
DCDN_TEST_DATABASE_URL is set) with the Stripe stand-in of test_billing.py and a real SMTP relay
for verification mail: Checkout sessions that fail or expire, a plan that lapses through its grace
period back to Free (and the Free limits that follow), admin refunds, and webhooks that are not
signed. The renewal job runs once when the coordinator starts; the tests move a subscription's
stored period into the past with the coordinator stopped and start it again, so nothing waits on
the wall clock."""

import contextlib
import datetime
import email
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

import dns.message
import dns.rcode
import pytest
import requests

from conftest import DCDN, Instance, refusing_resolver, serve_http
from test_billing import STRIPE_KEY, WEBHOOK_SECRET, FakeStripe, stripe_signature
from test_smtp_relay import Inbox, Relay

ADMIN = ("billing-admin@example.com", "billing admin password")
PASSWORD = "a long enough password"
GRACE_HOURS = 1


class Stripe(FakeStripe):
    """test_billing's stand-in with a request log of its own; Checkout for a customer in `down`
    fails as Stripe does in an outage (HTTP 500 with an `api_error`)."""

    requests = []
    lock = threading.Lock()
    down = set()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.rfile = io.BytesIO(body)  # the parent reads the body again
        form = dict(urllib.parse.parse_qsl(body.decode()))
        if form.get("customer_email") in self.down:
            with self.lock:
                self.requests.append({"path": self.path, "headers": dict(self.headers), "form": form, "failed": True})
            return self._answer(500, {"error": {"type": "api_error", "message": "An unknown error occurred"}})
        super().do_POST()

    @classmethod
    def sessions_for(cls, payment_id):
        with cls.lock:
            return [r for r in cls.requests if r["path"] == "/v1/checkout/sessions" and r["form"].get("metadata[payment_id]") == payment_id]


def engines():
    """SQLite always; PostgreSQL when scripts/with-postgres.sh (or CI) provides one."""
    marks = pytest.mark.skipif(not os.environ.get("DCDN_TEST_DATABASE_URL"), reason="needs the test PostgreSQL (scripts/with-postgres.sh)")
    return ["sqlite", pytest.param("postgres", marks=marks)]


class Platform:
    """A `dcdn coordinator` that can be stopped and started again on the same data, with Stripe's
    stand-in, an SMTP inbox and an admin made by `dcdn admin create-user`."""

    def __init__(self, engine, stripe_port, inbox, smtp_port):
        self.engine = engine
        self.inbox = inbox
        self.data_dir = tempfile.mkdtemp(prefix="dcdn-billing-")
        self.args = ["--host", "127.0.0.1", "--data-dir", self.data_dir]
        self.database_url = None
        if engine == "postgres":
            admin_url = os.environ["DCDN_TEST_DATABASE_URL"]
            name = f"e2e_billing_{uuid.uuid4().hex[:10]}"
            subprocess.run(["psql", admin_url, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
            self.database_url = admin_url.rsplit("/", 1)[0] + "/" + name
            self.args += ["--database-url", self.database_url]
        self.env = {
            "DCDN_SECRET_KEY": "b" * 40,
            "DCDN_STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
            "DCDN_STRIPE_SECRET_KEY": STRIPE_KEY,
            "DCDN_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DCDN_CREDITS_PURCHASABLE": "true",
            "DCDN_CREDIT_GRACE_HOURS": str(GRACE_HOURS),
            # Limits that protect accounts are not under test here; the races send bursts.
            "DCDN_RATE_LIMIT_API_BURST": "100000", "DCDN_RATE_LIMIT_API_RATE": "100000",
            "DCDN_RATE_LIMIT_PROMO_REDEEM": "100000/60",
            "DCDN_SMTP_RELAY_HOST": "127.0.0.1", "DCDN_SMTP_RELAY_PORT": str(smtp_port), "DCDN_SMTP_RELAY_TLS": "off",
            # Nothing leaves loopback: no ACME CA, delegation checks asked of a resolver that refuses.
            "DCDN_ACME_DIRECTORY_URL": "", "DCDN_DELEGATION_RESOLVER": refusing_resolver(),
            "DCDN_DELEGATION_CHECK_INTERVAL": "86400", "DCDN_PRIVATE_ORIGINS": "127.0.0.0/8",
        }
        created = subprocess.run(
            [str(DCDN), "admin", "create-user", "--email", ADMIN[0], "--password", ADMIN[1], "--role", "admin", *self.args[2:]],
            capture_output=True, text=True, timeout=60, env={**os.environ, "DCDN_BCRYPT_COST": "4", **self.env},
        )
        assert created.returncode == 0, created.stdout + created.stderr
        self.instance = None
        self.start()
        self.admin = {"Authorization": f"Bearer {self.login(ADMIN[0], ADMIN[1])}"}

    def api(self, path):
        return f"{self.instance.url}/api/v1/{path}"

    def start(self):
        self.instance = Instance("coordinator", self.args, env=self.env)

    def stop(self):
        assert self.instance.stop() == 0, self.instance.output

    def login(self, email, password=PASSWORD):
        response = requests.post(self.api("auth/login"), json={"email": email, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def user(self, prefix="user", referral_code=None):
        """A new verified customer, signed in: {"email", "id", "headers"}."""
        address = f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": address, "password": PASSWORD}
        if referral_code:
            body["referral_code"] = referral_code
        registered = requests.post(self.api("auth/register"), json=body, timeout=30)
        assert registered.status_code == 201 and registered.json()["verification_sent"] is True, registered.text
        mail = email.message_from_bytes(self.inbox.wait_for(address).original_content).get_payload(decode=True).decode()
        token = re.search(r"verify-email\?token=(\S+)", mail).group(1)
        assert requests.get(self.api("auth/verify-email"), params={"token": token}, timeout=10).status_code == 200
        headers = {"Authorization": f"Bearer {self.login(address)}"}
        me = requests.get(self.api("auth/me"), headers=headers, timeout=10)
        assert me.status_code == 200, me.text
        return {"email": address, "id": me.json()["id"], "headers": headers}

    def grant(self, user, amount):
        response = requests.post(self.api("credits/grant"), json={"user_id": user["id"], "amount": amount}, headers=self.admin, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def balance(self, user):
        response = requests.get(self.api("credits/balance"), headers=user["headers"], timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def transactions(self, user):
        response = requests.get(self.api("credits/transactions"), params={"limit": 500}, headers=user["headers"], timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def billing(self, user):
        response = requests.get(self.api("billing"), headers=user["headers"], timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def webhook(self, event, **signature):
        payload = json.dumps(event).encode()
        return requests.post(
            self.api("billing/stripe/webhook"), data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload, **signature)}, timeout=30,
        )

    def sql(self, statement, *params):
        """Runs one statement on the platform's database (the coordinator stopped for writes)."""
        if self.engine == "sqlite":
            with contextlib.closing(sqlite3.connect(f"{self.data_dir}/dcdn.sqlite")) as db, db:
                return db.execute(statement, params).fetchall()
        # psql's variables keep the values out of the statement text.
        command = ["psql", self.database_url, "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]
        for index, value in enumerate(params):
            command += ["-v", f"p{index}={value}"]
        text = statement
        for index in range(len(params)):
            text = text.replace("?", f":'p{index}'", 1)
        done = subprocess.run(command, input=text, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return [tuple(line.split("|")) for line in done.stdout.splitlines() if line]

    def set_subscription(self, user, period_end, grace_ends=None):
        """Moves a subscription's stored times (Unix seconds): how the renewal job sees time pass."""
        if self.engine == "sqlite":
            changed = self.sql("UPDATE subscriptions SET current_period_end = ?, grace_ends_at = ? WHERE user_id = ? RETURNING user_id",
                               float(period_end), None if grace_ends is None else float(grace_ends), user["id"].upper())
        elif grace_ends is None:
            changed = self.sql("UPDATE subscriptions SET current_period_end = to_timestamp(?), grace_ends_at = NULL "
                               "WHERE user_id = ?::uuid RETURNING user_id", period_end, user["id"])
        else:
            changed = self.sql("UPDATE subscriptions SET current_period_end = to_timestamp(?), grace_ends_at = to_timestamp(?) "
                               "WHERE user_id = ?::uuid RETURNING user_id", period_end, grace_ends, user["id"])
        assert len(changed) == 1, changed

    def restart(self):
        """Stops and starts the coordinator: the renewal job's first round runs at start."""
        self.stop()
        self.start()

    def verify_ledger(self):
        database = ["--database-url", self.database_url] if self.database_url else []
        verified = subprocess.run([str(DCDN), "admin", "verify-ledger", "--data-dir", self.data_dir, *database],
                                  capture_output=True, text=True, timeout=60, env={**os.environ, **self.env})
        assert verified.returncode == 0 and "Ledger consistent" in verified.stdout, verified.stdout + verified.stderr

    def close(self):
        if self.instance is not None and self.instance.process.poll() is None:
            self.stop()


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Relay(inbox)
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def stripe_port():
    with serve_http(Stripe) as port:
        yield port


@pytest.fixture(scope="module", params=engines())
def platform(request, smtp, stripe_port):
    instance = Platform(request.param, stripe_port, smtp[0], smtp[1])
    yield instance
    instance.close()


def session_event(kind, session_id, payment_id, **fields):
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "type": kind,
        "data": {"object": {"id": session_id, "object": "checkout.session", "client_reference_id": payment_id,
                            "metadata": {"payment_id": payment_id}, **fields}},
    }


def buy(platform, user, amount=None, package=None):
    body = {"package": package} if package else {"package": "custom", "amount": amount}
    response = requests.post(platform.api("credits/buy"), json=body, headers=user["headers"], timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def subscribe(platform, user, plan, method):
    return requests.post(platform.api("billing/subscribe"), json={"plan_id": plan, "method": method}, headers=user["headers"], timeout=30)


def payment_of(platform, user, payment_id):
    payments = [p for p in platform.billing(user)["payments"] if p["id"] == payment_id]
    assert len(payments) == 1, platform.billing(user)["payments"]
    return payments[0]


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def eventually(read, done, timeout=20):
    """Polls read() until done(value) holds (a deadline, not a fixed sleep); returns the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(0.1)


def subscribe_by_card(platform, user, plan="pro", cents=1500):
    """A plan paid through Checkout and confirmed by Stripe's webhook; returns the Stripe subscription ID."""
    started = subscribe(platform, user, plan, "stripe")
    assert started.status_code == 201, started.text
    subscription = f"sub_{uuid.uuid4().hex[:14]}"
    event = session_event("checkout.session.completed", f"cs_{uuid.uuid4().hex[:12]}", started.json()["payment_id"],
                          mode="subscription", payment_status="paid", amount_total=cents, subscription=subscription)
    delivered = platform.webhook(event)
    assert delivered.status_code == 200 and delivered.json()["result"] == "fulfilled", delivered.text
    return subscription


def new_domain(platform, user):
    return requests.post(platform.api("cdn/domains"), json={"domain": f"lapse-{uuid.uuid4().hex[:8]}.example", "origin_ip": "127.0.0.1:9",
                                                            "ssl_mode": "off"}, headers=user["headers"], timeout=30)


def domain_usage(platform, user):
    limits = requests.get(platform.api("account/limits"), headers=user["headers"], timeout=10).json()
    row = next(row for row in limits["usage"] if row["limit"] == "domains")
    return limits["plan"]["id"], row.get("maximum"), row["used"]


# MARK: Checkout sessions that do not pay


def test_a_bank_debit_that_fails_grants_nothing(platform):
    user = platform.user("debit")
    bought = buy(platform, user, package="standard")
    session = bought["session_id"]
    # A bank debit completes the session unpaid and confirms later.
    pending = platform.webhook(session_event("checkout.session.completed", session, bought["payment_id"], payment_status="unpaid",
                                             amount_total=5000))
    assert pending.status_code == 200 and pending.json()["result"] == "awaiting payment", pending.text
    assert payment_of(platform, user, bought["payment_id"])["status"] == "pending"
    failure = session_event("checkout.session.async_payment_failed", session, bought["payment_id"], payment_status="unpaid",
                            amount_total=5000)
    failed = platform.webhook(failure)
    assert failed.status_code == 200 and failed.json()["result"] == "failed", failed.text
    assert platform.webhook(failure).json()["result"] == "duplicate"
    payment = payment_of(platform, user, bought["payment_id"])
    assert payment["status"] == "failed" and payment.get("checkout_url") is None and payment.get("paid_at") is None
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"], balance["active_grants"]) == (0, 0, 0)
    assert platform.transactions(user)["total"] == 0
    # A failed plan payment leaves the plan as it was.
    started = subscribe(platform, user, "pro", "stripe")
    assert started.status_code == 201, started.text
    plan_failure = session_event("checkout.session.async_payment_failed", "cs_plan_debit", started.json()["payment_id"],
                                 mode="subscription", payment_status="unpaid", amount_total=1500, subscription="sub_never")
    assert platform.webhook(plan_failure).json()["result"] == "failed"
    overview = platform.billing(user)
    assert overview["plan"] == "free" and overview.get("subscription") is None, overview
    assert sorted(p["status"] for p in overview["payments"]) == ["failed", "failed"]


def test_an_expired_checkout_session_fails_the_payment_and_cannot_undo_a_paid_one(platform):
    user = platform.user("expired")
    abandoned = buy(platform, user, amount=12.34)
    expired = platform.webhook(session_event("checkout.session.expired", abandoned["session_id"], abandoned["payment_id"],
                                             status="expired", payment_status="unpaid", amount_total=1234))
    assert expired.status_code == 200 and expired.json()["result"] == "failed", expired.text
    assert payment_of(platform, user, abandoned["payment_id"])["status"] == "failed"
    assert platform.balance(user)["balance"] == 0

    paid = buy(platform, user, amount=20)
    completed = platform.webhook(session_event("checkout.session.completed", paid["session_id"], paid["payment_id"],
                                               payment_status="paid", amount_total=2000))
    assert completed.json()["result"] == "fulfilled", completed.text
    # Late or forged failure notices for a paid session change nothing.
    for kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        late = platform.webhook(session_event(kind, paid["session_id"], paid["payment_id"], payment_status="unpaid", amount_total=2000))
        assert late.status_code == 200 and late.json()["result"] == "ignored", late.text
    assert payment_of(platform, user, paid["payment_id"])["status"] == "paid"
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"]) == (20, 20)
    assert [t["amount"] for t in platform.transactions(user)["transactions"]] == [20]


def test_an_underpaid_session_is_refused_and_can_be_delivered_again(platform):
    user = platform.user("underpaid")
    bought = buy(platform, user, package="starter")
    event = session_event("checkout.session.completed", bought["session_id"], bought["payment_id"], payment_status="paid",
                          amount_total=999)
    short = platform.webhook(event)
    assert short.status_code == 422 and short.json()["code"] == "validation_error", short.text
    assert payment_of(platform, user, bought["payment_id"])["status"] == "pending"
    assert platform.balance(user)["balance"] == 0
    # The refused event is not remembered: Stripe's retry (same ID) with the right amount delivers.
    event["data"]["object"]["amount_total"] = 1000
    retried = platform.webhook(event)
    assert retried.status_code == 200 and retried.json()["result"] == "fulfilled", retried.text
    assert platform.balance(user)["balance"] == 10


def test_stripe_down_at_checkout_is_a_502_that_can_be_retried_with_the_same_key(platform):
    user = platform.user("stripe-down")
    Stripe.down.add(user["email"])
    key = f"buy-{uuid.uuid4().hex[:8]}"
    try:
        refused = requests.post(platform.api("credits/buy"), json={"package": "pro"}, headers={**user["headers"], "Idempotency-Key": key},
                                timeout=30)
        assert refused.status_code == 502 and refused.json()["code"] == "payment_provider_error", refused.text
    finally:
        Stripe.down.discard(user["email"])
    overview = platform.billing(user)
    assert [p["status"] for p in overview["payments"]] == ["failed"]
    # Failed calls store nothing under the key: the retry runs and gets a session.
    retried = requests.post(platform.api("credits/buy"), json={"package": "pro"}, headers={**user["headers"], "Idempotency-Key": key},
                            timeout=30)
    assert retried.status_code == 201 and retried.json()["checkout_url"], retried.text
    assert len(Stripe.sessions_for(retried.json()["payment_id"])) == 1
    assert sorted(p["status"] for p in platform.billing(user)["payments"]) == ["failed", "pending"]
    assert platform.balance(user)["balance"] == 0


# MARK: Webhooks that are not Stripe's


def test_unsigned_and_forged_webhooks_are_refused_and_do_not_use_up_the_event(platform):
    user = platform.user("unsigned")
    bought = buy(platform, user, package="starter")
    event = session_event("checkout.session.completed", bought["session_id"], bought["payment_id"], payment_status="paid",
                          amount_total=1000)
    payload = json.dumps(event).encode()
    url = platform.api("billing/stripe/webhook")
    forged = {
        "no header": {},
        "empty header": {"Stripe-Signature": ""},
        "malformed header": {"Stripe-Signature": "v1=deadbeef"},
        "wrong secret": {"Stripe-Signature": stripe_signature(payload, secret="whsec_attacker")},
        "stale": {"Stripe-Signature": stripe_signature(payload, timestamp=int(time.time()) - 3600)},
        "another body": {"Stripe-Signature": stripe_signature(payload.replace(b'"paid"', b'"paid" '))},
    }
    for name, headers in forged.items():
        answer = requests.post(url, data=payload, headers={"Content-Type": "application/json", **headers}, timeout=10)
        # docs/billing.md: a webhook that does not verify is 400 invalid_signature (Stripe's advice).
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_signature", (name, answer.status_code, answer.text)
    assert payment_of(platform, user, bought["payment_id"])["status"] == "pending"
    assert platform.balance(user)["balance"] == 0
    delivered = platform.webhook(event)
    assert delivered.status_code == 200 and delivered.json()["result"] == "fulfilled", delivered.text
    assert platform.balance(user)["balance"] == 10


def test_a_webhook_without_a_configured_secret_is_absent():
    bare = Instance("coordinator", ["--host", "127.0.0.1"], env={"DCDN_ACME_DIRECTORY_URL": "", "DCDN_SECRET_KEY": "w" * 40})
    try:
        answer = requests.post(f"{bare.url}/api/v1/billing/stripe/webhook", data=b"{}",
                               headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(b"{}")}, timeout=10)
        assert answer.status_code == 404 and answer.json()["code"] == "webhook_not_configured", answer.text
    finally:
        assert bare.stop() == 0


# MARK: Refunds


def test_admin_refunds_of_a_plan_paid_with_credits_are_exact_and_bounded(platform):
    user = platform.user("refund")
    other = platform.user("refund-other")
    platform.grant(user, 40)
    subscribed = subscribe(platform, user, "pro", "credits")
    assert subscribed.status_code == 201 and subscribed.json()["status"] == "paid", subscribed.text
    spend = next(t for t in platform.transactions(user)["transactions"] if t["tx_type"] == "spend")
    assert spend["amount"] == -15 and spend["balance_after"] == 25

    def refund(amount, user_id=user["id"], headers=platform.admin):
        body = {"user_id": user_id, "transaction_id": spend["id"], "reason": "plan refunded"}
        if amount is not None:
            body["amount"] = amount
        return requests.post(platform.api("credits/refund"), json=body, headers=headers, timeout=10)

    assert refund(5, headers=user["headers"]).status_code == 403
    assert refund(5, user_id=other["id"]).status_code == 404
    first = refund(4.99)
    assert first.status_code == 200 and first.json()["amount"] == 4.99 and first.json()["balance_after"] == 29.99, first.text
    too_much = refund(10.02)
    assert too_much.status_code == 422 and too_much.json()["code"] == "validation_error", too_much.text
    rest = refund(None)
    assert rest.status_code == 200 and rest.json()["amount"] == 10.01 and rest.json()["balance_after"] == 40, rest.text
    nothing_left = refund(None)
    assert nothing_left.status_code == 422, nothing_left.text
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"], balance["total_used"]) == (40, 40, 0)
    kinds = sorted((t["tx_type"], t["amount"]) for t in platform.transactions(user)["transactions"])
    assert kinds == [("grant", 40), ("refund", 4.99), ("refund", 10.01), ("spend", -15)]
    # A refund gives credits back; the plan that was bought stays (it is the operator's call to cancel it).
    assert platform.billing(user)["plan"] == "pro"


# MARK: Renewals that are not paid


def test_an_unpaid_card_plan_goes_into_grace_then_back_to_free(platform):
    user = platform.user("lapse")
    subscribe_by_card(platform, user)
    for _ in range(4):  # one more than Free allows
        created = new_domain(platform, user)
        assert created.status_code == 201, created.text
    assert domain_usage(platform, user) == ("pro", None, 4)
    assert len(platform.billing(user)["payments"]) == 1

    # The month ended half an hour ago and Stripe sent no invoice.paid: the plan goes into grace.
    period_end = int(time.time()) - 1800
    platform.stop()
    platform.set_subscription(user, period_end)
    platform.start()
    overview = eventually(lambda: platform.billing(user), lambda o: o["subscription"]["status"] != "active")
    assert overview["plan"] == "pro"
    assert overview["subscription"]["status"] == "grace"
    assert parse_time(overview["subscription"]["grace_ends_at"]).timestamp() == period_end + GRACE_HOURS * 3600
    assert parse_time(overview["subscription"]["current_period_end"]).timestamp() == period_end
    # During grace the plan still holds: a fifth domain is allowed.
    assert new_domain(platform, user).status_code == 201

    # Two hours later grace is over: the plan ends and Free's limits apply.
    platform.stop()
    platform.set_subscription(user, period_end - 7200, period_end - 7200 + GRACE_HOURS * 3600)
    platform.start()
    overview = eventually(lambda: platform.billing(user), lambda o: o["plan"] != "pro")
    assert overview["plan"] == "free"
    assert overview["subscription"]["status"] == "canceled"
    assert domain_usage(platform, user) == ("free", 3, 5)
    refused = new_domain(platform, user)
    assert refused.status_code == 403 and refused.json()["code"] == "plan_limit_reached", refused.text
    listed = requests.get(platform.api("cdn/domains"), headers=user["headers"], timeout=10).json()
    assert listed["total"] == 5  # nothing the customer made is deleted
    # Nothing was charged for the lapsed month, and there is no plan left to cancel.
    assert [(p["status"], p["renewal"]) for p in platform.billing(user)["payments"]] == [("paid", False)]
    canceled = requests.post(platform.api("billing/cancel"), headers=user["headers"], timeout=10)
    assert canceled.status_code == 409 and canceled.json()["code"] == "no_subscription", canceled.text


def test_a_credit_plan_renews_once_goes_into_grace_when_short_and_ends_at_its_close(platform):
    user = platform.user("credit-plan")
    platform.grant(user, 30)
    subscribed = subscribe(platform, user, "pro", "credits")
    assert subscribed.status_code == 201, subscribed.text
    assert platform.balance(user)["balance"] == 15

    # The month is over and 15 credits are there: the renewal takes exactly the price, once.
    period_end = int(time.time()) - 1800
    platform.stop()
    platform.set_subscription(user, period_end)
    platform.start()
    renewed = lambda o: parse_time(o["subscription"]["current_period_end"]).timestamp() > period_end  # noqa: E731
    overview = eventually(lambda: platform.billing(user), renewed)
    assert overview["plan"] == "pro" and overview["subscription"]["status"] == "active"
    assert parse_time(overview["subscription"]["current_period_end"]).timestamp() > period_end + 27 * 86400
    platform.restart()  # another round at once: nothing is due, nothing is charged again
    assert platform.balance(user)["balance"] == 0
    renewals = [p for p in platform.billing(user)["payments"] if p["renewal"]]
    assert [(p["status"], p["amount"], p["method"]) for p in renewals] == [("paid", 15, "credits")]
    assert sorted(t["amount"] for t in platform.transactions(user)["transactions"]) == [-15, -15, 30]

    # The next month ends with an empty balance: grace, the plan still in force, nothing taken.
    period_end = int(time.time()) - 1800
    platform.stop()
    platform.set_subscription(user, period_end)
    platform.start()
    overview = eventually(lambda: platform.billing(user), lambda o: o["subscription"]["status"] != "active")
    assert overview["subscription"]["status"] == "grace" and overview["plan"] == "pro"
    assert parse_time(overview["subscription"]["grace_ends_at"]).timestamp() == period_end + GRACE_HOURS * 3600
    assert platform.balance(user)["balance"] == 0

    # Grace runs out before the balance is topped up: back to Free, and a later top-up stays credits.
    platform.stop()
    platform.set_subscription(user, period_end - 7200, period_end - 7200 + GRACE_HOURS * 3600)
    platform.start()
    overview = eventually(lambda: platform.billing(user), lambda o: o["plan"] != "pro")
    assert overview["plan"] == "free" and overview["subscription"]["status"] == "canceled"
    platform.grant(user, 15)
    platform.restart()
    assert platform.billing(user)["plan"] == "free"
    assert platform.balance(user)["balance"] == 15
    assert len([p for p in platform.billing(user)["payments"] if p["renewal"]]) == 1


def test_a_credit_plan_in_grace_renews_when_the_balance_is_topped_up(platform):
    user = platform.user("topup")
    platform.grant(user, 5)
    subscribed = subscribe(platform, user, "standard", "credits")
    assert subscribed.status_code == 201, subscribed.text
    period_end = int(time.time()) - 600
    platform.stop()
    platform.set_subscription(user, period_end)
    platform.start()
    eventually(lambda: platform.billing(user), lambda o: o["subscription"]["status"] == "grace")
    platform.grant(user, 7.5)
    # The next round retries the renewal (grace began in the period's own item, so this retry is new).
    platform.restart()
    overview = eventually(lambda: platform.billing(user), lambda o: o["subscription"]["status"] == "active")
    assert overview["plan"] == "standard" and overview["subscription"].get("grace_ends_at") is None
    assert platform.balance(user)["balance"] == 2.5
    assert [(p["amount"], p["renewal"]) for p in platform.billing(user)["payments"] if p["renewal"]] == [(5, True)]


def test_the_ledger_verifies_after_the_failures(platform):
    platform.stop()
    try:
        platform.verify_ledger()
    finally:
        platform.start()
