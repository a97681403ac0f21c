"""Tenant isolation on every write, through the API and through every dashboard form: tenant B
aims each state-changing route at tenant A's domain, records, page rules, rate limits, firewall
rules, security settings, high-availability settings, certificate and API token. Another
tenant's ID is a 404 with the documented error shape, the same answer as an ID that exists
nowhere, and A then reads all of A's data back exactly as it was (it is read after every
attempt and compared with the reading before).

How the tables were derived (the two `..._is_covered_or_excused` tests fail on a write route
that is in none of them, so a new route needs a row here):
  * API: every POST/PUT/PATCH/DELETE operation of the served /api/v1/openapi.json (which
    test_api_contract keeps equal to the router), cross-checked against `group.post(`,
    `.patch(`, `.delete(`, `.put(` in Sources/Coordinator/<Area>/*Controller.swift. Operations
    whose path or body names a customer-owned object (domain ID or name, record, page rule,
    rate limit, firewall rule, API token) are in API_CASES; the operator's routes (role-gated:
    a customer gets 403 whatever the ID) in ADMIN_API_CASES; those that act only on the caller,
    or on no account, in API_NOT_TENANT_SCOPED with the reason.
  * Dashboard: every `dashboard.post(` / `router.post(` in Sources/Coordinator (the *Dashboard
    types and the dashboard halves of AdminController.swift and PlansController.swift; forms
    are not in the OpenAPI document). Forms that name a customer-owned object are in
    DASHBOARD_CASES, the operator's in ADMIN_DASHBOARD_CASES, the rest in
    DASHBOARD_NOT_TENANT_SCOPED.
A route that takes a child ID (record, rule) is tried twice: under A's domain ID, and under B's
own domain ID with A's child ID (a check of the parent alone must not let it through). Routes
that take a domain name get A's name. Names also travel in B's own requests (page-rule
patterns, purge URLs, zone files, a new domain named inside A's zone): those are refused too.

Everything runs against a `dcdn dev` of this module's own, on domains nobody else uses.
"""

import re
import uuid

import pytest
import requests

from conftest import ROOT, Instance, admin_token, signed_up
from test_dns import dig, wait_for

PASSWORD = "a long enough password"
A_API_ADDRESS = "203.0.113.20"


@pytest.fixture(scope="module")
def iso():
    instance = Instance(
        "dev",
        env={
            # Every case reads the owner's data before and after: no API burst limit here.
            "DCDN_RATE_LIMIT_API_BURST": "100000",
            "DCDN_RATE_LIMIT_API_RATE": "100000",
            # The delegation check stamps every pending domain it looks at (its updated_at moves)
            # and asks the machine's resolver: here it runs once, at start, before any domain
            # exists, and asks a loopback port where nothing answers. The owner's data then
            # changes only when someone changes it.
            "DCDN_DELEGATION_CHECK_INTERVAL": "86400",
        },
    )
    yield instance
    assert instance.stop() == 0, instance.output


class Client(requests.Session):
    """A keep-alive session that sends `token` (if any), with a timeout on every request."""

    def __init__(self, token=None):
        super().__init__()
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, **kwargs)


def created(response):
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


