"""Malformed requests on the edge's plain-HTTP port: every parser error is answered at once with the
status RFC 9112 and RFC 9110 give (400, 501, 505, 414, 431) and the connection closed; never a
408 after the Slowloris guard's ten seconds. HTTP/2 protocol errors are answered with GOAWAY or
RST_STREAM at once (RFC 9113 §5.4)."""

import socket
import struct
import time

import hpack
import pytest

from conftest import proxied_site, serve_http
from test_edge_cache import Origin

HOST = "Host: malformed.example\r\n"


@pytest.fixture(scope="module")
def site(dev):
    with serve_http(Origin) as port:
        yield proxied_site(dev, port, "malformed")


def exchange(port, payload, wait=30.0):
    """Sends `payload`, reads until the edge closes; returns (everything read, seconds taken, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        started = time.monotonic()
        connection.sendall(payload)
        received = b""
        closed = False
        try:
            while chunk := connection.recv(65536):
                received += chunk
            closed = True
        except (socket.timeout, ConnectionResetError):
            pass
        return received, time.monotonic() - started, closed


def status_of(answer):
    line = answer.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1.1 "), answer[:200]
    return int(line.split(b" ")[1])


CASES = {
    # A request line that is not HTTP at all.
    "TLS ClientHello on the plain port": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32), 400),
    "a word and no target": (b"HELLO\r\n\r\n", 400),
    "a request line without a version": (b"GET /\r\n" + HOST.encode() + b"\r\n", 400),
    "a version that is not HTTP": (b"GET / FOO/1.1\r\n" + HOST.encode() + b"\r\n", 400),
    "a version with trailing junk": (b"GET / HTTP/1.1x\r\n" + HOST.encode() + b"\r\n", 400),
    "a control character in the target": (b"GET /a\x01b HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 400),
    # Unknown methods: tokens the edge cannot forward (RFC 9110 §9.1).
    "an unknown method token": (b"CUST / HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 501),
    "a known method with a suffix": (b"PURGEX / HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 501),
    "a lower-case method (methods are case-sensitive)": (b"get / HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 501),
    # Versions the edge does not speak as text (RFC 9110 §15.6.6).
    "HTTP/2.0 as text": (b"GET / HTTP/2.0\r\n" + HOST.encode() + b"\r\n", 505),
    "HTTP/3.0 as text": (b"GET / HTTP/3.0\r\n" + HOST.encode() + b"\r\n", 505),
    # Field lines (RFC 9112 §5).
    "a field line without a colon": (b"GET / HTTP/1.1\r\n" + HOST.encode() + b"NoColonHere\r\n\r\n", 400),
    "whitespace between a field name and its colon": (b"GET / HTTP/1.1\r\nHost : malformed.example\r\n\r\n", 400),
    "a space inside a field name": (b"GET / HTTP/1.1\r\n" + HOST.encode() + b"Bad Name: x\r\n\r\n", 400),
    # Message framing (RFC 9112 §6.3).
    "an unparsable Content-Length": (b"POST / HTTP/1.1\r\n" + HOST.encode() + b"Content-Length: abc\r\n\r\n", 400),
    "a negative Content-Length": (b"POST / HTTP/1.1\r\n" + HOST.encode() + b"Content-Length: -1\r\n\r\n", 400),
    "two different Content-Lengths": (b"POST / HTTP/1.1\r\n" + HOST.encode() + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
    "Content-Length with chunked": (
        b"POST / HTTP/1.1\r\n" + HOST.encode() + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    "a chunk size that is not hexadecimal": (
        b"POST / HTTP/1.1\r\n" + HOST.encode() + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    # Sizes.
    "a 20 KB target": (b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n" + HOST.encode() + b"\r\n", 414),
    "a 40 KB field": (b"GET / HTTP/1.1\r\n" + HOST.encode() + b"X-Big: " + b"b" * 40_000 + b"\r\n\r\n", 431),
    "200 fields": (b"GET / HTTP/1.1\r\n" + HOST.encode() + b"".join(b"X-F%d: v\r\n" % n for n in range(200)) + b"\r\n", 431),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_malformed_request_is_answered_at_once_and_the_connection_closed(dev, site, name):
    payload, expected = CASES[name]
    answer, seconds, closed = exchange(dev.edge_port, payload)
    assert answer, f"{name}: no answer in {seconds:.1f} s"
    # "At once" as against the guard's 408 after its 10 s header timeout: the status tells them
    # apart, so no clock is read (a loaded machine is slow, not wrong).
    assert status_of(answer) == expected, (name, answer[:200])
    assert closed and b"Connection: close" in answer, name


def test_a_malformed_request_after_a_good_one_on_the_same_connection(dev, site):
    good = f"GET /good?cc=max-age%3D60 HTTP/1.1\r\nHost: {site['name']}\r\n\r\n".encode()
    answer, seconds, closed = exchange(dev.edge_port, good + b"CUST / HTTP/1.1\r\n" + HOST.encode() + b"\r\n")
    responses = answer.split(b"HTTP/1.1 ")[1:]
    assert [int(r.split(b" ")[0]) for r in responses] == [200, 501], answer[:400]
    assert closed


def test_well_formed_requests_still_pass(dev, site):
    for request in (f"GET / HTTP/1.1\r\nHost: {site['name']}\r\nConnection: close\r\n\r\n",
                    f"GET / HTTP/1.0\r\nHost: {site['name']}\r\n\r\n",
                    f"OPTIONS * HTTP/1.1\r\nHost: {site['name']}\r\nConnection: close\r\n\r\n"):
        answer, seconds, _ = exchange(dev.edge_port, request.encode())
        # Forwarded: the test's origin (Python's http.server) answers, whatever it thinks of OPTIONS.
        assert b"Server: BaseHTTP" in answer and b"Cache-Status: DCDN" in answer, (request, answer[:300])


# HTTP/2 with prior knowledge (RFC 9113 §3.3).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


SETTINGS, HEADERS, RST_STREAM, GOAWAY, WINDOW_UPDATE = 0x4, 0x1, 0x3, 0x7, 0x8


def frames(data):
    """The frames in `data`: (type, stream, payload)."""
    found = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        found.append((data[3], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF, data[9:9 + length]))
        data = data[9 + length:]
    return found


def request_headers(site, extra=()):
    return hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", site["name"]), *extra])


H2_CASES = {
    # Connection errors: GOAWAY with the code RFC 9113 gives.
    "a SETTINGS frame of the wrong length": (frame(SETTINGS, 0, 0, b"\x00\x01\x00"), GOAWAY, 0x6),  # FRAME_SIZE_ERROR
    "HEADERS on stream 0": (lambda site: frame(HEADERS, 0x5, 0, request_headers(site)), GOAWAY, 0x1),  # PROTOCOL_ERROR
    "a header block that is not HPACK": (frame(HEADERS, 0x5, 1, b"\xff\xff\xff\xff\xff"), GOAWAY, 0x9),  # COMPRESSION_ERROR
    "a zero WINDOW_UPDATE on the connection": (frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"), GOAWAY, 0x1),
    "a client stream with an even number": (lambda site: frame(HEADERS, 0x5, 2, request_headers(site)), GOAWAY, 0x1),
    # Stream errors: RST_STREAM on the stream, the connection lives on.
    "an upper-case field name": (lambda site: frame(HEADERS, 0x5, 1, request_headers(site, [("X-Upper", "a")])), RST_STREAM, 0x1),
    "a connection-specific field": (lambda site: frame(HEADERS, 0x5, 1, request_headers(site, [("connection", "close")])), RST_STREAM, 0x1),
}


@pytest.mark.parametrize("name", list(H2_CASES))
def test_an_http2_protocol_error_is_answered_with_goaway_or_rst_stream_at_once(dev, site, name):
    payload, kind, code = H2_CASES[name]
    payload = payload(site) if callable(payload) else payload
    with socket.create_connection(("127.0.0.1", dev.edge_port), timeout=30) as connection:
        connection.sendall(PREFACE + frame(SETTINGS, 0, 0))
        started = time.monotonic()
        connection.sendall(payload)
        received, answer = b"", None
        while answer is None and time.monotonic() - started < 30:
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            received += chunk
            answer = next(((k, s, p) for k, s, p in frames(received) if k in (GOAWAY, RST_STREAM)), None)
        assert answer, f"{name}: no GOAWAY or RST_STREAM; frames {[(k, s) for k, s, _ in frames(received)]}"
        found, stream, body = answer
        error = int.from_bytes(body[-4:] if found == RST_STREAM else body[4:8], "big")
        # The error code tells a protocol error from any timeout's GOAWAY: no clock is read.
        assert (found, error) == (kind, code), (name, found, error)
