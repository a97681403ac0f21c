"""HTTP/2 (prior knowledge) and WebSocket passthrough through the edge, with real clients:
curl --http2-prior-knowledge and the `websockets` library against a `websockets` origin."""

import asyncio
import hashlib
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler

import socket

import pytest
from h2 import events as h2_events
from h2.connection import H2Connection
import websockets
import websockets.asyncio.server
from websockets.asyncio.client import connect

from conftest import proxied_site, serve_http


@pytest.fixture(scope="module")
def ws_origin():
    """An origin that echoes WebSocket messages (uppercased, to prove who answered), speaks the
    'chat' subprotocol, and answers plain HTTP requests with 200."""
    ready = threading.Event()
    state = {}

    async def echo(connection):
        state["headers"] = dict(connection.request.headers)
        async for message in connection:
            await connection.send(message.upper() if isinstance(message, str) else message[::-1])

    def plain_http(connection, request):
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(200, "plain http\n")
        return None

    async def main():
        server = await websockets.asyncio.server.serve(echo, "127.0.0.1", 0, subprotocols=["chat"], process_request=plain_http)
        state["port"] = server.sockets[0].getsockname()[1]
        state["loop"] = asyncio.get_running_loop()
        state["stop"] = asyncio.Event()
        ready.set()
        await state["stop"].wait()
        server.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(10)
    yield state
    state["loop"].call_soon_threadsafe(state["stop"].set)


@pytest.fixture(scope="module")
def site(dev, ws_origin):
    site = proxied_site(dev, ws_origin["port"], "proto")
    return {"name": site["name"], "edge": site["edge"].removeprefix("http://")}