@pytest.fixture(scope="module")
def world(iso):
    """Tenant A with a domain full of things, tenant B with a domain of its own, the operator."""
    url = iso.url
    api = f"{url}/api/v1"
    a_email = f"iso-a-{uuid.uuid4().hex[:8]}@example.com"
    b_email = f"iso-b-{uuid.uuid4().hex[:8]}@example.com"
    a, b = Client(signed_up(url, a_email)), Client(signed_up(url, b_email))
    admin = Client(admin_token(url))

    a_name = f"iso-a-{uuid.uuid4().hex[:10]}.example"
    b_name = f"iso-b-{uuid.uuid4().hex[:10]}.example"
    a_domain = created(a.post(f"{api}/cdn/domains", json={"domain": a_name, "origin_ip": "203.0.113.10"}))
    b_domain = created(b.post(f"{api}/cdn/domains", json={"domain": b_name, "origin_ip": "203.0.113.11"}))
    A = f"{api}/cdn/domains/{a_domain['id']}"
    B = f"{api}/cdn/domains/{b_domain['id']}"

    record = created(a.post(A + "/records", json={"name": "api", "type": "A", "content": A_API_ADDRESS, "ttl": 300}))
    created(a.post(A + "/records", json={"name": "@", "type": "MX", "content": "mx.example.net", "priority": 10}))
    created(a.post(A + "/records", json={"name": "@", "type": "TXT", "content": "v=spf1 -all"}))
    rule = created(a.post(A + "/page-rules", json={"pattern": f"{a_name}/static/*", "cache_level": "aggressive"}))
    created(a.post(A + "/page-rules", json={"pattern": f"{a_name}/api/*", "cache_level": "bypass"}))
    rate_limit = created(a.post(
        A + "/security/rate-limits", json={"path": "/login", "requests": 10, "period": 60, "action": "block", "duration": 300}))
    firewall_rule = created(a.post(
        A + "/security/firewall-rules", json={"field": "path", "operator": "contains", "value": "/wp-admin", "action": "block"}))
    created(a.patch(
        A + "/security", json={"ip_block": ["198.51.100.7"], "country_block": ["AQ"], "waf_sensitivity": "high", "clearance_minutes": 45}))
    created(a.patch(A, json={"cache_level": "aggressive", "browser_ttl": 7200, "multi_node_redundancy": True}))
    created(a.post(A + "/purge", json={"urls": [f"https://{a_name}/index.html"]}))
    token = created(a.post(f"{api}/auth/tokens", json={"name": "a's deploy token"}))
    a_user = created(a.get(f"{api}/auth/me"))["id"]
    b_user = created(b.get(f"{api}/auth/me"))["id"]
    # Credits on A's account, so that a revoke or refund that slipped through would show.
    grant = created(admin.post(f"{api}/credits/grant", json={"user_id": a_user, "amount": 5, "description": "isolation"}))

    # B's domain has children of its own, so the cross routes below meet a populated parent.
    b_record = created(b.post(B + "/records", json={"name": "own", "type": "A", "content": "203.0.113.30"}))
    created(b.post(B + "/page-rules", json={"pattern": f"{b_name}/*", "cache_level": "standard"}))
    created(b.post(B + "/security/rate-limits", json={"requests": 50, "period": 10, "action": "challenge", "duration": 60}))
    created(b.post(B + "/security/firewall-rules", json={"field": "path", "operator": "equals", "value": "/x", "action": "block"}))

    promo = created(admin.post(
        f"{api}/promo/create", json={"code": "ISO" + uuid.uuid4().hex[:8].upper(), "credit_amount": 1, "max_uses": 5}))
    node = created(admin.get(f"{api}/admin/nodes"))["nodes"][0]

    built = {
        "url": url, "api": api, "a": a, "b": b, "admin": admin, "a_email": a_email, "b_email": b_email,
        "ids": {
            "a_domain": a_domain["id"], "a_name": a_name, "a_record": record["id"], "a_rule": rule["id"],
            "a_rate": rate_limit["id"], "a_fw": firewall_rule["id"], "a_token": token["id"], "a_user": a_user,
            "a_grant": grant["grant_id"], "a_txn": grant["transaction_id"], "a_email": a_email,
            "b_domain": b_domain["id"], "b_name": b_name, "b_record": b_record["id"], "b_user": b_user, "b_email": b_email,
            "promo": promo["id"], "node": node["id"], "plan": "free",
        },
    }
    # The last readings, which every attempt is compared with (see `reread`).
    built["owner"], built["operator"] = owner_view(built), operator_view(built)
    yield built
    for session in (a, b, admin):
        session.close()


# Placeholders: what B aims at. The a_* values are A's, b_* B's own.
A_OWNED = ("a_domain", "a_name", "a_record", "a_rule", "a_rate", "a_fw", "a_token")


