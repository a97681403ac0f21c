"""Sign in with an OpenID Connect provider (Google by default; here a local provider)."""

import urllib.parse

import pytest
import requests

from conftest import Instance
from oidc_provider import OpenIDProvider


@pytest.fixture(scope="module")
def provider():
    provider = OpenIDProvider()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def coordinator(provider):
    instance = Instance(
        "dev",
        env={
            "DCDN_OIDC_ISSUER": provider.issuer,
            "DCDN_OIDC_CLIENT_ID": provider.client_id,
            "DCDN_OIDC_CLIENT_SECRET": provider.client_secret,
            "DCDN_OIDC_BUTTON_LABEL": "Sign in with TestID",
        },
    )
    yield instance
    assert instance.stop() == 0, instance.output


def follow_to_callback(session, base_url):
    start = session.get(f"{base_url}/api/v1/auth/oidc/start", allow_redirects=False, timeout=10)
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(authorize).query))
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == f"{base_url}/api/v1/auth/oidc/callback"
    approved = session.get(authorize, allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    return approved.headers["Location"]


def test_the_button_shows_only_when_configured(coordinator, dev):
    assert "Sign in with TestID" in requests.get(f"{coordinator.url}/dashboard/login", timeout=5).text
    assert "oidc-login" not in requests.get(f"{dev.url}/dashboard/login", timeout=5).text
    assert requests.get(f"{dev.url}/api/v1/auth/oidc/start", allow_redirects=False, timeout=5).json()["code"] == "oidc_not_configured"
    providers = requests.get(f"{coordinator.url}/api/v1/auth/providers", timeout=5).json()
    assert providers["oidc"]["label"] == "Sign in with TestID"


def test_code_flow_with_pkce_signs_in_and_creates_a_verified_account(coordinator, provider):
    provider.email, provider.subject = "oidc-user@example.com", "subject-1"
    session = requests.Session()
    callback = follow_to_callback(session, coordinator.url)
    finished = session.get(callback, allow_redirects=False, timeout=10)
    assert finished.status_code == 303
    assert finished.headers["Location"] == "/dashboard"
    assert "dcdn_session" in session.cookies
    assert provider.pkce_checked >= 1
    page = session.get(f"{coordinator.url}/dashboard", timeout=5)
    assert "oidc-user@example.com" in page.text
    # The same identity signs in to the same account again.
    again = requests.Session()
    again.get(follow_to_callback(again, coordinator.url), allow_redirects=False, timeout=10)
    assert "oidc-user@example.com" in again.get(f"{coordinator.url}/dashboard", timeout=5).text


def test_tampered_state_replayed_code_and_unverified_email_are_refused(coordinator, provider):
    session = requests.Session()
    callback = follow_to_callback(session, coordinator.url)
    tampered = callback.replace("state=", "state=x")
    refused = session.get(tampered, allow_redirects=False, timeout=10)
    assert refused.headers["Location"] == "/dashboard/login?notice=oidc_failed"
    assert "dcdn_session" not in session.cookies

    # A code that was already redeemed does not work twice.
    first = requests.Session()
    callback = follow_to_callback(first, coordinator.url)
    saved = first.cookies.copy()
    assert first.get(callback, allow_redirects=False, timeout=10).headers["Location"] == "/dashboard"
    replay = requests.Session()
    replay.cookies.update(saved)
    assert replay.get(callback, allow_redirects=False, timeout=10).headers["Location"] == "/dashboard/login?notice=oidc_failed"

    provider.email, provider.subject, provider.email_verified = "unverified@example.com", "subject-2", False
    try:
        third = requests.Session()
        result = third.get(follow_to_callback(third, coordinator.url), allow_redirects=False, timeout=10)
        assert result.headers["Location"] == "/dashboard/login?notice=oidc_failed"
    finally:
        provider.email_verified = True