def test_http2_with_prior_knowledge_and_http11_on_the_same_port(site):
    url = f"http://{site['edge']}/"
    for flags, version in ((["--http2-prior-knowledge"], "HTTP/2 200"), (["--http1.1"], "HTTP/1.1 200")):
        result = subprocess.run(["curl", "-si", *flags, "-H", f"Host: {site['name']}", url], capture_output=True, text=True, timeout=20)
        assert result.stdout.startswith(version), result.stdout[:200]
        assert "plain http" in result.stdout
        assert "cache-status:" in result.stdout.lower()
    # Several requests, one after the other and then concurrently, on one HTTP/2 connection.
    host, port = site["edge"].split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    h2 = H2Connection()
    h2.initiate_connection()
    connection.sendall(h2.data_to_send())

    def exchange(paths):
        streams = {}
        for path in paths:
            stream = h2.get_next_available_stream_id()
            h2.send_headers(stream, [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", site["name"])], end_stream=True)
            streams[stream] = {"path": path, "body": b""}
        connection.sendall(h2.data_to_send())
        open_streams = set(streams)
        while open_streams:
            data = connection.recv(65535)
            assert data, "the edge closed the HTTP/2 connection"
            for event in h2.receive_data(data):
                if isinstance(event, h2_events.ResponseReceived):
                    streams[event.stream_id]["status"] = dict(event.headers)[b":status"]
                elif isinstance(event, h2_events.DataReceived):
                    streams[event.stream_id]["body"] += event.data
                    h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2_events.StreamEnded):
                    open_streams.discard(event.stream_id)
            connection.sendall(h2.data_to_send())
        return list(streams.values())

    for _ in range(3):
        assert exchange(["/"])[0]["status"] == b"200"
    together = exchange(["/a", "/b", "/c", "/"])
    assert [stream["status"] for stream in together] == [b"200"] * 4
    assert all(b"plain http" in stream["body"] for stream in together)
    connection.close()


class EchoOrigin(BaseHTTPRequestHandler):
    """Says what reached it: the method, X-Forwarded-Proto, and the body's length and digest."""

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = json.dumps({"method": self.command, "proto": self.headers.get("X-Forwarded-Proto"), "length": len(body),
                            "sha256": hashlib.sha256(body).hexdigest()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def test_http2_request_bodies_reach_the_origin_and_the_connection_decides_the_scheme(dev):
    """A POST's body over HTTP/2 arrives whole; a client claiming :scheme https on a cleartext
    connection is still http to the origin (as HTTP/1.1 is)."""
    with serve_http(EchoOrigin) as port:
        site = proxied_site(dev, port, "h2body")
        host, edge_port = site["edge"].removeprefix("http://").split(":")
        connection = socket.create_connection((host, int(edge_port)), timeout=10)
        h2 = H2Connection()
        h2.initiate_connection()
        body = os.urandom(60_000)  # within the initial flow-control window
        h2.send_headers(1, [(":method", "POST"), (":path", "/upload"), (":scheme", "http"), (":authority", site["name"]),
                            ("content-length", str(len(body)))])
        for start in range(0, len(body), 16_384):  # the peer's default largest frame
            h2.send_data(1, body[start:start + 16_384], end_stream=start + 16_384 >= len(body))
        h2.send_headers(3, [(":method", "GET"), (":path", "/who"), (":scheme", "https"), (":authority", site["name"])], end_stream=True)
        connection.sendall(h2.data_to_send())
        replies, open_streams = {1: b"", 3: b""}, {1, 3}
        while open_streams:
            data = connection.recv(65535)
            assert data, "the edge closed the HTTP/2 connection"
            for event in h2.receive_data(data):
                if isinstance(event, h2_events.DataReceived):
                    replies[event.stream_id] += event.data
                    h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2_events.StreamEnded):
                    open_streams.discard(event.stream_id)
            connection.sendall(h2.data_to_send())
        connection.close()
    posted, asked = json.loads(replies[1]), json.loads(replies[3])
    assert posted == {"method": "POST", "proto": "http", "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert asked["method"] == "GET" and asked["proto"] == "http", asked


def test_websocket_messages_pass_through_both_ways(site, ws_origin):
    async def talk():
        host, port = site["edge"].split(":")
        async with connect(f"ws://{site['name']}/chat?room=1", host=host, port=int(port), subprotocols=["chat"]) as ws:
            assert ws.subprotocol == "chat", "the origin's choice reaches the visitor"
            await ws.send("hello")
            assert await ws.recv() == "HELLO"
            await ws.send(b"\x01\x02\x03")
            assert await ws.recv() == b"\x03\x02\x01"
            big = "x" * 200_000
            await ws.send(big)
            assert await ws.recv() == big.upper()

    asyncio.run(talk())
    headers = {k.lower(): v for k, v in ws_origin["headers"].items()}
    assert headers["host"] == site["name"]
    assert headers["x-forwarded-for"] == "127.0.0.1" and headers["cdn-loop"] == "dcdn"


def test_websocket_over_tls_says_https_to_the_origin(site, ws_origin, dev):
    import ssl

    async def talk():
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # no certificate is issued for test domains in dev
        async with connect(f"wss://{site['name']}/chat", host="127.0.0.1", port=dev.edge_tls_port, ssl=context, server_hostname=site["name"], subprotocols=["chat"]) as ws:
            await ws.send("over tls")
            assert await ws.recv() == "OVER TLS"

    asyncio.run(talk())
    headers = {k.lower(): v for k, v in ws_origin["headers"].items()}
    assert headers["x-forwarded-proto"] == "https"


def test_websocket_refusals_are_answered(site, dev):
    async def attempt():
        host, port = site["edge"].split(":")
        async with connect("ws://nobody.example/", host=host, port=int(port)):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 404

    # The demo origin does not speak WebSocket: the visitor gets a 502 page, not a hang.
    async def demo():
        async with connect("ws://demo.dcdn.test/", host=site["edge"].split(":")[0], port=int(site["edge"].split(":")[1])):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(demo())
    assert refused.value.response.status_code == 502


def test_a_connection_that_sends_nothing_is_closed_when_the_client_leaves(site):
    """Load testers and scanners connect and leave without a byte; the edge must close its side
    too, or such connections pile up and hold up a graceful shutdown."""
    host, port = site["edge"].split(":")
    probe = socket.create_connection((host, int(port)), timeout=5)
    probe.shutdown(socket.SHUT_WR)
    assert probe.recv(1) == b"", "the edge closes the half-closed, silent connection"
    probe.close()