def fill(value, ids):
    """`value` with every {placeholder} in its strings replaced."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    return value


def placeholders(world):
    ids = dict(world["ids"])
    ids["a_name_upper"] = ids["a_name"].upper()
    # The dashboard's links carry IDs in lower case, the API's JSON in upper case: both are tried.
    return {**ids, **{f"{key}_lower": str(value).lower() for key, value in ids.items()}}


def nowhere(world):
    """The same placeholders with every A-owned ID or name replaced by one that does not exist."""
    ids = dict(world["ids"])
    for key in A_OWNED:
        ids[key] = f"nx-{uuid.uuid4().hex[:10]}.example" if key == "a_name" else str(uuid.uuid4()).upper()
    return placeholders({"ids": ids})


def owner_view(world):
    """Everything A owns, read back as A."""
    api, a = world["api"], world["a"]
    domain = f"{api}/cdn/domains/{world['ids']['a_domain']}"

    def get(url, text=False):
        response = a.get(url, timeout=10)
        assert response.status_code == 200, (url, response.status_code, response.text)
        return response.text if text else response.json()

    purges = get(domain + "/purges")
    for purge in purges["purges"]:
        # How many edges have run it changes as they sync: not A's data.
        purge.pop("nodes_done")
        purge.pop("nodes_total")
    return {
        "domain": get(domain),  # with its serial: any change to the zone or its settings moves it
        "records": get(domain + "/records"),
        "page_rules": get(domain + "/page-rules"),
        "purges": purges,
        "security": get(domain + "/security"),
        "certificate": get(domain + "/certificate"),
        "tokens": get(f"{api}/auth/tokens"),
        "me": get(f"{api}/auth/me"),
        "balance": get(f"{api}/credits/balance"),
    }


def operator_view(world):
    """What the operator's routes could change: A's and B's accounts, the platform's data."""
    api, admin = world["api"], world["admin"]

    def get(url, session=admin):
        response = session.get(url, timeout=10)
        assert response.status_code == 200, (url, response.status_code, response.text)
        return response.json()

    stable = ("id", "name", "region", "country", "roles", "capacity", "ipv4", "ipv6", "ip_allowlist")
    return {
        "a_me": get(f"{api}/auth/me", world["a"]), "b_me": get(f"{api}/auth/me", world["b"]),
        "a_transactions": get(f"{api}/credits/transactions", world["a"]),
        "b_transactions": get(f"{api}/credits/transactions", world["b"]),
        "promos": get(f"{api}/promo/list"), "resellers": get(f"{api}/reseller/list"), "plans": get(f"{api}/plans"),
        "nodes": [{key: node.get(key) for key in stable} for node in get(f"{api}/admin/nodes")["nodes"]],
        "payouts": get(f"{api}/affiliate/admin/payouts"),
    }


def reread(world, view=owner_view):
    """(the last reading, a new one); the new one becomes the last. Read right after each
    attempt, before anything is asserted, so that a change is blamed on the attempt that made it."""
    key = "owner" if view is owner_view else "operator"
    now = view(world)
    before, world[key] = world[key], now
    return before, now


# ---------------------------------------------------------------------------------------------
# The API: (OpenAPI operation, concrete path, JSON body or text, what the 404 says is missing)

D = "/api/v1/cdn/domains/{a_domain}"
BD = "/api/v1/cdn/domains/{b_domain}"
ZONE = "evil 300 IN A 203.0.113.66\n@ 300 IN TXT \"owned\"\n"

API_CASES = [
    ("PATCH /api/v1/cdn/domains/{id}", D, {"origin_ip": "203.0.113.66", "ssl_mode": "off", "under_attack": True,
                                           "dns_fallback": True, "dev_mode": True}, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}", D, None, "Domain"),
    ("POST /api/v1/cdn/domains/{id}/records", D + "/records", {"name": "evil", "type": "A", "content": "203.0.113.66"}, "Domain"),
    ("PATCH /api/v1/cdn/domains/{id}/records/{record_id}", D + "/records/{a_record}",
     {"content": "203.0.113.66", "proxied": True}, "Domain"),
    ("PATCH /api/v1/cdn/domains/{id}/records/{record_id}", BD + "/records/{a_record}",
     {"content": "203.0.113.66", "proxied": True}, "Record"),
    ("DELETE /api/v1/cdn/domains/{id}/records/{record_id}", D + "/records/{a_record}", None, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/records/{record_id}", BD + "/records/{a_record}", None, "Record"),
    ("POST /api/v1/cdn/domains/{id}/zone", D + "/zone", {"zone": ZONE, "replace": True}, "Domain"),
    ("POST /api/v1/cdn/domains/{id}/zone", D + "/zone?replace=true", ZONE, "Domain"),
    ("POST /api/v1/cdn/domains/{id}/certificate", D + "/certificate", {"wildcard": True}, "Domain"),
    ("POST /api/v1/cdn/domains/{id}/page-rules", D + "/page-rules",
     {"pattern": "{a_name}/*", "forwarding_url": "https://evil.example/$1", "position": 1}, "Domain"),
    ("PATCH /api/v1/cdn/domains/{id}/page-rules/{rule_id}", D + "/page-rules/{a_rule}",
     {"cache_level": "bypass", "position": 2}, "Domain"),
    ("PATCH /api/v1/cdn/domains/{id}/page-rules/{rule_id}", BD + "/page-rules/{a_rule}",
     {"cache_level": "bypass", "position": 2}, "Page rule"),
    ("DELETE /api/v1/cdn/domains/{id}/page-rules/{rule_id}", D + "/page-rules/{a_rule}", None, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/page-rules/{rule_id}", BD + "/page-rules/{a_rule}", None, "Page rule"),
    ("POST /api/v1/cdn/domains/{id}/purge", D + "/purge", {"everything": True}, "Domain"),
    ("PATCH /api/v1/cdn/domains/{id}/security", D + "/security",
     {"ip_block": [], "ip_allow": ["203.0.113.66"], "country_block": [], "waf_sensitivity": "off", "under_attack": True}, "Domain"),
    ("POST /api/v1/cdn/domains/{id}/security/rate-limits", D + "/security/rate-limits",
     {"requests": 1, "period": 60, "action": "block", "duration": 3600}, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/security/rate-limits/{rule_id}", D + "/security/rate-limits/{a_rate}", None, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/security/rate-limits/{rule_id}", BD + "/security/rate-limits/{a_rate}", None, "Rate limit"),
    ("POST /api/v1/cdn/domains/{id}/security/firewall-rules", D + "/security/firewall-rules",
     {"field": "path", "operator": "starts_with", "value": "/", "action": "block"}, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/security/firewall-rules/{rule_id}", D + "/security/firewall-rules/{a_fw}", None, "Domain"),
    ("DELETE /api/v1/cdn/domains/{id}/security/firewall-rules/{rule_id}", BD + "/security/firewall-rules/{a_fw}", None,
     "Firewall rule"),
    ("POST /api/v1/ddos/under-attack", "/api/v1/ddos/under-attack", {"domain_id": "{a_domain}", "enabled": True}, "Domain"),
    ("POST /api/v1/ddos/under-attack", "/api/v1/ddos/under-attack", {"domain_name": "{a_name}", "enabled": True}, "Domain"),
    ("POST /api/v1/ddos/under-attack", "/api/v1/ddos/under-attack", {"domain_name": "{a_name_upper}", "enabled": True}, "Domain"),
    # The ID decides when both are given: B's own name next to A's ID does not unlock A's domain.
    ("POST /api/v1/ddos/under-attack", "/api/v1/ddos/under-attack",
     {"domain_id": "{a_domain}", "domain_name": "{b_name}", "enabled": True}, "Domain"),
    ("POST /api/v1/high-availability/enable", "/api/v1/high-availability/enable",
     {"domain_id": "{a_domain}", "multi_node_redundancy": False, "dns_fallback": True}, "Domain"),
    ("POST /api/v1/high-availability/enable", "/api/v1/high-availability/enable",
     {"domain_name": "{a_name}", "multi_node_redundancy": False, "dns_fallback": True}, "Domain"),
    ("POST /api/v1/content_moderation/enable", "/api/v1/content_moderation/enable",
     {"domain_id": "{a_domain}", "multi_node_redundancy": False}, "Domain"),
    ("POST /api/v1/content_moderation/enable", "/api/v1/content_moderation/enable",
     {"domain_name": "{a_name_upper}", "dns_fallback": True}, "Domain"),
    ("DELETE /api/v1/auth/tokens/{id}", "/api/v1/auth/tokens/{a_token}", None, "API token"),
]

# The operator's routes: a customer is refused by role (403 forbidden) before any ID is looked
# at; aimed at A's account, the platform's node, plan, promo code, they change nothing.
ADMIN_API_CASES = [
    ("PATCH /api/v1/admin/users/{id}", "/api/v1/admin/users/{a_user}", {"role": "user", "plan_id": "enterprise"}),
    ("PATCH /api/v1/admin/users/{id}", "/api/v1/admin/users/{b_user}", {"role": "admin"}),
    ("PATCH /api/v1/admin/plans/{id}", "/api/v1/admin/plans/{plan}", {"name": "Owned", "limits": {"domains": 1000}}),
    ("POST /api/v1/admin/nodes", "/api/v1/admin/nodes", {"name": "rogue", "region": "eu", "country": "FR", "ipv4": "192.0.2.9"}),
    ("PATCH /api/v1/admin/nodes/{id}", "/api/v1/admin/nodes/{node}", {"name": "rogue", "region": "nowhere"}),
    ("DELETE /api/v1/admin/nodes/{id}", "/api/v1/admin/nodes/{node}", None),
    ("POST /api/v1/admin/nodes/{id}/token", "/api/v1/admin/nodes/{node}/token", None),
    ("POST /api/v1/affiliate/admin/payouts/{id}/paid", "/api/v1/affiliate/admin/payouts/{a_txn}/paid", None),
    ("POST /api/v1/credits/grant", "/api/v1/credits/grant", {"user_id": "{b_user}", "amount": 1000}),
    ("POST /api/v1/credits/grant/bulk", "/api/v1/credits/grant/bulk", {"user_ids": ["{b_user}"], "amount": 1000}),
    ("POST /api/v1/credits/revoke", "/api/v1/credits/revoke", {"user_id": "{a_user}", "amount": 5}),
    ("POST /api/v1/credits/revoke", "/api/v1/credits/revoke", {"user_id": "{a_user}", "grant_id": "{a_grant}"}),
    ("POST /api/v1/credits/refund", "/api/v1/credits/refund", {"user_id": "{a_user}", "transaction_id": "{a_txn}", "amount": 5}),
    ("POST /api/v1/promo/create", "/api/v1/promo/create", {"code": "ROGUE" + uuid.uuid4().hex[:6].upper(), "credit_amount": 1000}),
    ("POST /api/v1/promo/{id}/toggle", "/api/v1/promo/{promo}/toggle", None),
    ("POST /api/v1/reseller/create", "/api/v1/reseller/create", {"user_id": "{b_user}", "tier": "gold"}),
    ("POST /api/v1/reseller/{id}/tier", "/api/v1/reseller/{b_user}/tier", {"tier": "gold"}),
    ("POST /api/v1/reseller/tier/update", "/api/v1/reseller/tier/update?tier_name=base", {"credit_per_user": 100000}),
]

# Write operations that name no other account's object, each with the reason.
API_NOT_TENANT_SCOPED = {
    # Creates a domain of the caller's; a name another tenant holds (or inside its zone) is
    # tried in test_a_domain_name_held_by_another_tenant_is_taken.
    "POST /api/v1/cdn/domains": "creates the caller's own",
    "POST /api/v1/auth/login": "no account yet", "POST /api/v1/auth/register": "no account yet",
    "POST /api/v1/auth/resend-verification": "no account yet (answers the same for any address)",
    "POST /api/v1/auth/password": "the caller's own password", "POST /api/v1/auth/tokens": "the caller's own token",
    "POST /api/v1/billing/subscribe": "the caller's own subscription (plan IDs are public)",
    "POST /api/v1/billing/cancel": "the caller's own subscription", "POST /api/v1/credits/buy": "the caller's own credits",
    "POST /api/v1/affiliate/join": "the caller's own", "POST /api/v1/affiliate/request-payout": "the caller's own",
    "POST /api/v1/promo/redeem": "the caller's own credits; codes are shared secrets",
    "POST /api/v1/reseller/promo/create": "the caller's own reseller account",
    "POST /api/v1/billing/stripe/webhook": "signed by the payment provider", "POST /api/v1/billing/token/webhook": "signed",
    "POST /api/v1/node-api/register": "node token", "POST /api/v1/node-api/report": "node token",
    "POST /dev-acme/{kind}": "the dev CA's ACME protocol (JWS account keys)", "POST /dev-acme/{kind}/{id}": "the dev CA's ACME protocol",
}


def send(session, method, url, body):
    if isinstance(body, str):
        return session.request(method, url, data=body, headers={"Content-Type": "text/dns"})
    return session.request(method, url, json=body)


def api_case_id(case):
    return case[0].split(" ")[0] + " " + case[1].replace("/api/v1", "")


@pytest.mark.parametrize("case", API_CASES, ids=[api_case_id(case) for case in API_CASES])
def test_another_tenants_ids_are_not_found_through_the_api(world, case):
    operation, path, body, missing = case
    method = operation.split(" ")[0]
    ids, elsewhere = placeholders(world), nowhere(world)
    answer = send(world["b"], method, world["url"] + fill(path, ids), fill(body, ids))
    control = send(world["b"], method, world["url"] + fill(path, elsewhere), fill(body, elsewhere))
    before, after = reread(world)

    assert answer.status_code == 404, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()
    assert error["code"] == "not_found" and set(error) <= {"detail", "code", "field"}, error
    assert error["detail"].startswith(f"{missing} not found"), error
    # Exactly what an ID that exists nowhere gets: the answer tells B nothing about A.
    assert (control.status_code, control.json()) == (404, error)
    assert after == before


@pytest.mark.parametrize("case", ADMIN_API_CASES, ids=[api_case_id(case) for case in ADMIN_API_CASES])
def test_the_operators_routes_refuse_a_customer_whatever_the_id(world, case):
    operation, path, body = case
    ids = placeholders(world)
    answer = send(world["b"], operation.split(" ")[0], world["url"] + fill(path, ids), fill(body, ids))
    (before, after), (owner_before, owner_after) = reread(world, operator_view), reread(world)
    assert answer.status_code == 403, (answer.status_code, answer.text)
    assert answer.json()["code"] == "forbidden", answer.text
    assert after == before
    assert owner_after == owner_before


# ---------------------------------------------------------------------------------------------
# The dashboard: B's browser session (the sign-in form's cookie; the CSRF defence wants the
# request's Origin to be the site itself, as a browser sends it from our own pages).

DD = "/dashboard/domains/{a_domain_lower}"
BDD = "/dashboard/domains/{b_domain_lower}"

DASHBOARD_CASES = [
    ("domains/{id}/certificate", DD + "/certificate", {"wildcard": "on"}, "Domain"),
    ("domains/{id}/settings", DD + "/settings",
     {"ssl_mode": "off", "cache_level": "bypass", "browser_ttl": "3600", "edge_ttl": "3600", "origin": "203.0.113.66",
      "dev_mode": "on", "dns_fallback": "on"}, "Domain"),
    ("domains/{id}/delete", DD + "/delete", {}, "Domain"),
    ("domains/{id}/records", DD + "/records", {"name": "evil", "type": "A", "content": "203.0.113.66", "ttl": "300"}, "Domain"),
    ("domains/{id}/records/{record_id}/proxied", DD + "/records/{a_record_lower}/proxied", {"proxied": "true"}, "Domain"),
    ("domains/{id}/records/{record_id}/proxied", BDD + "/records/{a_record_lower}/proxied", {"proxied": "true"}, "Record"),
    ("domains/{id}/records/{record_id}/delete", DD + "/records/{a_record_lower}/delete", {}, "Domain"),
    ("domains/{id}/records/{record_id}/delete", BDD + "/records/{a_record_lower}/delete", {}, "Record"),
    ("domains/{id}/zone", DD + "/zone", {"zone": ZONE, "replace": "on"}, "Domain"),
    ("domains/{id}/page-rules", DD + "/page-rules", {"pattern": "{a_name}/*", "action": "bypass"}, "Domain"),
    ("domains/{id}/page-rules/{rule_id}/move", DD + "/page-rules/{a_rule_lower}/move", {"direction": "down"}, "Domain"),
    ("domains/{id}/page-rules/{rule_id}/move", BDD + "/page-rules/{a_rule_lower}/move", {"direction": "down"}, "Page rule"),
    ("domains/{id}/page-rules/{rule_id}/delete", DD + "/page-rules/{a_rule_lower}/delete", {}, "Domain"),
    ("domains/{id}/page-rules/{rule_id}/delete", BDD + "/page-rules/{a_rule_lower}/delete", {}, "Page rule"),
    ("domains/{id}/purge", DD + "/purge", {"kind": "everything"}, "Domain"),
    ("ddos/under-attack", "/dashboard/ddos/under-attack", {"domain_id": "{a_domain_lower}", "enabled": "on"}, "Domain"),
    ("ddos/under-attack", "/dashboard/ddos/under-attack",
     {"domain_id": "{a_domain_lower}", "enabled": "on", "from": "security", "scope": "{b_domain_lower}"}, "Domain"),
    ("domains/{id}/security", DD + "/security",
     {"ip_allow": "203.0.113.66", "ip_block": "", "country_allow": "", "country_block": "", "waf_sensitivity": "off",
      "clearance_minutes": "5"}, "Domain"),
    ("domains/{id}/security/rate-limits", DD + "/security/rate-limits",
     {"path": "/", "requests": "1", "period": "60", "action": "block", "duration": "3600"}, "Domain"),
    ("domains/{id}/security/rate-limits/{rule_id}/delete", DD + "/security/rate-limits/{a_rate_lower}/delete", {}, "Domain"),
    ("domains/{id}/security/rate-limits/{rule_id}/delete", BDD + "/security/rate-limits/{a_rate_lower}/delete", {}, "Rate limit"),
    ("domains/{id}/security/firewall-rules", DD + "/security/firewall-rules",
     {"field": "path", "operator": "starts_with", "value": "/", "action": "block"}, "Domain"),
    ("domains/{id}/security/firewall-rules/{rule_id}/delete", DD + "/security/firewall-rules/{a_fw_lower}/delete", {}, "Domain"),
    ("domains/{id}/security/firewall-rules/{rule_id}/delete", BDD + "/security/firewall-rules/{a_fw_lower}/delete", {},
     "Firewall rule"),
    ("account/tokens/{id}/revoke", "/dashboard/account/tokens/{a_token}/revoke", {}, "API token"),
]

ADMIN_DASHBOARD_CASES = [
    ("admin/users/{id}", "/dashboard/admin/users/{a_user}", {"role": "user", "plan_id": "enterprise"}),
    ("admin/users/{id}", "/dashboard/admin/users/{b_user}", {"role": "admin"}),
    ("admin/plans/{id}", "/dashboard/admin/plans/{plan}", {"name": "Owned", "domains": "1000"}),
    ("admin/nodes", "/dashboard/admin/nodes", {"name": "rogue", "region": "eu", "country": "FR", "ipv4": "192.0.2.9"}),
    ("admin/nodes/{id}/delete", "/dashboard/admin/nodes/{node}/delete", {}),
    ("admin/credits/grant", "/dashboard/admin/credits/grant", {"users": "{b_email}", "amount": "1000"}),
    ("admin/credits/revoke", "/dashboard/admin/credits/revoke", {"user": "{a_email}", "amount": "5"}),
    ("admin/promo", "/dashboard/admin/promo", {"code": "ROGUE" + uuid.uuid4().hex[:6].upper(), "credit_amount": "1000"}),
    ("admin/promo/{id}/toggle", "/dashboard/admin/promo/{promo}/toggle", {}),
    ("admin/payouts/{id}/paid", "/dashboard/admin/payouts/{a_txn}/paid", {}),
    ("admin/resellers", "/dashboard/admin/resellers", {"user": "{b_email}", "tier": "gold"}),
    ("admin/resellers/{id}/tier", "/dashboard/admin/resellers/{b_user}/tier", {"tier": "gold"}),
    ("admin/tiers/{name}", "/dashboard/admin/tiers/base", {"credit_per_user": "100000"}),
]

DASHBOARD_NOT_TENANT_SCOPED = {
    "domains": "creates the caller's own (names held by others: test_a_domain_name_held_by_another_tenant_is_taken)",
    "login": "no account yet", "register": "no account yet", "resend-verification": "no account yet", "logout": "own session",
    "account/tokens": "the caller's own token", "account/password": "the caller's own password",
    "credits/redeem": "the caller's own credits", "credits/buy": "the caller's own credits",
    "billing/subscribe": "the caller's own subscription", "billing/cancel": "the caller's own subscription",
    "affiliate/join": "the caller's own", "affiliate/request-payout": "the caller's own",
    "reseller/promo": "the caller's own reseller account",
}


@pytest.fixture(scope="module")
def b_browser(world):
    session = Client()
    session.headers["Origin"] = world["url"]
    answer = session.post(
        f"{world['url']}/dashboard/login", data={"email": world["b_email"], "password": PASSWORD}, allow_redirects=False)
    assert answer.status_code == 303 and "dcdn_session" in session.cookies, (answer.status_code, answer.text[:500])
    yield session
    session.close()


def page_message(answer):
    """(heading, message) of the dashboard's error page."""
    match = re.search(r'<section class="card narrow">\s*<h1>([^<]*)</h1>\s*<p>([^<]*)</p>', answer.text)
    assert match, answer.text[:2000]
    return match.group(1), match.group(2)


