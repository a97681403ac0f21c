"""Faults that people running CDNs report, each a kind, through a real `dcdn dev` and an origin
the test runs: cache poisoning through forwarding fields, cookies replayed from a 304, firewall
rules bypassed by path spellings, web cache deception, private origins, RFC 9111 parsing of
caching fields, and interim responses."""

import http.client
import json
import uuid
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from conftest import proxied_site, serve_http
from test_dns import wait_for


class Origin(BaseHTTPRequestHandler):
    """Behaves as origins that trust what visitors send: it reflects forwarding fields into
    cacheable pages (Express with `trust proxy`), answers any /account/... path with a private
    page, and lets the test choose caching fields through the path."""

    protocol_version = "HTTP/1.1"
    failing = set()
    seen = []

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    def do_GET(self):
        Origin.seen.append((self.path, dict(self.headers)))
        path = self.path.split("?")[0]
        if path.startswith("/reflect"):
            # What an origin behind a trusted proxy would link to.
            host = self.headers.get("X-Forwarded-Host") or self.headers.get("Host")
            proto = self.headers.get("X-Forwarded-Proto", "http")
            url = self.headers.get("X-Original-URL") or self.path
            body = f"<a href='{proto}://{host}{url}'>home</a> for {self.headers.get('X-Forwarded-For')}".encode()
            self.send(200, body, [("Content-Type", "text/html"), ("Cache-Control", "public, max-age=60")])
        elif path.startswith("/revalidate"):
            # Stored stale (max-age=0 with an ETag): every use revalidates, and the 304 sets a cookie.
            if self.headers.get("If-None-Match") == '"v1"':
                self.send(304, b"", [("ETag", '"v1"'), ("Cache-Control", "max-age=0"), ("Set-Cookie", f"session={uuid.uuid4().hex}")])
            else:
                self.send(200, b"shared page", [("ETag", '"v1"'), ("Cache-Control", "max-age=0"), ("Content-Type", "text/plain")])
        elif path.startswith("/account/"):
            self.send(200, b"<h1>Private account page of whoever asked</h1>", [("Content-Type", "text/html")])
        elif path.startswith("/static/"):
            kind = "text/css" if path.endswith(".css") else "application/javascript"
            self.send(200, b"body{}", [("Content-Type", kind)])
        elif path.startswith("/headers/"):
            # /headers/<url-encoded JSON list of [name, value]>
            import urllib.parse

            fields = json.loads(urllib.parse.unquote(self.path.split("/headers/", 1)[1].split("?")[0]))
            self.send(200, b"headers", [("Content-Type", "text/plain")] + [tuple(field) for field in fields])
        elif path.startswith("/nocache"):
            if path in Origin.failing:
                self.send(500, b"origin error", [("Content-Type", "text/plain")])
            else:
                self.send(200, b"fresh", [("Content-Type", "text/plain"), ("ETag", '"n1"'),
                                          ("Cache-Control", "no-cache, stale-if-error=600, stale-while-revalidate=600")])
        elif path.startswith("/early-hints"):
            # An interim 103 whose fields must neither be stored nor reach the final answer.
            self.send_response_only(103)
            self.send_header("Link", "</style.css>; rel=preload")
            self.send_header("Set-Cookie", "hint=leaked")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.send(200, b"final", [("Content-Type", "text/plain"), ("Cache-Control", "public, max-age=60")])
        else:
            self.send(200, f"page {self.path}".encode(), [("Content-Type", "text/plain"), ("Cache-Control", "no-store")])


@pytest.fixture(scope="module")
def origin():
    with serve_http(Origin) as port:
        yield port


@pytest.fixture(scope="module")
def site(dev, origin):
    return proxied_site(dev, origin, "fault")


