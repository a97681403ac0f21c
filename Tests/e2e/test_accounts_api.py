"""Accounts through the public API of a real `dcdn dev`, as a customer's script would use it."""

import re
import uuid

import requests
from openapi_spec_validator import validate

from conftest import ADMIN_PASSWORD, outbox_link, signed_up


def test_register_verify_login_and_automate_with_a_token(dev):
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    jwt = signed_up(dev.url, email)
    me = requests.get(f"{dev.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {jwt}"}, timeout=5)
    assert me.status_code == 200
    assert me.json()["email"] == email
    assert me.json()["email_verified"] is True

    created = requests.post(
        f"{dev.url}/api/v1/auth/tokens", json={"name": "deploy"}, headers={"Authorization": f"Bearer {jwt}"}, timeout=5
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("dcdn_")
    limits = requests.get(f"{dev.url}/api/v1/account/limits", headers={"Authorization": f"Bearer {secret}"}, timeout=5)
    assert limits.status_code == 200
    assert limits.json()["plan"]["id"] == "free"
    assert {row["limit"] for row in limits.json()["usage"]} >= {"domains", "monitors", "email_routes", "agents"}

    revoked = requests.delete(
        f"{dev.url}/api/v1/auth/tokens/{created.json()['id']}", headers={"Authorization": f"Bearer {jwt}"}, timeout=5
    )
    assert revoked.status_code == 204
    assert requests.get(f"{dev.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}, timeout=5).status_code == 401


def test_the_printed_admin_login_works(dev):
    match = re.search(r"Admin login\s+(\S+)\s+password: (.+)", dev.output)
    assert match, dev.output
    email, password = match.group(1), match.group(2).strip()
    assert password == ADMIN_PASSWORD
    login = requests.post(f"{dev.url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=5)
    assert login.status_code == 200
    users = requests.get(f"{dev.url}/api/v1/admin/users", headers={"Authorization": f"Bearer {login.json()['access_token']}"}, timeout=5)
    assert users.status_code == 200
    # The operator account the banner printed is in the list, as an admin.
    listed = users.json()["users"]
    assert users.json()["total"] >= len(listed) >= 1
    assert any(user["email"] == email and user["role"] == "admin" for user in listed), listed


def test_errors_are_json_with_codes_and_never_500(dev):
    garbage = requests.post(
        f"{dev.url}/api/v1/auth/register", data="{oops", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert garbage.status_code == 400
    assert garbage.json()["code"] == "invalid_json"
    missing = requests.post(f"{dev.url}/api/v1/auth/register", json={"email": "x@example.com"}, timeout=5)
    assert missing.status_code == 422
    assert missing.json()["field"] == "password"
    huge = requests.post(
        f"{dev.url}/api/v1/auth/register", data="x" * (2 << 20), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert huge.status_code == 413
    unknown = requests.get(f"{dev.url}/api/v1/does-not-exist", timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert unknown.headers["X-Request-ID"]


def test_openapi_document_is_valid_openapi_3_1(dev):
    document = requests.get(f"{dev.url}/api/v1/openapi.json", timeout=5).json()
    validate(document)
    assert "/api/v1/auth/register" in document["paths"]
    assert "/api/v1/dev/outbox" in document["paths"]


def test_health_readiness_metrics(dev):
    assert requests.get(f"{dev.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{dev.url}/readyz", timeout=5).json()["database"] == "sqlite"
    metrics = requests.get(f"{dev.url}/metrics", timeout=5).text
    assert "dcdn_http_requests_total" in metrics


def test_verification_links_point_at_the_dashboard(dev):
    email = f"link-{uuid.uuid4().hex[:8]}@example.com"
    requests.post(f"{dev.url}/api/v1/auth/register", json={"email": email, "password": "a long enough password"}, timeout=5)
    link = outbox_link(dev.url, email)
    assert link.startswith(dev.url + "/dashboard/verify-email?token=")
    page = requests.get(link, timeout=5)
    assert page.status_code == 200
    assert f"{email}</strong> is verified" in page.text