def form_case_id(case):
    return case[1].replace("/dashboard", "")


@pytest.mark.parametrize("case", DASHBOARD_CASES, ids=[form_case_id(case) for case in DASHBOARD_CASES])
def test_another_tenants_ids_are_not_found_through_the_dashboard(world, b_browser, case):
    _, path, form, missing = case
    ids, elsewhere = placeholders(world), nowhere(world)
    answer = b_browser.post(world["url"] + fill(path, ids), data=fill(form, ids), allow_redirects=False)
    control = b_browser.post(world["url"] + fill(path, elsewhere), data=fill(form, elsewhere), allow_redirects=False)
    before, after = reread(world)

    assert answer.status_code == 404, (answer.status_code, answer.headers.get("Location"), answer.text[:500])
    assert answer.headers["Content-Type"].startswith("text/html")
    heading, message = page_message(answer)
    assert heading == "404 Not Found" and message.startswith(f"{missing} not found"), (heading, message)
    assert (control.status_code, page_message(control)) == (404, (heading, message))
    assert after == before


@pytest.mark.parametrize("case", ADMIN_DASHBOARD_CASES, ids=[form_case_id(case) for case in ADMIN_DASHBOARD_CASES])
def test_the_operators_forms_refuse_a_customer(world, b_browser, case):
    _, path, form = case
    ids = placeholders(world)
    answer = b_browser.post(world["url"] + fill(path, ids), data=fill(form, ids), allow_redirects=False)
    (before, after), (owner_before, owner_after) = reread(world, operator_view), reread(world)
    assert answer.status_code == 403, (answer.status_code, answer.headers.get("Location"), answer.text[:500])
    assert page_message(answer)[0] == "403 Forbidden"
    assert after == before
    assert owner_after == owner_before


