"""`dcdn node` as its own process: the disk tier survives a crash, and the node keeps serving
(hits and misses) with its last configuration while the coordinator is stopped."""

import os
import signal
import tempfile
import uuid

import pytest
import requests

from conftest import Instance, operator_coordinator, serve_http
from test_dns import wait_for
from test_edge_cache import Origin  # the same controllable origin

# The test's origin listens on loopback, which only `dcdn dev` allows by default.
LOOPBACK_ORIGINS = {"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8"}


@pytest.fixture(scope="module")
def origin():
    with serve_http(Origin) as port:
        yield port


@pytest.fixture(scope="module")
def cluster(origin):
    coordinator, headers = operator_coordinator(env=LOOPBACK_ORIGINS)
    node = requests.post(
        f"{coordinator.url}/api/v1/admin/nodes", json={"name": "edge-test", "roles": ["edge"], "region": "eu", "country": "DE", "ipv4": "192.0.2.80"},
        headers=headers, timeout=10,
    ).json()
    name = f"node{uuid.uuid4().hex[:6]}.example"
    domain = requests.post(f"{coordinator.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": f"127.0.0.1:{origin}", "ssl_mode": "off"}, headers=headers, timeout=10)
    assert domain.status_code == 201, domain.text
    edge_data = tempfile.mkdtemp()
    args = ["--coordinator-url", coordinator.url, "--node-token", node["token"], "--host", "127.0.0.1", "--data-dir", edge_data, "--http-port", "0", "--https-port", "0"]  # the node picks and prints them
    state = {"coordinator": coordinator, "args": args, "name": name, "headers": headers, "api": f"{coordinator.url}/api/v1/cdn/domains/{domain.json()['id']}"}
    state["edge"] = Instance("node", args, ready="edge listening", env=LOOPBACK_ORIGINS)
    yield state
    state["edge"].stop()
    if state["coordinator"].process.poll() is None:
        state["coordinator"].stop()


def get(cluster, target):
    return requests.get(f"http://127.0.0.1:{cluster['edge'].edge_port}{target}", headers={"Host": cluster["name"], "Accept-Encoding": "identity"}, timeout=10)


def test_disk_tier_survives_a_crash(cluster):
    small = f"/small?cc=max-age%3D600&t={uuid.uuid4().hex[:6]}"
    large = f"/large?cc=max-age%3D600&size=6000000&t={uuid.uuid4().hex[:6]}"  # above the memory tier's object size: spooled to disk
    wait_for(lambda: get(cluster, small).status_code == 200, timeout=10)
    body = get(cluster, large).content
    assert "hit" in get(cluster, small).headers["Cache-Status"]
    # Give the background disk writes a moment, then crash the node (no graceful shutdown).
    wait_for(lambda: len([f for f in os.listdir(cluster["args"][cluster["args"].index("--data-dir") + 1] + "/cache") if f.endswith(".meta")]) >= 2, timeout=10)
    cluster["edge"].process.send_signal(signal.SIGKILL)
    cluster["edge"].process.wait(10)
    cluster["edge"] = Instance("node", cluster["args"], ready="edge listening", env=LOOPBACK_ORIGINS)
    assert "cache loaded from disk" in cluster["edge"].output
    before = Origin.hits.get(small, 0), Origin.hits.get(large, 0)
    again = get(cluster, large)
    assert "hit" in again.headers["Cache-Status"] and again.content == body
    assert "hit" in get(cluster, small).headers["Cache-Status"]
    assert (Origin.hits.get(small, 0), Origin.hits.get(large, 0)) == before


def test_torn_files_are_never_served(cluster):
    cache = cluster["args"][cluster["args"].index("--data-dir") + 1] + "/cache"
    target = f"/torn?cc=max-age%3D600&t={uuid.uuid4().hex[:6]}"
    get(cluster, target)
    wait_for(lambda: any(f.endswith(".body") for f in os.listdir(cache)), timeout=10)
    cluster["edge"].stop()
    # Cut every body short, as a crash in the middle of a write to the final name would.
    for name in os.listdir(cache):
        if name.endswith(".body"):
            with open(os.path.join(cache, name), "r+b") as handle:
                handle.truncate(3)
    with open(os.path.join(cache, "spool-interrupted.tmp"), "wb") as handle:
        handle.write(b"half a write")
    cluster["edge"] = Instance("node", cluster["args"], ready="edge listening", env=LOOPBACK_ORIGINS)
    assert not os.path.exists(os.path.join(cache, "spool-interrupted.tmp"))
    response = get(cluster, target)
    assert response.status_code == 200 and "hit" not in response.headers["Cache-Status"] and response.text.startswith("body ")


def test_serves_with_the_last_configuration_while_the_coordinator_is_stopped(cluster):
    cached = f"/cached?cc=max-age%3D600&t={uuid.uuid4().hex[:6]}"
    get(cluster, cached)
    assert cluster["coordinator"].stop() == 0
    assert "hit" in get(cluster, cached).headers["Cache-Status"]
    fresh = get(cluster, f"/uncached?t={uuid.uuid4().hex[:6]}")
    assert fresh.status_code == 200 and fresh.text.startswith("body 1"), "misses still go to the origin"
    # A restarted node starts from its saved configuration, coordinator or not.
    cluster["edge"].stop()
    cluster["edge"] = Instance("node", cluster["args"], ready="edge listening", env=LOOPBACK_ORIGINS)
    assert "hit" in get(cluster, cached).headers["Cache-Status"]