def raw_get(site, target, headers=None):
    """A request with the target exactly as given (no client-side path cleaning)."""
    port = int(site["edge"].rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", site["name"])
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def cache_status(headers):
    return headers.get("cache-status", "")


def test_visitor_forwarding_fields_cannot_poison_the_cache(site):
    target = f"/reflect?{uuid.uuid4().hex[:6]}"
    spoofed = {
        "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.66",
        "X-Original-URL": "/evil", "X-Rewrite-URL": "/evil", "Forwarded": "host=evil.example;proto=https",
        "X-Forwarded-Port": "8443", "X-Host": "evil.example", "X-Real-IP": "203.0.113.66", "True-Client-IP": "203.0.113.66",
    }
    status, headers, body = raw_get(site, target, spoofed)
    assert status == 200 and b"evil" not in body and b"203.0.113.66" not in body, body
    assert body.decode() == f"<a href='http://{site['name']}{target}'>home</a> for 127.0.0.1"
    # The stored copy every later visitor gets is the clean one.
    status, headers, later = raw_get(site, target)
    assert "hit" in cache_status(headers) and later == body
    fields = next(fields for path, fields in reversed(Origin.seen) if path == target)
    lower = {name.lower(): value for name, value in fields.items()}
    for dropped in ("x-original-url", "x-rewrite-url", "x-forwarded-port", "x-host", "true-client-ip"):
        assert dropped not in lower, dropped
    assert lower["forwarded"] == f"for=127.0.0.1;host={site['name']};proto=http"


def test_host_is_forwarded_exactly_as_the_cache_keyed_it(site):
    target = f"/reflect?host-{uuid.uuid4().hex[:6]}"
    port = int(site["edge"].rsplit(":", 1)[1])
    for host in (site["name"].upper() + ":" + str(port), site["name"] + "."):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("GET", target, skip_host=True)
        connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        assert response.status == 200 and f"http://{site['name']}{target}" in body, (host, body)


def test_a_cookie_set_on_a_304_reaches_only_the_visitor_who_revalidated(site):
    target = f"/revalidate?{uuid.uuid4().hex[:6]}"
    status, headers, body = raw_get(site, target)
    assert status == 200 and "stored" in cache_status(headers) and "set-cookie" not in headers
    cookies = []
    for _ in range(4):
        status, headers, body = raw_get(site, target)
        assert status == 200 and body == b"shared page"
        cookies.append(headers.get("set-cookie"))
    # The visitor whose revalidation drew a 304 with a cookie gets it; the shared copy is then
    # dropped, so the next visitor fetches a clean 200 (stored again, no cookie), the one after
    # revalidates and gets a session of their own, and so on. Nobody ever gets another's cookie.
    assert [bool(cookie) for cookie in cookies] == [True, False, True, False], cookies
    assert cookies[0] != cookies[2] and all(cookie.startswith("session=") for cookie in cookies if cookie)


def test_firewall_rules_and_page_rules_match_every_spelling_of_a_path(site):
    rule = requests.post(site["api"] + "/security/firewall-rules", headers=site["headers"], timeout=10,
                         json={"field": "path", "operator": "starts_with", "value": "/admin", "action": "block"})
    assert rule.status_code == 201, rule.text
    page_rule = requests.post(site["api"] + "/page-rules", headers=site["headers"], timeout=10,
                              json={"pattern": f"{site['name']}/old/*", "forwarding_url": f"https://{site['name']}/new/$1",
                                    "forwarding_status": 301})
    assert page_rule.status_code == 201, page_rule.text
    try:
        def ruled(target):
            """Blocked by the customer's rule (not by the managed WAF, which stops ../ on its own)."""
            status, _, body = raw_get(site, target)
            return status == 403 and b"A firewall rule of the site blocked this request." in body

        wait_for(lambda: ruled("/admin/panel"), timeout=10)
        for spelling in ("//admin/panel", "/./admin/panel", "/%61dmin/panel", "/%2e/admin/panel", "/admin%2Fpanel", "///admin",
                         "/admin/./panel", "/%41DMIN/panel", "/%2F%2Fadmin/panel", "/.%2fadmin/panel"):
            assert ruled(spelling), spelling
        assert ruled("/administration-guide"), "starts_with is a prefix"
        assert raw_get(site, "/%2561dmin/panel")[0] == 200, "decoded once, as the origin decodes it"
        wait_for(lambda: raw_get(site, "/old/a")[0] == 301, timeout=10)
        for spelling in ("//old/a", "/./old/a", "/%6fld/a", "/%2e/old/a"):
            status, headers, _ = raw_get(site, spelling)
            assert status == 301 and headers["location"] == f"https://{site['name']}/new/a", spelling
    finally:
        requests.delete(f"{site['api']}/security/firewall-rules/{rule.json()['id']}", headers=site["headers"], timeout=10)
        requests.delete(f"{site['api']}/page-rules/{page_rule.json()['id']}", headers=site["headers"], timeout=10)


def test_cache_deception_armor_is_on_by_default(site):
    for target in ("/account/settings/x.css", "/account/settings/avatar.png", "/account/settings;x.js", "/account/settings%2Fx.css"):
        first = raw_get(site, target)
        second = raw_get(site, target)
        assert first[0] == 200 and "stored" not in cache_status(first[1]), target
        assert "hit" not in cache_status(second[1]), (target, second[1])
    css = f"/static/site-{uuid.uuid4().hex[:6]}.css"
    raw_get(site, css)
    assert "hit" in cache_status(raw_get(site, css)[1]), "a real stylesheet is still cached for its extension"


def test_private_origins_are_refused_even_in_dev(dev, site):
    for origin_ip in ("10.0.0.1", "0.0.0.0", "169.254.169.254", "192.168.1.1:8080", "[::ffff:10.0.0.1]", "fd00::1"):
        response = requests.post(f"{dev.url}/api/v1/cdn/domains", headers=site["headers"], timeout=10,
                                 json={"domain": f"priv{uuid.uuid4().hex[:6]}.example", "origin_ip": origin_ip})
        assert response.status_code == 422 and response.json()["field"] == "origin_ip", (origin_ip, response.text)
    record = requests.post(site["api"] + "/records", headers=site["headers"], timeout=10,
                           json={"name": "meta", "type": "A", "content": "169.254.169.254", "proxied": True})
    assert record.status_code == 422 and record.json()["field"] == "content", record.text
    # DNS-only records may point anywhere: the edge never connects to them.
    dns_only = requests.post(site["api"] + "/records", headers=site["headers"], timeout=10,
                             json={"name": "intranet", "type": "A", "content": "10.0.0.1", "proxied": False})
    assert dns_only.status_code == 201, dns_only.text


def headers_path(*fields):
    import urllib.parse

    return "/headers/" + urllib.parse.quote(json.dumps([list(field) for field in fields])) + f"?{uuid.uuid4().hex[:6]}"


def test_caching_fields_are_parsed_as_rfc_9111_and_9213_say(site):
    def second(target):
        raw_get(site, target)
        return cache_status(raw_get(site, target)[1])

    # Stale: a directive twice with different values, an Expires that is not an HTTP-date.
    assert "hit" not in second(headers_path(("Cache-Control", "max-age=0, max-age=120")))
    assert "hit" not in second(headers_path(("Cache-Control", "max-age=120"), ("Cache-Control", "max-age=0")))
    assert "hit" not in second(headers_path(("Expires", "0")))
    assert "hit" not in second(headers_path(("Expires", "Thu, 01 Dec 2099 16:00:00 UTC")))
    # An Age that is not an integer is ignored, not read as a huge or fractional age.
    assert "hit" in second(headers_path(("Cache-Control", "max-age=60"), ("Age", "1e9")))
    assert "hit" in second(headers_path(("Cache-Control", "max-age=60"), ("Age", "5, 500")))
    assert "hit" not in second(headers_path(("Cache-Control", "max-age=60"), ("Age", "500, 5")))
    # CDN-Cache-Control that is not a valid Dictionary is ignored as a whole.
    assert "hit" in second(headers_path(("Cache-Control", "max-age=60"), ("CDN-Cache-Control", "Max-Age=0")))
    assert "hit" not in second(headers_path(("Cache-Control", "max-age=60"), ("CDN-Cache-Control", "max-age=0")))
    assert "hit" in second(headers_path(("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=60")))


def test_no_cache_is_never_served_stale_even_when_the_origin_fails(site):
    target = f"/nocache-{uuid.uuid4().hex[:6]}"
    assert raw_get(site, target)[0] == 200
    Origin.failing.add(target)
    try:
        status, headers, body = raw_get(site, target)
        assert status == 500 and body == b"origin error", (status, headers)
    finally:
        Origin.failing.discard(target)


def test_interim_responses_are_neither_stored_nor_merged(site):
    target = f"/early-hints?{uuid.uuid4().hex[:6]}"
    status, headers, body = raw_get(site, target)
    assert status == 200 and body == b"final" and "set-cookie" not in headers and "link" not in headers, headers
    assert "stored" in cache_status(headers)
    status, headers, body = raw_get(site, target)
    assert "hit" in cache_status(headers) and body == b"final" and "set-cookie" not in headers