def test_a_session_cookie_alone_does_not_carry_a_form(world, b_browser):
    """The forms above send Origin as a browser does from our own pages; without it, or from
    elsewhere, a form is refused before any ID is looked at (so the 404s above are the
    ownership checks', not the CSRF defence's)."""
    url = world["url"] + fill(BDD + "/records/{b_record_lower}/delete", placeholders(world))
    for origin in (None, "http://evil.example"):
        with Client() as session:
            session.cookies.update(b_browser.cookies)
            answer = session.post(url, headers={"Origin": origin} if origin else {}, allow_redirects=False)
        assert answer.status_code == 403, (origin, answer.status_code)
    records = world["b"].get(f"{world['api']}/cdn/domains/{world['ids']['b_domain']}/records").json()["records"]
    assert world["ids"]["b_record"] in [record["id"] for record in records]


# ---------------------------------------------------------------------------------------------
# A's names inside B's own objects.

NAME_CASES = [
    ("api", BD + "/page-rules", {"pattern": "{a_name}/*", "cache_level": "bypass"}, "pattern"),
    ("api", BD + "/page-rules", {"pattern": "*.{a_name}/*", "forwarding_url": "https://evil.example/"}, "pattern"),
    ("api", BD + "/page-rules", {"pattern": "https://{a_name}/{b_name}/*", "cache_level": "bypass"}, "pattern"),
    ("api", BD + "/page-rules", {"pattern": "{b_name}.{a_name}/*", "cache_level": "bypass"}, "pattern"),
    ("api", BD + "/purge", {"urls": ["https://{a_name}/index.html"]}, "urls"),
    ("api", BD + "/purge", {"files": ["{a_name}/index.html"]}, "urls"),
    ("api", BD + "/purge", {"prefixes": ["http://{a_name}/"]}, "prefixes"),
    ("dashboard", BDD + "/page-rules", {"pattern": "{a_name}/*", "action": "bypass"}, "pattern"),
    ("dashboard", BDD + "/purge", {"kind": "urls", "values": "https://{a_name}/index.html"}, "urls"),
]


