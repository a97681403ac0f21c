"""The image CDN (/cdn-cgi/image) on the coordinator and on the edge: every parameter and format
checked by decoding the output, Accept negotiation, caching, and an SSRF battery. Sources come
from a local origin the tests control, reachable only because the operator option
`image_private_sources` names it (images.test → that origin)."""

import io
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from PIL import Image

from conftest import Instance, proxied_site, serve_http
from test_dns import wait_for


def jpeg(width, height, orientation=None, quality=90):
    image = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    exif[0x010F] = "Test camera"  # Make: metadata that must not survive
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png_with_alpha(width, height):
    image = Image.new("RGBA", (width, height), (255, 0, 0, 96))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pixel_bomb():
    """A small file that would decode to 64 megapixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG", optimize=True)
    return out.getvalue()


class Sources(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    files = {}
    hits = {}
    lock = threading.Lock()
    port = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        with self.lock:
            Sources.hits[path] = Sources.hits.get(path, 0) + 1
        if path.startswith("/hop/"):
            left = int(path.split("/")[2])
            return self.redirect("/photo.jpg" if left == 0 else f"/hop/{left - 1}")
        if path == "/to-loopback":
            return self.redirect(f"http://127.0.0.1:{Sources.port}/photo.jpg")
        if path == "/to-localhost":
            return self.redirect(f"http://localhost:{Sources.port}/photo.jpg")
        if path == "/to-metadata":
            return self.redirect("http://169.254.169.254/latest/meta-data/")
        if path == "/endless.jpg":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"\xff" * 65536
            try:
                for _ in range(400):  # 25 MiB
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if path not in Sources.files:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, kind = Sources.files[path]
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=3600")
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the fetcher hung up on an oversize body, as it should

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def images():
    Sources.files = {
        "/photo.jpg": (jpeg(1600, 1200, orientation=6), "image/jpeg"),
        "/landscape.jpg": (jpeg(1200, 800), "image/jpeg"),
        "/alpha.png": (png_with_alpha(400, 200), "image/png"),
        "/bomb.png": (pixel_bomb(), "image/png"),
        "/big.jpg": (b"\xff\xd8" + b"\0" * (21 * 1024 * 1024), "image/jpeg"),
        "/notes.txt": (b"just text, not an image", "text/plain"),
        "/page.svg": (b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "image/svg+xml"),
    }
    with serve_http(Sources) as port:
        Sources.port = port
        instance = Instance("dev", env={"DCDN_IMAGE_PRIVATE_SOURCES": f"images.test=127.0.0.1:{port}"})
        try:
            yield {"dev": instance, "origin": port, "api": instance.url}
        finally:
            instance.stop()


def get(images, query, accept="*/*", **headers):
    return requests.get(f"{images['api']}/cdn-cgi/image/", params=query, headers={"Accept": accept, **headers}, timeout=60)


def decoded(response):
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


SOURCE = "http://images.test/photo.jpg"  # 1600×1200 stored, EXIF orientation 6: 1200×1600 upright


@pytest.mark.parametrize("f, pil", [("webp", "WEBP"), ("avif", "AVIF"), ("jpeg", "JPEG"), ("png", "PNG")])
def test_each_format_decodes_with_the_asked_size(images, f, pil):
    response = get(images, {"url": SOURCE, "w": 300, "f": f})
    image = decoded(response)
    assert image.format == pil and response.headers["Content-Type"] == f"image/{f}"
    assert image.size == (300, 400), "EXIF orientation applied, aspect kept"


def test_metadata_is_stripped_and_quality_changes_the_size(images):
    small = get(images, {"url": SOURCE, "w": 600, "f": "jpeg", "q": 20})
    large = get(images, {"url": SOURCE, "w": 600, "f": "jpeg", "q": 95})
    assert len(small.content) < len(large.content)
    assert not decoded(large).getexif(), "EXIF (camera make, orientation) removed"


@pytest.mark.parametrize(
    "query, size",
    [
        ({"w": 200, "h": 200, "fit": "cover"}, (200, 200)),
        ({"w": 200, "h": 200, "fit": "contain"}, (150, 200)),
        ({"w": 200, "h": 200, "fit": "fill"}, (200, 200)),
        ({"w": 4000, "h": 4000, "fit": "inside"}, (1200, 1600)),
        ({"w": 2400, "h": 2400, "fit": "contain"}, (1800, 2400)),
        ({"h": 100}, (75, 100)),
        ({}, (1200, 1600)),
    ],
)
def test_fit_geometry(images, query, size):
    assert decoded(get(images, {"url": SOURCE, "f": "png", **query})).size == size


def test_cover_crops_around_the_centre_and_fill_stretches(images):
    source = "http://images.test/landscape.jpg"
    cover = decoded(get(images, {"url": source, "w": 100, "h": 100, "fit": "cover", "f": "png"}))
    fill = decoded(get(images, {"url": source, "w": 100, "h": 100, "fit": "fill", "f": "png"}))
    # The radial gradient is darkest in the middle: cropping keeps the centre, stretching keeps the edges.
    assert cover.convert("L").getpixel((50, 50)) < 60 and fill.convert("L").getpixel((50, 50)) < 60
    assert cover.convert("L").getpixel((0, 50)) < fill.convert("L").getpixel((0, 50))


@pytest.mark.parametrize(
    "accept, source, expected",
    [
        ("image/avif,image/webp,image/apng,*/*;q=0.8", SOURCE, "AVIF"),
        ("image/webp,*/*", SOURCE, "WEBP"),
        ("image/avif;q=0,image/webp", SOURCE, "WEBP"),
        ("*/*", SOURCE, "JPEG"),
        ("image/png,*/*", "http://images.test/alpha.png", "PNG"),
    ],
)
def test_auto_format_follows_accept(images, accept, source, expected):
    response = get(images, {"url": source, "w": 100}, accept=accept)
    assert decoded(response).format == expected
    assert response.headers["Vary"] == "Accept"


def test_caching_headers_etag_and_not_modified(images):
    response = get(images, {"url": SOURCE, "w": 120, "f": "webp"})
    assert response.headers["Cache-Control"] == "public, max-age=604800"
    assert "Vary" not in response.headers, "an explicit format does not depend on Accept"
    etag = response.headers["ETag"]
    assert get(images, {"url": SOURCE, "w": 120, "f": "webp"}).headers["ETag"] == etag
    assert get(images, {"url": SOURCE, "w": 121, "f": "webp"}).headers["ETag"] != etag
    again = get(images, {"url": SOURCE, "w": 120, "f": "webp"}, **{"If-None-Match": etag})
    assert again.status_code == 304 and not again.content


def test_path_form(images):
    response = requests.get(f"{images['api']}/cdn-cgi/image/width=100,f=webp,fit=scale-down/{SOURCE}", timeout=60)
    assert decoded(response).size == (100, 133) and decoded(response).format == "WEBP"


@pytest.mark.parametrize(
    "query, field",
    [
        ({"w": 100}, "url"),
        ({"url": SOURCE, "w": 0}, "w"),
        ({"url": SOURCE, "w": 5000}, "w"),
        ({"url": SOURCE, "h": "tall"}, "h"),
        ({"url": SOURCE, "q": 101}, "q"),
        ({"url": SOURCE, "f": "bmp"}, "f"),
        ({"url": SOURCE, "fit": "zoom"}, "fit"),
        ({"url": "ftp://images.test/photo.jpg"}, "url"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(images, query, field):
    response = get(images, query)
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert response.json()["detail"].startswith(field + ":") and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "source, status",
    [
        ("http://images.test/notes.txt", 415),
        ("http://images.test/page.svg", 415),
        ("http://images.test/missing.jpg", 502),
        ("http://images.test/big.jpg", 413),
        ("http://images.test/endless.jpg", 413),
        ("http://images.test/bomb.png", 422),
    ],
)
def test_bad_sources_get_clear_errors(images, source, status):
    response = get(images, {"url": source, "w": 100})
    assert response.status_code == status, response.text
    assert response.json()["detail"] and response.json()["code"]


def ssrf_attempts(port):
    """At least twenty ways to reach something internal; none may be fetched."""
    return [
        f"http://127.0.0.1:{port}/photo.jpg",
        f"http://localhost:{port}/photo.jpg",
        f"http://LOCALHOST.:{port}/photo.jpg",
        f"http://2130706433:{port}/photo.jpg",  # decimal 127.0.0.1
        f"http://0x7f000001:{port}/photo.jpg",  # hexadecimal
        f"http://0177.0.0.1:{port}/photo.jpg",  # octal
        f"http://127.1:{port}/photo.jpg",  # shortened
        f"http://0:{port}/photo.jpg",
        f"http://[::1]:{port}/photo.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/photo.jpg",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{port}/photo.jpg",
        f"http://[64:ff9b::7f00:1]:{port}/photo.jpg",  # NAT64
        f"http://[2002:7f00:1::]:{port}/photo.jpg",  # 6to4
        "http://[fd00::1]/photo.jpg",  # ULA
        "http://[fe80::1]/photo.jpg",  # link-local
        "http://10.0.0.1/photo.jpg",
        "http://172.16.0.1/photo.jpg",
        "http://192.168.0.1/photo.jpg",
        "http://100.64.0.1/photo.jpg",  # CGNAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://0.0.0.0/photo.jpg",
        "http://224.0.0.1/photo.jpg",  # multicast
        "http://images.test/to-loopback",  # redirect to 127.0.0.1
        "http://images.test/to-localhost",  # redirect to a name that resolves to loopback
        "http://images.test/to-metadata",  # redirect to link-local
    ]


def test_ssrf_battery_is_refused_without_touching_the_target(images):
    before = dict(Sources.hits)
    attempts = ssrf_attempts(images["origin"])
    assert len(attempts) >= 20
    for url in attempts:
        response = get(images, {"url": url, "w": 100})
        assert response.status_code == 400, (url, response.status_code, response.text)
        assert response.json()["code"] == "source_forbidden" and response.json()["field"] == "url", url
    for scheme_url in ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "dict://127.0.0.1:11211/"]:
        assert get(images, {"url": scheme_url}).status_code == 400, scheme_url
    assert Sources.hits.get("/photo.jpg", 0) == before.get("/photo.jpg", 0), "the internal target was never fetched"


def test_redirects_are_followed_at_most_three_times(images):
    # /hop/N answers N + 1 redirects before the photo.
    assert decoded(get(images, {"url": "http://images.test/hop/1", "w": 50})).size == (50, 67)
    assert get(images, {"url": "http://images.test/hop/2", "w": 50}).status_code == 200
    too_many = get(images, {"url": "http://images.test/hop/3", "w": 50})
    assert too_many.status_code == 502 and "redirect" in too_many.json()["detail"]


def test_the_edge_caches_results_for_seven_days_and_fetches_each_source_once(images):
    site = proxied_site(images["dev"], images["origin"], "img")
    edge = lambda query, accept="image/webp": requests.get(
        f"{site['edge']}/cdn-cgi/image/", params=query, headers={"Host": site["name"], "Accept": accept}, timeout=60
    )
    source = "http://images.test/landscape.jpg"
    before = Sources.hits.get("/landscape.jpg", 0)
    first = edge({"url": source, "w": 90})
    assert decoded(first).format == "WEBP" and decoded(first).size == (90, 60)
    assert "stored" in first.headers["Cache-Status"]
    second = edge({"url": source, "w": 90})
    assert second.headers["Cache-Status"].startswith("DCDN; hit") and second.content == first.content
    assert int(second.headers["Cache-Status"].split("ttl=")[1].split(";")[0]) > 604000
    assert decoded(edge({"url": source, "w": 90}, accept="image/avif")).format == "AVIF", "Vary: Accept keeps variants apart"
    for width in (91, 92, 93):
        assert edge({"url": source, "w": width}).status_code == 200
    # The edge's own source cache (the coordinator's is separate) fetched the source at most once.
    assert Sources.hits.get("/landscape.jpg", 0) - before <= 2
    head = requests.head(f"{site['edge']}/cdn-cgi/image/", params={"url": source, "w": 90}, headers={"Host": site["name"], "Accept": "image/webp"}, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Length"] == first.headers["Content-Length"]
    post = requests.post(f"{site['edge']}/cdn-cgi/image/", params={"url": source}, headers={"Host": site["name"]}, timeout=30)
    assert post.status_code == 405


def test_the_readme_example_works_on_a_fresh_install(dev):
    wait_for(lambda: requests.get(f"{dev.url}/cdn-cgi/image/", params={"url": "http://demo.dcdn.test/sample.jpg", "w": 400}, timeout=60).status_code == 200, timeout=30)
    response = requests.get(f"{dev.url}/cdn-cgi/image/?url=http://demo.dcdn.test/sample.jpg&w=400", timeout=60)
    assert decoded(response).size[0] == 400
