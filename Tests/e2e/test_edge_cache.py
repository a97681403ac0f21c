"""The edge's RFC 9111 cache, domain settings, page rules, purge and analytics, against an origin
the tests control. Each test uses its own query string, so cache keys never collide."""

import concurrent.futures
import gzip
import threading
import time
import urllib.parse
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from conftest import proxied_site, serve_http
from test_dns import wait_for


class Origin(BaseHTTPRequestHandler):
    """Answers as the query asks: cc, cdncc, vary, tag, status, etag, lm, size, delay, type,
    cookie. Counts requests per path+query and remembers the last request's headers."""

    protocol_version = "HTTP/1.1"
    hits = {}
    seen = {}
    failing = set()  # paths answered with 500
    closing = set()  # paths whose connection is dropped without an answer
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def answer(self, with_body):
        with self.lock:
            Origin.hits[self.path] = Origin.hits.get(self.path, 0) + 1
            Origin.seen[self.path] = dict(self.headers)
            count = Origin.hits[self.path]
        base = self.path.split("?")[0]
        if base in Origin.closing:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if "delay" in query:
            time.sleep(float(query["delay"]))
        status = 500 if base in Origin.failing else int(query.get("status", "200"))
        size = int(query.get("size", "0"))
        body = (f"body {count} of {self.path}\n".encode() + b"x" * size) if status != 304 else b""
        etag = query.get("etag")
        if etag and self.headers.get("If-None-Match") == f'"{etag}"':
            status, body = 304, b""
        self.send_response(status)
        self.send_header("Content-Type", query.get("type", "text/plain"))
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Date", formatdate(usegmt=True))
        for key, header in [("cc", "Cache-Control"), ("cdncc", "CDN-Cache-Control"), ("vary", "Vary"), ("tag", "Cache-Tag"), ("cookie", "Set-Cookie"), ("encoding", "Content-Encoding")]:
            if key in query:
                self.send_header(header, query[key])
        if etag:
            self.send_header("ETag", f'"{etag}"')
        if "lm" in query:
            self.send_header("Last-Modified", formatdate(time.time() - float(query["lm"]), usegmt=True))
        self.end_headers()
        if with_body and status != 304:
            self.wfile.write(body)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(True)


@pytest.fixture(scope="module")
def origin():
    with serve_http(Origin) as port:
        yield port


@pytest.fixture(scope="module")
def site(dev, origin):
    return proxied_site(dev, origin, "cache")


def path(**query):
    query.setdefault("t", uuid.uuid4().hex[:8])
    return "/o?" + urllib.parse.urlencode(query)


def get(site, target, method="GET", **headers):
    return requests.request(method, site["edge"] + target, headers={"Host": site["name"], **headers}, timeout=15, allow_redirects=False)


def status(response):
    return response.headers.get("Cache-Status", "")


def hits(target):
    return Origin.hits.get(target, 0)


def test_miss_then_hit_with_age_and_cache_status(site):
    target = path(cc="public, max-age=60")
    started = time.monotonic()
    first, second = get(site, target), get(site, target)
    elapsed = time.monotonic() - started
    assert status(first) == "DCDN; fwd=uri-miss; fwd-status=200; stored"
    assert status(second).startswith("DCDN; hit; ttl=")
    assert second.text == first.text and hits(target) == 1
    # Age counts the whole seconds the copy has been stored (RFC 9111 §5.1): no more than passed.
    assert "Age" not in first.headers or first.headers["Age"] == "0"
    assert 0 <= int(second.headers["Age"]) <= int(elapsed) + 1, (second.headers["Age"], elapsed)
    # Freshness left and age add up to max-age, to the second (each is rounded on its own).
    assert 59 <= int(status(second).split("ttl=")[1].split(";")[0]) + int(second.headers["Age"]) <= 60