@pytest.mark.parametrize("case", NAME_CASES, ids=[f"{case[0]}-{index}" for index, case in enumerate(NAME_CASES)])
def test_a_tenants_own_domain_cannot_name_another_tenants_host(world, b_browser, case):
    via, path, body, field = case
    ids = placeholders(world)
    if via == "api":
        answer = world["b"].post(world["url"] + fill(path, ids), json=fill(body, ids))
    else:
        answer = b_browser.post(world["url"] + fill(path, ids), data=fill(body, ids), allow_redirects=False)
    before, after = reread(world)
    assert answer.status_code == 422, (answer.status_code, answer.text[:500])
    if via == "api":
        assert (answer.json()["code"], answer.json()["field"]) == ("validation_error", field), answer.text
    assert after == before


@pytest.mark.parametrize("via", ["api", "dashboard"])
def test_a_zone_file_for_another_tenants_names_imports_nothing(world, b_browser, via):
    ids = placeholders(world)
    text = fill("api.{a_name}. 300 IN A 203.0.113.66\n{a_name}. 300 IN TXT \"owned\"\n", ids)
    b_records = world["b"].get(f"{world['api']}/cdn/domains/{ids['b_domain']}/records").json()
    if via == "api":
        answer = world["b"].post(f"{world['api']}/cdn/domains/{ids['b_domain']}/zone", json={"zone": text})
    else:
        answer = b_browser.post(f"{world['url']}/dashboard/domains/{ids['b_domain_lower']}/zone", data={"zone": text})
    before, after = reread(world)
    assert answer.status_code == 200, answer.text[:1000]
    if via == "api":
        assert answer.json()["imported"] == 0 and [error["line"] for error in answer.json()["errors"]] == [1, 2], answer.text
    else:
        assert "Imported 0 records" in answer.text, answer.text[:1000]
    assert after == before
    assert world["b"].get(f"{world['api']}/cdn/domains/{ids['b_domain']}/records").json() == b_records


