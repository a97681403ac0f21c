"""The edge's disk tier is bounded by `edge.cache_disk_mb` (DCDN_EDGE_CACHE_DISK_MB): a `dcdn
node` with a 2 MiB disk tier is filled with 300 kB objects past the limit. Once each write has
settled, the cache folder stays under the limit; the least recently used objects are the ones
dropped (an old object that was read again survives newer ones that were not), they miss again
and reach the origin, while the recent ones still hit. One response larger than the whole tier
does not flush what the tier holds."""

import json
import os
import uuid

import pytest
import requests

from conftest import admin_node, edge_node, operator_coordinator, serve_http
from test_dns import wait_for
from test_edge_cache import Origin

LIMIT_MB = 2
LIMIT = LIMIT_MB << 20
SIZE = 300_000  # seven of them are over the limit; eviction goes down to 90 % of it: six stay
ENV = {"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8", "DCDN_EDGE_CACHE_DISK_MB": str(LIMIT_MB)}


@pytest.fixture(scope="module")
def edge():
    with serve_http(Origin) as origin:
        coordinator, headers = operator_coordinator(env=ENV)
        node = None
        try:
            token = admin_node(coordinator.url, headers, ["edge"], ipv4="192.0.2.95")["token"]
            name = f"disk{uuid.uuid4().hex[:8]}.example"
            created = requests.post(f"{coordinator.url}/api/v1/cdn/domains", headers=headers, timeout=10,
                                    json={"domain": name, "origin_ip": f"127.0.0.1:{origin}", "ssl_mode": "off"})
            assert created.status_code == 201, created.text
            node = edge_node(coordinator.url, token, env=ENV)
            state = {"node": node, "name": name, "cache": os.path.join(node.node_data_dir, "cache")}
            wait_for(lambda: get(state, "/").headers.get("Cache-Status") != "DCDN; detail=edge-404", timeout=15, interval=0.1)
            yield state
        finally:
            if node:
                node.stop()
            coordinator.stop()


def get(edge, target):
    return requests.get(f"http://127.0.0.1:{edge['node'].edge_port}{target}", headers={"Host": edge["name"], "Accept-Encoding": "identity"},
                        timeout=10)


def on_disk(edge):
    """The cache keys whose metadata is on disk, and the folder's size in bytes."""
    keys, size = [], 0
    for name in os.listdir(edge["cache"]):
        path = os.path.join(edge["cache"], name)
        try:
            size += os.path.getsize(path)
            if name.endswith(".meta"):
                with open(path) as file:
                    keys.append(json.load(file)["key"])
        except (FileNotFoundError, json.JSONDecodeError):  # replaced or removed while listed
            continue
    return keys, size


def settled(edge, target):
    """`target` is on disk and no write is in progress."""
    names = os.listdir(edge["cache"])
    return not any(name.endswith(".tmp") for name in names) and any(key.endswith(target) for key in on_disk(edge)[0])


def test_the_disk_tier_stays_under_its_limit_and_drops_the_least_recently_used(edge):
    run = uuid.uuid4().hex[:6]
    objects = [f"/d/{run}/{n}?cc=max-age%3D600&size={SIZE}&type=application%2Foctet-stream" for n in range(1, 9)]

    def fill(target):
        response = get(edge, target)
        assert response.status_code == 200 and len(response.content) > SIZE and "hit" not in response.headers["Cache-Status"]
        wait_for(lambda: settled(edge, target), timeout=15, interval=0.05)
        assert on_disk(edge)[1] <= LIMIT, f"{on_disk(edge)[1]} bytes on disk, limit {LIMIT}"

    for target in objects[:5]:
        fill(target)
    # The first object is read again: now it is more recently used than the second to fifth.
    assert "hit" in get(edge, objects[0]).headers["Cache-Status"]
    for target in objects[5:]:
        fill(target)

    keys, size = on_disk(edge)
    assert size <= LIMIT, f"{size} bytes on disk, limit {LIMIT}"
    kept = [target for target in objects if any(key.endswith(target) for key in keys)]
    evicted = [objects[1], objects[2]]
    assert kept == [objects[0]] + objects[3:], [target.split("?")[0] for target in kept]

    # The survivors are hits (no new origin fetch); the two least recently used miss and are fetched again.
    for target in kept:
        response = get(edge, target)
        assert "hit" in response.headers["Cache-Status"], (target, response.headers["Cache-Status"])
        assert Origin.hits[target] == 1
    for target in evicted:
        response = get(edge, target)
        assert response.status_code == 200 and "hit" not in response.headers["Cache-Status"], (target, response.headers["Cache-Status"])
        assert response.text.startswith("body 2 of") and Origin.hits[target] == 2
    wait_for(lambda: settled(edge, evicted[-1]), timeout=15, interval=0.05)
    assert on_disk(edge)[1] <= LIMIT


def test_an_object_larger_than_the_whole_tier_does_not_flush_it(edge):
    """One cacheable response bigger than the disk tier (any visitor can ask for one) cannot be
    kept on disk; it must not empty the tier (and the memory copies of what it held) either."""
    run = uuid.uuid4().hex[:6]
    small = [f"/s/{run}/{n}?cc=max-age%3D600&size={SIZE}&type=application%2Foctet-stream" for n in range(1, 4)]
    for target in small:
        get(edge, target)
        wait_for(lambda: settled(edge, target), timeout=15, interval=0.05)
    huge = f"/h/{run}?cc=max-age%3D600&size={3 * LIMIT // 2}&type=application%2Foctet-stream"
    response = get(edge, huge)
    assert response.status_code == 200 and len(response.content) > LIMIT
    # The disk writer takes objects in order: once a later one is on disk, the huge one was handled.
    marker = f"/m/{run}?cc=max-age%3D600&size=10"
    get(edge, marker)
    wait_for(lambda: settled(edge, marker), timeout=15, interval=0.05)
    keys, size = on_disk(edge)
    assert size <= LIMIT, f"{size} bytes on disk, limit {LIMIT}"
    statuses = {target.split("?")[0]: get(edge, target).headers["Cache-Status"] for target in small}
    assert all("hit" in status for status in statuses.values()), f"one oversized response emptied the cache: {statuses}"
    assert [Origin.hits[target] for target in small] == [1, 1, 1]