def test_repeated_hits_stay_exact_per_second_encoding_and_method(site):
    """Hot objects are answered from the event loop with a remembered header block: it must still
    show the current Age and TTL, and never serve one request's variant to another."""
    target = path(cc="public, max-age=60", size="3000", type="text/html")
    with requests.Session() as session:
        fetch = lambda method="GET", **headers: session.request(method, site["edge"] + target, headers={"Host": site["name"], **headers}, timeout=10, stream=True)
        fetch().raw.read()
        plain = [fetch(**{"Accept-Encoding": "identity"}) for _ in range(3)]
        zipped = fetch(**{"Accept-Encoding": "gzip"})
        head = fetch("HEAD", **{"Accept-Encoding": "identity"})
        bodies = [r.raw.read() for r in plain]
        assert all("Content-Encoding" not in r.headers and len(b) == int(r.headers["Content-Length"]) for r, b in zip(plain, bodies))
        assert bodies[0] == bodies[1] == bodies[2] and len(bodies[0]) > 3000
        assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.raw.read()) == bodies[0]
        assert head.headers["Content-Length"] == plain[0].headers["Content-Length"] and head.raw.read() == b""
        ttl = lambda r: int(status(r).split("ttl=")[1].split(";")[0])
        before = fetch(**{"Accept-Encoding": "identity"})
        time.sleep(2.1)
        after = fetch(**{"Accept-Encoding": "identity"})
        assert int(after.headers["Age"]) >= int(before.headers["Age"]) + 2
        assert ttl(after) <= ttl(before) - 2
    assert hits(target) == 1


@pytest.mark.parametrize("query", [{"cc": "no-store, max-age=60"}, {"cc": "private, max-age=60"}, {"cc": "max-age=60", "cookie": "session=1"}, {"cc": "public, max-age=60", "vary": "*"}])
def test_forbidden_responses_are_not_stored(site, query):
    target = path(**query)
    get(site, target)
    second = get(site, target)
    assert "stored" not in status(second) and "hit" not in status(second)
    assert hits(target) == 2


def test_authorization_needs_explicit_permission(site):
    plain = path(cc="max-age=60")
    get(site, plain, Authorization="Bearer x")
    get(site, plain, Authorization="Bearer x")
    assert hits(plain) == 2
    public = path(cc="public, max-age=60")
    get(site, public, Authorization="Bearer x")
    assert "hit" in status(get(site, public, Authorization="Bearer x"))
    assert hits(public) == 1


def test_vary_keeps_one_variant_per_header_value(site):
    target = path(cc="max-age=60", vary="X-Variant")
    a = get(site, target, **{"X-Variant": "a"})
    b = get(site, target, **{"X-Variant": "b"})
    assert "vary-miss" in status(b) and a.text != b.text
    again = get(site, target, **{"X-Variant": "a"})
    assert "hit" in status(again) and again.text == a.text
    assert hits(target) == 2


def test_stale_response_is_revalidated_with_its_etag_and_updated_by_304(site):
    target = path(cc="max-age=1", etag="v1")
    first = get(site, target)
    time.sleep(2.1)
    second = get(site, target)
    assert status(second).startswith("DCDN; fwd=stale; fwd-status=304")
    assert Origin.seen[target]["If-None-Match"] == '"v1"'
    assert second.text == first.text
    assert "hit" in status(get(site, target)), "the 304 made the stored response fresh again"


def test_stale_while_revalidate_serves_at_once_and_refreshes_in_the_background(site):
    target = path(cc="max-age=1, stale-while-revalidate=30")
    first = get(site, target)
    time.sleep(2.1)
    stale = get(site, target)
    assert "detail=stale-while-revalidate" in status(stale) and stale.text == first.text
    wait_for(lambda: hits(target) == 2, timeout=5)
    wait_for(lambda: "body 2" in get(site, target).text, timeout=5)


def test_stale_if_error_hides_an_origin_error(site):
    base = f"/sie{uuid.uuid4().hex[:6]}"
    target = base + "?cc=max-age%3D1%2C+stale-if-error%3D60"
    first = get(site, target)
    Origin.failing.add(base)
    try:
        time.sleep(2.1)
        served = get(site, target)
        assert served.status_code == 200 and served.text == first.text
        assert "fwd-status=500" in status(served) and "detail=stale-if-error" in status(served)
    finally:
        Origin.failing.discard(base)


def test_stale_content_is_served_while_the_origin_is_down_unless_must_revalidate(site):
    base = f"/down{uuid.uuid4().hex[:6]}"
    lenient, strict = base + "?cc=max-age%3D1", base + "?cc=max-age%3D1%2C+must-revalidate"
    first = get(site, lenient)
    get(site, strict)
    Origin.closing.add(base)
    try:
        time.sleep(2.1)
        served = get(site, lenient)
        assert served.status_code == 200 and served.text == first.text
        assert "detail=origin-unreachable" in status(served)
        assert get(site, strict).status_code == 502
    finally:
        Origin.closing.discard(base)