@pytest.mark.parametrize("via", ["api", "dashboard"])
@pytest.mark.parametrize("spelling", ["{a_name}", "{a_name_upper}", "{a_name}.", "api.{a_name}", "new-{b_name}.{a_name}"])
def test_a_domain_name_held_by_another_tenant_is_taken(iso, world, b_browser, via, spelling):
    """A's name, however spelt, and any name inside A's zone: B cannot add it. (B holding
    api.<A> as a zone of its own makes DCDN's nameservers answer A's api record from B's zone,
    and the edge and certificate issuance treat the name as B's.) A's data and A's DNS answers
    stay as they were."""
    ids = placeholders(world)
    name = fill(spelling, ids)
    made = None
    if via == "api":
        answer = world["b"].post(f"{world['api']}/cdn/domains", json={"domain": name, "origin_ip": "203.0.113.99"})
        outcome = (answer.status_code, answer.json().get("code"))
        if answer.status_code == 201:
            made = answer.json()["id"]
    else:
        answer = b_browser.post(
            f"{world['url']}/dashboard/domains", data={"domain": name, "origin_ip": "203.0.113.99"}, allow_redirects=False)
        taken = "is already on DCDN" in answer.text or "which another account holds on DCDN" in answer.text
        said = "domain_taken" if taken else "validation_error" if "must be a domain name" in answer.text else None
        outcome = (answer.status_code, said)
        if answer.status_code == 303:
            made = re.search(r"/dashboard/domains/([0-9a-fA-F-]{36})", answer.headers["Location"]).group(1)
    try:
        # Configuration versions are one sequence: once a later change of B's own zone is
        # served, the nameserver has whatever the attempt above changed.
        marker = f"marker-{uuid.uuid4().hex[:8]}"
        record = created(world["b"].post(
            f"{world['api']}/cdn/domains/{ids['b_domain']}/records", json={"name": marker, "type": "TXT", "content": marker}))
        wait_for(lambda: marker in dig(iso.dns_port, f"{marker}.{ids['b_name']}", "TXT", "+short"), timeout=10)
        answered = dig(iso.dns_port, f"api.{ids['a_name']}", "A", "+short").split()
        assert world["b"].delete(f"{world['api']}/cdn/domains/{ids['b_domain']}/records/{record['id']}").status_code == 204
        before, after = reread(world)
    finally:
        if made:  # a product bug: take B's domain inside A's zone away again for the tests after this one
            world["b"].delete(f"{world['api']}/cdn/domains/{made}")
    problems = []
    # Taken (409), or for a spelling that is not a name at all, invalid (422); never added.
    if outcome not in {(409, "domain_taken"), (422, "validation_error")}:
        problems.append(f"B adding {name} got {outcome}, not 409 domain_taken")
    if answered != [A_API_ADDRESS]:
        problems.append(f"DCDN's nameserver then answered {answered} for A's api.{ids['a_name']}, not [{A_API_ADDRESS!r}]")
    if after != before:
        problems.append("A's data changed")
    assert not problems, problems


