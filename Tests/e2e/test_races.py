"""Money and limits under real concurrency: 10-20 requests released together by a barrier, on
SQLite and on PostgreSQL (DCDN_TEST_DATABASE_URL, as scripts/with-postgres.sh provides), where
nothing serialises writers for the product. Each race asserts the exact outcome: how many
succeeded, the others' error codes, balances to the credit, rows created."""

import calendar
import collections
import datetime
import json
import threading
import uuid

import requests

from test_billing import stripe_signature
from test_billing_failures import (  # noqa: F401 (fixtures)
    Stripe, buy, payment_of, platform, session_event, smtp, stripe_port, subscribe,
)

PARALLEL = 16


def at_once(platform, calls):
    """Runs each call (given a requests.Session) in a thread of its own; the threads connect first
    and are released together by a barrier. Returns (status, JSON body) of each."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index):
        session = requests.Session()
        session.get(f"{platform.instance.url}/readyz", timeout=30)  # the connection is open before the barrier
        barrier.wait()
        try:
            response = calls[index](session)
            try:
                body = response.json()
            except ValueError:
                body = {"raw": response.text}
            results[index] = (response.status_code, body)
        except requests.RequestException as error:
            results[index] = ("error", {"raw": repr(error)})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def outcome(results):
    """How many of each (status, code): e.g. {(201, None): 3, (403, "plan_limit_reached"): 13}."""
    return dict(collections.Counter((status, body.get("code") if status not in (200, 201) else None) for status, body in results))


def post(url, body=None, headers=None, data=None):
    if data is not None:
        return lambda session: session.post(url, data=data, headers=headers, timeout=60)
    return lambda session: session.post(url, json=body, headers=headers, timeout=60)


def signed(event):
    """A webhook delivery of `event` as Stripe signs it: (payload, headers)."""
    payload = json.dumps(event).encode()
    return payload, {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(payload)}


# MARK: Plan limits


def test_parallel_domains_stop_at_the_plan_limit(platform):
    user = platform.user("race-domains")
    names = [f"race-{uuid.uuid4().hex[:10]}.example" for _ in range(PARALLEL)]
    domains = platform.api("cdn/domains")
    results = at_once(platform, [post(domains, {"domain": name, "origin_ip": "127.0.0.1:9", "ssl_mode": "off"}, user["headers"])
                                 for name in names])
    # Free allows 3 domains (technical guide §16).
    assert outcome(results) == {(201, None): 3, (403, "plan_limit_reached"): PARALLEL - 3}, outcome(results)
    listed = requests.get(platform.api("cdn/domains"), params={"limit": 500}, headers=user["headers"], timeout=10).json()
    assert listed["total"] == 3, listed


# MARK: Promo codes


def create_promo(platform, **fields):
    code = f"RACE{uuid.uuid4().hex[:8].upper()}"
    created = requests.post(platform.api("promo/create"), json={"code": code, **fields}, headers=platform.admin, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()


def promo_uses(platform, promo_id):
    listed = requests.get(platform.api("promo/list"), params={"limit": 500}, headers=platform.admin, timeout=10).json()
    return next(p for p in listed["promo_codes"] if p["id"] == promo_id)["uses"]


def test_parallel_redemptions_by_one_user_stop_at_the_per_user_limit(platform):
    promo = create_promo(platform, credit_amount=2.5, per_user_limit=3)
    user = platform.user("race-promo")
    results = at_once(platform, [post(platform.api("promo/redeem"), {"code": promo["code"]}, user["headers"]) for _ in range(PARALLEL)])
    assert outcome(results) == {(200, None): 3, (409, "promo_code_already_redeemed"): PARALLEL - 3}, outcome(results)
    assert sorted(body["new_balance"] for status, body in results if status == 200) == [2.5, 5, 7.5]
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"], balance["active_grants"]) == (7.5, 7.5, 3)
    assert platform.transactions(user)["total"] == 3
    assert promo_uses(platform, promo["id"]) == 3


def test_parallel_redemptions_each_with_its_own_idempotency_key_all_succeed(platform):
    """Sixteen customers redeem one code at once, each sending an Idempotency-Key as a careful
    client does: every one gets the credits."""
    promo = create_promo(platform, credit_amount=3.5)
    users = [platform.user("race-promo-keys") for _ in range(PARALLEL)]
    redeem = platform.api("promo/redeem")
    results = at_once(platform, [post(redeem, {"code": promo["code"]}, {**user["headers"], "Idempotency-Key": uuid.uuid4().hex})
                                 for user in users])
    assert outcome(results) == {(200, None): PARALLEL}, outcome(results)
    assert [platform.balance(user)["balance"] for user in users] == [3.5] * PARALLEL
    assert promo_uses(platform, promo["id"]) == PARALLEL


def test_parallel_redemptions_by_many_users_stop_at_max_uses_and_per_user_limits(platform):
    promo = create_promo(platform, credit_amount=1.25, max_uses=5, per_user_limit=2)
    users = [platform.user("race-promo-many") for _ in range(4)]
    calls = [post(platform.api("promo/redeem"), {"code": promo["code"]}, user["headers"]) for user in users for _ in range(4)]
    results = at_once(platform, calls)
    counts = outcome(results)
    assert counts[(200, None)] == 5, counts
    assert set(counts) <= {(200, None), (409, "promo_code_used_up"), (409, "promo_code_already_redeemed")}, outcome(results)
    balances = [platform.balance(user)["balance"] for user in users]
    assert sum(balances) == 6.25 and all(b in (0, 1.25, 2.5) for b in balances), balances
    assert promo_uses(platform, promo["id"]) == 5


# MARK: Webhooks


def test_one_webhook_delivered_many_times_at_once_credits_once(platform):
    user = platform.user("race-webhook")
    bought = buy(platform, user, package="standard")
    event = session_event("checkout.session.completed", bought["session_id"], bought["payment_id"], payment_status="paid",
                          amount_total=5000)
    payload, headers = signed(event)
    results = at_once(platform, [post(platform.api("billing/stripe/webhook"), data=payload, headers=headers) for _ in range(PARALLEL)])
    assert all(status == 200 for status, _ in results), outcome(results)
    answers = collections.Counter(body["result"] for _, body in results)
    assert answers == {"fulfilled": 1, "duplicate": PARALLEL - 1}, answers
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"]) == (50, 50)
    assert [t["amount"] for t in platform.transactions(user)["transactions"]] == [50]
    assert payment_of(platform, user, bought["payment_id"])["status"] == "paid"


def test_different_events_for_one_payment_at_once_deliver_it_once(platform):
    """Stripe sends checkout.session.completed and, for delayed methods, async_payment_succeeded;
    retries of either may overlap. The payment is delivered once whatever the event IDs, and every
    delivery is answered 200 (a 5xx would only make Stripe retry). Three payments, three races."""
    for _ in range(3):
        user = platform.user("race-events")
        bought = buy(platform, user, package="pro")
        calls = []
        for index in range(PARALLEL):
            kind = "checkout.session.completed" if index % 2 else "checkout.session.async_payment_succeeded"
            event = session_event(kind, bought["session_id"], bought["payment_id"], payment_status="paid", amount_total=10000)
            payload, headers = signed(event)
            calls.append(post(platform.api("billing/stripe/webhook"), data=payload, headers=headers))
        results = at_once(platform, calls)
        assert all(status == 200 for status, _ in results), outcome(results)
        answers = collections.Counter(body["result"] for _, body in results)
        assert answers == {"fulfilled": 1, "already fulfilled": PARALLEL - 1}, answers
        assert platform.balance(user)["balance"] == 100
        assert platform.transactions(user)["total"] == 1


def test_one_renewal_invoice_delivered_many_times_at_once_extends_the_plan_by_one_month(platform):
    user = platform.user("race-invoice")
    started = subscribe(platform, user, "pro", "stripe")
    assert started.status_code == 201, started.text
    subscription = f"sub_{uuid.uuid4().hex[:14]}"
    first = platform.webhook(session_event("checkout.session.completed", "cs_race_invoice", started.json()["payment_id"],
                                           mode="subscription", payment_status="paid", amount_total=1500, subscription=subscription))
    assert first.json()["result"] == "fulfilled", first.text
    period_end = platform.billing(user)["subscription"]["current_period_end"]
    invoice = {"id": f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "type": "invoice.paid",
               "data": {"object": {"id": f"in_{uuid.uuid4().hex[:14]}", "object": "invoice", "billing_reason": "subscription_cycle",
                                   "subscription": subscription, "amount_paid": 1500, "status": "paid"}}}
    payload, headers = signed(invoice)
    results = at_once(platform, [post(platform.api("billing/stripe/webhook"), data=payload, headers=headers) for _ in range(PARALLEL)])
    answers = collections.Counter(body.get("result") for _, body in results)
    assert answers == {"renewed": 1, "duplicate": PARALLEL - 1}, outcome(results)
    overview = platform.billing(user)
    renewals = [p for p in overview["payments"] if p["renewal"]]
    assert [(p["status"], p["amount"]) for p in renewals] == [("paid", 15)]
    assert overview["subscription"]["current_period_end"] == one_month_after(period_end)


def one_month_after(rfc3339):
    """The same day and time a calendar month later (the renewal's arithmetic), as RFC 3339."""
    moment = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    year, month = (moment.year + moment.month // 12, moment.month % 12 + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).strftime("%Y-%m-%dT%H:%M:%SZ")


# MARK: Payouts


def test_two_payout_requests_at_once_pay_once(platform):
    affiliate = platform.user("race-affiliate")
    joined = requests.post(platform.api("affiliate/join"), headers=affiliate["headers"], timeout=10)
    assert joined.status_code == 200, joined.text
    referred = platform.user("race-referred", referral_code=joined.json()["code"])
    bought = buy(platform, referred, amount=130)
    paid = platform.webhook(session_event("checkout.session.completed", bought["session_id"], bought["payment_id"], payment_status="paid",
                                          amount_total=13000))
    assert paid.json()["result"] == "fulfilled", paid.text
    board = requests.get(platform.api("affiliate/dashboard"), headers=affiliate["headers"], timeout=10).json()
    assert board["available_balance"] == 104  # 80 % of 130

    results = at_once(platform, [post(platform.api("affiliate/request-payout"), headers=affiliate["headers"]) for _ in range(PARALLEL)])
    assert outcome(results) == {(201, None): 1, (409, "payout_below_minimum"): PARALLEL - 1}, outcome(results)
    assert [body["amount"] for status, body in results if status == 201] == [104]
    board = requests.get(platform.api("affiliate/dashboard"), headers=affiliate["headers"], timeout=10).json()
    assert board["available_balance"] == 0 and [p["amount"] for p in board["payouts"]] == [104]
    queue = requests.get(platform.api("affiliate/admin/payouts"), params={"limit": 500}, headers=platform.admin, timeout=10).json()
    assert [p["amount"] for p in queue["payouts"] if p["affiliate_user_id"] == affiliate["id"]] == [104]


# MARK: One Idempotency-Key, many requests


def settled(results):
    """Every answer is the stored one (201) or 'still being processed' (409); at least one ran."""
    counts = outcome(results)
    assert set(counts) <= {(201, None), (409, "idempotency_in_progress")} and counts.get((201, None), 0) >= 1, counts
    return [body for status, body in results if status == 201]


def test_one_idempotency_key_buys_credits_once(platform):
    user = platform.user("race-key-buy")
    headers = {**user["headers"], "Idempotency-Key": f"buy-{uuid.uuid4().hex}"}
    results = at_once(platform, [post(platform.api("credits/buy"), {"package": "starter"}, headers) for _ in range(PARALLEL)])
    answers = settled(results)
    assert len({body["payment_id"] for body in answers}) == 1, answers
    payments = platform.billing(user)["payments"]
    assert len(payments) == 1 and payments[0]["id"] == answers[0]["payment_id"], payments
    with Stripe.lock:
        sessions = [r for r in Stripe.requests if r["path"] == "/v1/checkout/sessions" and r["form"].get("customer_email") == user["email"]]
    assert len(sessions) == 1, sessions
    again = requests.post(platform.api("credits/buy"), json={"package": "starter"}, headers=headers, timeout=30)
    assert again.status_code == 201 and again.json()["payment_id"] == answers[0]["payment_id"]


def test_one_idempotency_key_pays_a_plan_with_credits_once(platform):
    user = platform.user("race-key-plan")
    platform.grant(user, 20)
    headers = {**user["headers"], "Idempotency-Key": f"plan-{uuid.uuid4().hex}"}
    results = at_once(platform, [post(platform.api("billing/subscribe"), {"plan_id": "standard", "method": "credits"}, headers)
                       for _ in range(PARALLEL)])
    answers = settled(results)
    assert len({body["payment_id"] for body in answers}) == 1, answers
    assert platform.balance(user)["balance"] == 15
    assert sorted(t["amount"] for t in platform.transactions(user)["transactions"]) == [-5, 20]
    assert len(platform.billing(user)["payments"]) == 1


def test_one_idempotency_key_on_a_refused_call_answers_the_refusal_or_in_progress(platform):
    """The first request with the key is refused (402: no credits) and stores nothing; the ones
    racing it get that refusal themselves or 409 idempotency_in_progress, never a database error.
    A few rounds, since the window (between a failed insert of the key and the look-up of the
    earlier record, which the refused call has just deleted) is narrow."""
    for _ in range(5):
        user = platform.user("race-key-refused")
        headers = {**user["headers"], "Idempotency-Key": f"refused-{uuid.uuid4().hex}"}
        results = at_once(platform, [post(platform.api("billing/subscribe"), {"plan_id": "pro", "method": "credits"}, headers)
                           for _ in range(PARALLEL)])
        counts = outcome(results)
        assert set(counts) <= {(402, "insufficient_credits"), (409, "idempotency_in_progress")}, counts
        assert platform.billing(user)["plan"] == "free" and platform.balance(user)["balance"] == 0


def test_one_idempotency_key_grants_once(platform):
    user = platform.user("race-key-grant")
    headers = {**platform.admin, "Idempotency-Key": f"grant-{uuid.uuid4().hex}"}
    grant = platform.api("credits/grant")
    results = at_once(platform, [post(grant, {"user_id": user["id"], "amount": 33.33}, headers) for _ in range(PARALLEL)])
    answers = settled(results)
    assert len({body["transaction_id"] for body in answers}) == 1, answers
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_granted"], balance["active_grants"]) == (33.33, 33.33, 1)


def test_one_idempotency_key_requests_one_payout(platform):
    affiliate = platform.user("race-key-affiliate")
    code = requests.post(platform.api("affiliate/join"), headers=affiliate["headers"], timeout=10).json()["code"]
    referred = platform.user("race-key-referred", referral_code=code)
    bought = buy(platform, referred, amount=250)
    assert platform.webhook(session_event("checkout.session.completed", bought["session_id"], bought["payment_id"], payment_status="paid",
                                          amount_total=25000)).json()["result"] == "fulfilled"
    headers = {**affiliate["headers"], "Idempotency-Key": f"payout-{uuid.uuid4().hex}"}
    results = at_once(platform, [post(platform.api("affiliate/request-payout"), headers=headers) for _ in range(PARALLEL)])
    answers = settled(results)
    assert {(body["id"], body["amount"]) for body in answers} == {(answers[0]["id"], 200)}, answers
    board = requests.get(platform.api("affiliate/dashboard"), headers=affiliate["headers"], timeout=10).json()
    assert [p["amount"] for p in board["payouts"]] == [200] and board["available_balance"] == 0


# MARK: The ledger under parallel spends and refunds


def test_parallel_plan_purchases_never_overdraw_the_balance(platform):
    user = platform.user("race-spend")
    platform.grant(user, 12)
    results = at_once(platform, [post(platform.api("billing/subscribe"), {"plan_id": "standard", "method": "credits"}, user["headers"])
                       for _ in range(PARALLEL)])
    assert outcome(results) == {(201, None): 2, (402, "insufficient_credits"): PARALLEL - 2}, outcome(results)
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_used"]) == (2, 10)
    assert len([p for p in platform.billing(user)["payments"] if p["status"] == "paid"]) == 2


def test_parallel_partial_refunds_never_refund_more_than_was_spent(platform):
    user = platform.user("race-refund")
    platform.grant(user, 15)
    subscribed = subscribe(platform, user, "pro", "credits")
    assert subscribed.status_code == 201, subscribed.text
    spend = next(t for t in platform.transactions(user)["transactions"] if t["tx_type"] == "spend")
    body = {"user_id": user["id"], "transaction_id": spend["id"], "amount": 4, "reason": "race"}
    results = at_once(platform, [post(platform.api("credits/refund"), body, platform.admin) for _ in range(PARALLEL)])
    assert outcome(results) == {(200, None): 3, (422, "validation_error"): PARALLEL - 3}, outcome(results)
    balance = platform.balance(user)
    assert (balance["balance"], balance["total_used"]) == (12, 3)


def test_the_ledger_verifies_after_the_races(platform):
    platform.stop()
    try:
        platform.verify_ledger()
    finally:
        platform.start()