def test_concurrent_misses_are_collapsed_into_one_origin_fetch(site):
    target = path(cc="max-age=60", delay="1")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: get(site, target), range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert hits(target) == 1
    assert sum("collapsed" in status(r) for r in responses) == 7


def test_head_is_answered_from_the_stored_get(site):
    target = path(cc="max-age=60", size="500")
    body = get(site, target, **{"Accept-Encoding": "identity"}).content
    head = get(site, target, method="HEAD", **{"Accept-Encoding": "identity"})
    assert "hit" in status(head) and head.content == b""
    assert int(head.headers["Content-Length"]) == len(body)
    assert hits(target) == 1


def test_ranges_are_served_from_the_stored_object(site):
    target = path(cc="max-age=60", size="1000")
    # A Range on a miss fetches the whole object, stores it and answers the range.
    part = get(site, target, Range="bytes=0-9")
    assert part.status_code == 206 and part.headers["Content-Range"].startswith("bytes 0-9/") and len(part.content) == 10
    whole = get(site, target).content
    tail = get(site, target, Range="bytes=-5")
    assert tail.status_code == 206 and tail.content == whole[-5:] and "hit" in status(tail)
    middle = get(site, target, Range="bytes=100-199")
    assert middle.content == whole[100:200]
    beyond = get(site, target, Range=f"bytes={len(whole) + 10}-")
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(whole)}"
    assert hits(target) == 1


def test_unsafe_methods_invalidate_the_url(site):
    target = path(cc="max-age=60")
    get(site, target)
    assert "hit" in status(get(site, target))
    assert requests.post(site["edge"] + target, data=b"x", headers={"Host": site["name"]}, timeout=10).status_code == 200
    assert "uri-miss" in status(get(site, target))


def test_cdn_cache_control_targets_the_edge(site):
    target = path(cc="no-store", cdncc="max-age=60")
    get(site, target)
    second = get(site, target)
    assert "hit" in status(second) and second.headers["Cache-Control"] == "no-store"


def test_heuristic_freshness_only_where_allowed(site):
    modified = "/page.html?lm=864000&t=" + uuid.uuid4().hex[:6]
    get(site, modified)
    assert "hit" in status(get(site, modified)), "10% of the Last-Modified age makes it fresh"
    plain = "/page.html?t=" + uuid.uuid4().hex[:6]
    get(site, plain)
    assert "hit" not in status(get(site, plain)), "no validators, no explicit freshness, not a static file"
    styles = "/site.css?type=text/css&t=" + uuid.uuid4().hex[:6]
    get(site, styles)
    assert "hit" in status(get(site, styles)), "static files get the edge TTL at the standard level"
    mislabelled = "/site.css?t=" + uuid.uuid4().hex[:6]  # text/plain: not a stylesheet (Cache Deception Armor)
    get(site, mislabelled)
    assert "hit" not in status(get(site, mislabelled))
    teapot = path(status="418")
    get(site, teapot)
    assert "hit" not in status(get(site, teapot)), "418 is not cacheable by default"


