"""The edge's reverse proxy (`dcdn node`, part of `dcdn dev`) in front of an origin the test runs."""

import hashlib
import json
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from conftest import proxied_site, serve_http, signed_up
from test_dns import wait_for

BIG = bytes(range(256)) * 20_000  # 5 MB


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "keep-alive, X-Secret-Hop")
        self.send_header("X-Secret-Hop", "must not pass")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/big":
            self.reply(200, BIG, "application/octet-stream")
        elif self.path == "/csp":
            self.reply(200, b"ok", "text/html", [("Content-Security-Policy", "default-src 'self' cdn.example")])
        else:
            self.reply(200, json.dumps({"path": self.path, "headers": dict(self.headers)}).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        self.reply(200, json.dumps({"received": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode())


@pytest.fixture(scope="module")
def origin():
    with serve_http(Origin) as port:
        yield port


@pytest.fixture(scope="module")
def site(dev, origin):
    return proxied_site(dev, origin, "edge")


def test_routes_by_host_and_forwards_with_standard_headers(site):
    for host in (site["name"], "www." + site["name"]):
        response = requests.get(site["edge"] + "/hello?x=1", headers={"Host": host, "X-Forwarded-For": "198.51.100.7", "Connection": "keep-alive, X-Drop-Me", "X-Drop-Me": "1"}, timeout=10)
        assert response.status_code == 200
        seen = response.json()
        assert seen["path"] == "/hello?x=1"
        headers = {key.lower(): value for key, value in seen["headers"].items()}
        assert headers["host"] == host
        # Replaced, not appended to: a chain the visitor wrote is not the visitor's address.
        assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-real-ip"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert headers["via"] == "1.1 dcdn"
        assert headers["cdn-loop"] == "dcdn"
        assert "x-drop-me" not in headers, "headers named in Connection are hop-by-hop"
        assert "X-Secret-Hop" not in response.headers
        assert response.headers["Via"] == "1.1 dcdn"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_bodies_stream_both_ways_intact(site):
    upload = bytes(range(256)) * 8_000  # 2 MB
    posted = requests.post(site["edge"] + "/upload", data=upload, headers={"Host": site["name"]}, timeout=30)
    assert posted.json() == {"received": len(upload), "sha256": hashlib.sha256(upload).hexdigest()}
    download = requests.get(site["edge"] + "/big", headers={"Host": site["name"]}, timeout=30)
    assert hashlib.sha256(download.content).hexdigest() == hashlib.sha256(BIG).hexdigest()


def test_origin_csp_is_kept(site):
    response = requests.get(site["edge"] + "/csp", headers={"Host": site["name"]}, timeout=10)
    assert response.headers["Content-Security-Policy"] == "default-src 'self' cdn.example"


def test_unknown_hosts_loops_and_dead_origins_get_branded_pages(dev, site):
    unknown = requests.get(site["edge"] + "/", headers={"Host": "not-a-customer.example"}, timeout=10)
    assert unknown.status_code == 404 and "DCDN" in unknown.text
    loop = requests.get(site["edge"] + "/", headers={"Host": site["name"], "CDN-Loop": "dcdn"}, timeout=10)
    assert loop.status_code == 508
    jwt = signed_up(dev.url, f"dead-{uuid.uuid4().hex[:6]}@example.com")
    dead = f"dead{uuid.uuid4().hex[:6]}.example"
    requests.post(f"{dev.url}/api/v1/cdn/domains", json={"domain": dead, "origin_ip": "127.0.0.1:9", "ssl_mode": "off"}, headers={"Authorization": f"Bearer {jwt}"}, timeout=10)
    wait_for(lambda: requests.get(site["edge"] + "/", headers={"Host": dead}, timeout=15).status_code == 502, timeout=10)
    page = requests.get(site["edge"] + "/", headers={"Host": dead}, timeout=15)
    assert "origin is unreachable" in page.text and dead in page.text
