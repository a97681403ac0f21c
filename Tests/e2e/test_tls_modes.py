"""The edge's HTTPS listener and the four SSL modes, against an HTTP origin and a self-signed
HTTPS origin: off sends HTTPS visitors to HTTP, flexible talks HTTP to the origin, full accepts
a self-signed origin, strict refuses it. Also TLS versions, ALPN and session resumption."""

import os
import re
import ssl
import subprocess
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3

from conftest import self_signed_certificate, serve_http, signed_up
from test_dns import wait_for

urllib3.disable_warnings()


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = f"origin over {'https' if isinstance(self.connection, ssl.SSLSocket) else 'http'}; proto {self.headers.get('X-Forwarded-Proto')}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def origins():
    directory = tempfile.mkdtemp()
    cert, key = self_signed_certificate(directory, "origin")
    secure = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    with serve_http(Origin) as plain:
        yield {"http": plain, "https": secure.server_address[1]}
    secure.shutdown()


def site(dev, origin_port, mode):
    name = f"mode{uuid.uuid4().hex[:6]}.example"
    jwt = signed_up(dev.url, f"mode-{uuid.uuid4().hex[:6]}@example.com")
    created = requests.post(
        f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": f"127.0.0.1:{origin_port}", "ssl_mode": mode},
        headers={"Authorization": f"Bearer {jwt}"}, timeout=10,
    )
    assert created.status_code == 201, created.text
    edge = f"http://127.0.0.1:{dev.edge_port}"
    wait_for(lambda: requests.get(edge + "/", headers={"Host": name}, timeout=5).headers.get("Cache-Status") != "DCDN; detail=edge-404", timeout=10)
    return name


def over(dev, name, https):
    base = f"https://127.0.0.1:{dev.edge_tls_port}" if https else f"http://127.0.0.1:{dev.edge_port}"
    # SNI carries the name (requests uses the URL's host): no certificate is issued in dev, so the
    # edge shows its fallback certificate and verification is off here.
    session = requests.Session()
    return session.get(base + "/page", headers={"Host": name}, timeout=15, verify=False, allow_redirects=False)


def test_flexible_talks_http_to_the_origin_and_https_to_visitors(dev, origins):
    name = site(dev, origins["http"], "flexible")
    assert over(dev, name, https=False).text == "origin over http; proto http"
    assert over(dev, name, https=True).text == "origin over http; proto https"


def test_off_sends_https_visitors_to_http(dev, origins):
    name = site(dev, origins["http"], "off")
    assert over(dev, name, https=False).status_code == 200
    redirected = over(dev, name, https=True)
    assert redirected.status_code == 301 and redirected.headers["Location"] == f"http://{name}/page"


def test_full_accepts_a_self_signed_origin(dev, origins):
    name = site(dev, origins["https"], "full")
    assert over(dev, name, https=True).text == "origin over https; proto https"


def test_strict_refuses_a_self_signed_origin(dev, origins):
    name = site(dev, origins["https"], "strict")
    refused = over(dev, name, https=True)
    assert refused.status_code == 502 and "unreachable" in refused.text.lower()


def s_client(dev, *args, stdin=b""):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{dev.edge_tls_port}", "-servername", "demo.dcdn.test", *args],
        input=stdin, capture_output=True, timeout=20,
    ).stdout.decode(errors="replace")


def test_tls_versions_alpn_and_session_resumption(dev, tmp_path):
    # The handshake's own line names the version it settled on, and a cipher (not "(NONE)").
    assert re.search(r"New, TLSv1\.2, Cipher is ECDHE-", s_client(dev, "-tls1_2"))
    assert re.search(r"New, TLSv1\.3, Cipher is TLS_(?:AES|CHACHA20)", s_client(dev, "-tls1_3"))
    assert "ALPN protocol: h2" in s_client(dev, "-alpn", "h2,http/1.1")
    assert "ALPN protocol: http/1.1" in s_client(dev, "-alpn", "http/1.1")
    old = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{dev.edge_tls_port}", "-tls1_1"], input=b"", capture_output=True, timeout=20)
    assert "Cipher is (NONE)" in old.stdout.decode(errors="replace") or old.returncode != 0, "TLS 1.1 is refused"
    resumed = s_client(dev, "-tls1_2", "-reconnect")
    assert "Reused, TLSv1.2" in resumed
    session = tmp_path / "session.pem"
    s_client(dev, "-tls1_3", "-sess_out", str(session), "-ign_eof", stdin=b"GET / HTTP/1.1\r\nHost: demo.dcdn.test\r\nConnection: close\r\n\r\n")
    assert "Reused, TLSv1.3" in s_client(dev, "-tls1_3", "-sess_in", str(session))


def test_dev_issues_certificates_from_its_own_ca(dev):
    """The README's promise: curl --cacert .dcdn/dev-ca.pem --resolve demo.dcdn.test:<https>:127.0.0.1 works."""
    port = dev.edge_tls_port
    ca = os.path.join(dev.data_dir, "dev-ca.pem")
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "--resolve", f"demo.dcdn.test:{port}:127.0.0.1", f"https://demo.dcdn.test:{port}/"]
    wait_for(lambda: subprocess.run(command, capture_output=True, timeout=10).returncode == 0, timeout=60, interval=0.5)
    assert subprocess.run(command, capture_output=True, text=True, timeout=10).stdout == "200"
    assert any(f"--cacert {dev.data_dir}/dev-ca.pem" in line for line in dev.lines), "the banner says how to trust the dev CA"


def test_renewal_follows_the_cas_renewal_information(dev):
    """dev's CA offers ACME Renewal Information (RFC 9773) 20 to 19 days before expiry, earlier than
    the one-third rule (30 days for 90-day certificates): the next renewal lands in that window."""
    import datetime

    from conftest import admin_token

    headers = {"Authorization": f"Bearer {admin_token(dev.url)}"}
    domains = requests.get(f"{dev.url}/api/v1/cdn/domains", headers=headers, timeout=10).json()["domains"]
    demo = next(domain for domain in domains if domain["name"] == "demo.dcdn.test")
    url = f"{dev.url}/api/v1/cdn/domains/{demo['id']}/certificate"
    wait_for(lambda: requests.get(url, headers=headers, timeout=10).json()["status"] == "issued", timeout=60, interval=0.5)
    state = requests.get(url, headers=headers, timeout=10).json()
    parse = lambda text: datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    days_before_expiry = (parse(state["expires_at"]) - parse(state["next_attempt_at"])).total_seconds() / 86400
    assert 19 <= days_before_expiry <= 20, state