def test_compression_with_vary_and_weak_etag(site):
    target = path(cc="max-age=60", size="5000", type="text/css", etag="c1")
    plain = get(site, target, **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    zipped = requests.get(site["edge"] + target, headers={"Host": site["name"], "Accept-Encoding": "gzip"}, timeout=10, stream=True)
    raw = zipped.raw.read()
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(raw) == plain.content
    assert zipped.headers["ETag"] == 'W/"c1"'
    brotli = requests.get(site["edge"] + target, headers={"Host": site["name"], "Accept-Encoding": "br;q=1, gzip;q=0.5"}, timeout=10, stream=True)
    assert brotli.headers["Content-Encoding"] == "br" and len(brotli.raw.read()) < len(plain.content) / 5
    image = path(cc="max-age=60", size="5000", type="image/png")
    assert "Content-Encoding" not in get(site, image, **{"Accept-Encoding": "gzip"}).headers
    already = path(cc="max-age=60", size="5000", encoding="gzip")
    passed = requests.get(site["edge"] + already, headers={"Host": site["name"], "Accept-Encoding": "br"}, timeout=10, stream=True)
    assert passed.headers["Content-Encoding"] == "gzip", "never compressed twice"


def test_unknown_hosts_and_edge_pages_carry_cache_status(site):
    unknown = requests.get(site["edge"] + "/", headers={"Host": "nobody.example"}, timeout=5)
    assert unknown.status_code == 404 and unknown.headers["Cache-Status"] == "DCDN; detail=edge-404"


def patch(site, **settings):
    response = requests.patch(site["api"], json=settings, headers=site["headers"], timeout=10)
    assert response.status_code == 200, response.text


def eventually(check, timeout=10):
    """Config changes reach the edge: eventually, with a deadline for a loaded machine."""
    wait_for(check, timeout=timeout)


def test_cache_levels_and_dev_mode(site):
    html = "/level.html?t=" + uuid.uuid4().hex[:6]
    try:
        patch(site, cache_level="aggressive")
        eventually(lambda: (get(site, html), "hit" in status(get(site, html)))[1])
        patch(site, cache_level="bypass")
        eventually(lambda: "detail=cache-level" in status(get(site, path(cc="max-age=60"))))
        patch(site, cache_level="standard", dev_mode=True)
        eventually(lambda: "detail=dev-mode" in status(get(site, html)))
    finally:
        patch(site, cache_level="standard", dev_mode=False)


def add_rule(site, **rule):
    response = requests.post(site["api"] + "/page-rules", json=rule, headers=site["headers"], timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_page_rules_first_match_wins(site):
    name = site["name"]
    rules = [
        add_rule(site, pattern=f"{name}/old/*", forwarding_url=f"https://{name}/new/$1", forwarding_status=301),
        add_rule(site, pattern=f"*{name}/api/*", cache_level="bypass"),
        add_rule(site, pattern=f"{name}/short/*", edge_ttl=1),
        add_rule(site, pattern=f"{name}/secure/*", always_https=True),
        add_rule(site, pattern=f"*{name}/*", browser_ttl=7200),
    ]
    try:
        listed = requests.get(site["api"] + "/page-rules", headers=site["headers"], timeout=10).json()
        assert [rule["position"] for rule in listed["page_rules"]] == [1, 2, 3, 4, 5]
        eventually(lambda: get(site, "/old/a/b?x=1").status_code == 301)
        assert get(site, "/old/a/b?x=1").headers["Location"] == f"https://{name}/new/a/b?x=1"
        assert "detail=page-rule" in status(get(site, "/api/users?cc=max-age%3D60"))
        short = "/short/x?cc=max-age%3D600&t=" + uuid.uuid4().hex[:6]
        get(site, short)
        time.sleep(1.5)
        assert "fwd=stale" in status(get(site, short)) or "uri-miss" in status(get(site, short)), "edge TTL 1 s overrides max-age=600"
        secure = get(site, "/secure/page")
        assert secure.status_code == 301 and secure.headers["Location"] == f"https://{name}/secure/page"
        assert get(site, path(cc="public, max-age=60")).headers["Cache-Control"] == "public, max-age=7200"
    finally:
        for rule in rules:
            requests.delete(f"{site['api']}/page-rules/{rule['id']}", headers=site["headers"], timeout=10)


def test_page_rule_validation(site):
    bad = [
        ({"pattern": "other.example/*", "cache_level": "bypass"}, "pattern"),
        ({"pattern": f"{site['name']}/*"}, "actions"),
        ({"pattern": f"{site['name']}/*", "cache_level": "fast"}, "cache_level"),
        ({"pattern": f"{site['name']}/*", "forwarding_url": "ftp://x"}, "forwarding_url"),
        ({"pattern": f"{site['name']}/*", "forwarding_url": "https://x.example/", "edge_ttl": 60}, "forwarding_url"),
        ({"pattern": f"{site['name']}/" + "*" * 9, "cache_level": "bypass"}, "pattern"),
    ]
    for body, field in bad:
        response = requests.post(site["api"] + "/page-rules", json=body, headers=site["headers"], timeout=10)
        assert response.status_code == 422 and response.json()["field"] == field, (body, response.text)


def purge(site, **body):
    response = requests.post(site["api"] + "/purge", json=body, headers=site["headers"], timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


@pytest.mark.parametrize("kind", ["urls", "prefixes", "tags", "everything"])
def test_purge_reaches_the_edge(site, kind):
    prefix = f"/p{uuid.uuid4().hex[:6]}/"
    kept = prefix.replace("/p", "/k") + "?cc=max-age%3D600"
    target = prefix + "item?cc=max-age%3D600&tag=Alpha%2Cbeta"
    for url in (target, kept):
        get(site, url)
        assert "hit" in status(get(site, url))
    body = {
        "urls": {"urls": [f"http://{site['name']}{target}"]},
        "prefixes": {"prefixes": [f"{site['name']}{prefix}"]},
        "tags": {"tags": ["beta"]},
        "everything": {"everything": True},
    }[kind]
    created = purge(site, **body)
    # Eventually, with a deadline for a loaded machine; the speed is scripts/bench's to measure.
    wait_for(lambda: "hit" not in status(get(site, target)), timeout=15)
    if kind != "everything":
        assert "hit" in status(get(site, kept)), "a purge removes only what it selects"
    listed = requests.get(site["api"] + "/purges", headers=site["headers"], timeout=10).json()
    assert listed["purges"][0]["id"] == created["id"]
    wait_for(lambda: requests.get(site["api"] + "/purges", headers=site["headers"], timeout=10).json()["purges"][0]["nodes_done"] >= 1, timeout=10, interval=0.5)


def test_purge_validation(site):
    for body, field in [({}, "everything"), ({"urls": ["https://elsewhere.example/a"]}, "urls"), ({"tags": []}, "tags"), ({"everything": True, "tags": ["a"]}, "everything")]:
        response = requests.post(site["api"] + "/purge", json=body, headers=site["headers"], timeout=10)
        assert response.status_code == 422 and response.json()["field"] == field, (body, response.text)


def test_analytics_count_exactly_what_a_domain_of_its_own_served(dev, origin):
    """A domain no other test touches: the API's totals move by exactly the requests sent."""
    own = proxied_site(dev, origin, "stats")

    def totals():
        return requests.get(own["api"] + "/analytics", params={"period": "1h"}, headers=own["headers"], timeout=10).json()["totals"]

    # The set-up's own probe ("/" until the edge knew the site: one request that reached the
    # origin) is reported first; then the baseline.
    wait_for(lambda: totals()["requests"] == 1, timeout=20, interval=0.5)
    before = totals()
    cached = path(cc="max-age=600")
    sent = [get(own, cached, **{"Accept-Encoding": "identity"}) for _ in range(5)]  # 1 miss, 4 hits
    sent += [get(own, path(status="404"), **{"Accept-Encoding": "identity"}) for _ in range(2)]
    sent += [get(own, path(status="301"), **{"Accept-Encoding": "identity"})]
    sent += [get(own, path(status="503"), **{"Accept-Encoding": "identity"}) for _ in range(3)]
    assert [r.status_code for r in sent] == [200] * 5 + [404, 404, 301, 503, 503, 503]
    expected = {
        "requests": 11, "cache_hits": 4, "status2xx": 5, "status3xx": 1, "status4xx": 2, "status5xx": 3,
        "bytes": sum(len(r.content) for r in sent),
    }

    def moved():
        now = totals()
        return {key: now[key] - before[key] for key in expected}

    wait_for(lambda: moved()["requests"] >= 11, timeout=20, interval=0.5)
    assert moved() == expected


def test_analytics_counts_requests_and_hits(site):
    target = path(cc="max-age=60")
    for _ in range(5):
        get(site, target)

    def counted():
        data = requests.get(site["api"] + "/analytics", params={"period": "1h"}, headers=site["headers"], timeout=10).json()
        return data["totals"]["requests"] >= 5 and data["totals"]["cache_hits"] >= 4 and data

    wait_for(counted, timeout=15, interval=0.5)
    data = counted()
    assert data["interval_seconds"] == 60 and len(data["buckets"]) == 60
    assert 0 < data["totals"]["cache_hit_ratio"] <= 1
    assert requests.get(site["api"] + "/analytics", params={"period": "2y"}, headers=site["headers"], timeout=10).status_code == 422