# ---------------------------------------------------------------------------------------------
# Completeness: a write route nobody listed fails here.


def api_write_operations(document):
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("post", "put", "patch", "delete")
    }


def test_every_api_write_operation_is_covered_or_excused(iso):
    document = requests.get(f"{iso.url}/api/v1/openapi.json", timeout=10).json()
    served = api_write_operations(document)
    tenant = {case[0] for case in API_CASES}
    admin = {case[0] for case in ADMIN_API_CASES}
    excused = set(API_NOT_TENANT_SCOPED)
    assert not (tenant & admin) and not (tenant & excused) and not (admin & excused)
    unlisted = served - tenant - admin - excused
    assert not unlisted, f"write operations without an isolation case (add them to API_CASES or ADMIN_API_CASES): {sorted(unlisted)}"
    stale = (tenant | admin | excused) - served
    assert not stale, f"listed but not served: {sorted(stale)}"
    # Whatever takes an ID in its path is tried, not excused (the dev CA's ACME URLs excepted).
    by_path = {operation for operation in served if "{" in operation and not operation.split(" ")[1].startswith("/dev-acme/")}
    assert by_path <= tenant | admin, sorted(by_path - tenant - admin)
    # And whatever names an object in its body (an *_id field, a domain name), but for IDs that
    # are public or the provider's.
    public = {("POST /api/v1/billing/subscribe", "plan_id"), ("POST /api/v1/billing/token/webhook", "payment_id")}
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            key = f"{method.upper()} {path}"
            if key not in served or key in tenant | admin:
                continue
            for content in operation.get("requestBody", {}).get("content", {}).values():
                reference = content.get("schema", {}).get("$ref", "")
                properties = schemas.get(reference.split("/")[-1], {}).get("properties", {})
                named = {field for field in properties if re.search(r"_ids?$|^domain_name$", field) and (key, field) not in public}
                assert not named, f"{key} takes {sorted(named)} in its body but has no isolation case"


DASHBOARD_ROUTE = re.compile(r'\b(?:dashboard|router)\.(?:post|put|patch|delete)\(\s*"([^"]*)"')
ANY_ROUTE = re.compile(r'\b\w+\.(?:post|put|patch|delete)\(\s*"([^"]*)"')


def dashboard_write_routes():
    """The dashboard's form routes in the coordinator's sources, as `domains/{id}/…`:
    `dashboard.post("…")` anywhere (`router.post` in the dashboards that call their group so),
    and any `<group>.post("…")` in a *Dashboard.swift."""
    routes = set()
    for source in (ROOT / "Sources" / "Coordinator").rglob("*.swift"):
        pattern = ANY_ROUTE if source.name.endswith("Dashboard.swift") else DASHBOARD_ROUTE
        for path in pattern.findall(source.read_text()):
            routes.add(re.sub(r":([a-z_]+)", r"{\1}", path))
    return routes


def test_every_dashboard_form_is_covered_or_excused():
    found = dashboard_write_routes()
    assert found, "no dashboard routes found in Sources/Coordinator"
    tenant = {case[0] for case in DASHBOARD_CASES}
    admin = {case[0] for case in ADMIN_DASHBOARD_CASES}
    excused = set(DASHBOARD_NOT_TENANT_SCOPED)
    unlisted = found - tenant - admin - excused
    assert not unlisted, f"dashboard forms without an isolation case (add them to DASHBOARD_CASES): {sorted(unlisted)}"
    stale = (tenant | admin | excused) - found
    assert not stale, f"listed but not in the sources: {sorted(stale)}"
    assert all("{" not in route for route in excused), "a form that takes an ID must be tried, not excused"
