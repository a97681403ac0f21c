"""A purge through the API reaches every edge node: two `dcdn node`s of one coordinator each hold
an object; after the purge both miss (Cache-Status) and the origin counts exactly one new fetch
per node, while what the purge did not select stays cached on both. A node that was stopped
when the purge was made runs it when it comes back, although it reloaded the object from its
disk; the purge list then reports both nodes done."""

import os
import uuid

import pytest
import requests

from conftest import admin_node, edge_node, operator_coordinator, serve_http, started_together
from test_dns import wait_for
from test_edge_cache import Origin

LOOPBACK_ORIGINS = {"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8"}


@pytest.fixture(scope="module")
def cluster():
    with serve_http(Origin) as origin:
        coordinator, headers = operator_coordinator(env=LOOPBACK_ORIGINS)
        state = {"coordinator": coordinator, "headers": headers, "edges": []}
        try:
            state["tokens"] = [admin_node(coordinator.url, headers, ["edge"], ipv4=f"192.0.2.{n}")["token"] for n in (91, 92)]
            state["edges"] = started_together(
                *(lambda token=token: edge_node(coordinator.url, token, env=LOOPBACK_ORIGINS) for token in state["tokens"]))
            state["name"] = f"purge{uuid.uuid4().hex[:8]}.example"
            created = requests.post(f"{coordinator.url}/api/v1/cdn/domains", headers=headers, timeout=10,
                                    json={"domain": state["name"], "origin_ip": f"127.0.0.1:{origin}", "ssl_mode": "off"})
            assert created.status_code == 201, created.text
            state["api"] = f"{coordinator.url}/api/v1/cdn/domains/{created.json()['id']}"
            for number in range(2):
                wait_for(lambda: get(state, number, "/").headers.get("Cache-Status") != "DCDN; detail=edge-404", timeout=15, interval=0.1)
            yield state
        finally:
            for edge in state["edges"]:
                edge.stop()
            coordinator.stop()


def get(cluster, number, target):
    return requests.get(f"http://127.0.0.1:{cluster['edges'][number].edge_port}{target}",
                        headers={"Host": cluster["name"], "Accept-Encoding": "identity"}, timeout=10)


def cache_status(response):
    return response.headers.get("Cache-Status", "")


def cached_on_both(cluster, target):
    """Fetched through each node (one origin fetch each), then a hit on each."""
    before = Origin.hits.get(target, 0)
    for number in range(2):
        first = get(cluster, number, target)
        assert first.status_code == 200 and "hit" not in cache_status(first), cache_status(first)
        assert "hit" in cache_status(get(cluster, number, target))
    assert Origin.hits.get(target, 0) == before + 2


def purge(cluster, **body):
    response = requests.post(cluster["api"] + "/purge", json=body, headers=cluster["headers"], timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def propagation(cluster, purge_id):
    listed = requests.get(cluster["api"] + "/purges", headers=cluster["headers"], timeout=10).json()["purges"]
    item = next(item for item in listed if item["id"] == purge_id)
    return item["nodes_done"], item["nodes_total"]


def test_a_purge_reaches_both_nodes(cluster):
    run = uuid.uuid4().hex[:6]
    purged, kept = f"/a/{run}?cc=max-age%3D600", f"/b/{run}?cc=max-age%3D600"
    for target in (purged, kept):
        cached_on_both(cluster, target)

    created = purge(cluster, urls=[f"http://{cluster['name']}{purged}"])
    for number in range(2):
        # Polling is itself a request: the first answer after the purge is a miss (refetched and
        # stored again), so the origin counts exactly one more fetch per node.
        wait_for(lambda: "hit" not in cache_status(get(cluster, number, purged)), timeout=10, interval=0.1)
    assert Origin.hits[purged] == 4, Origin.hits[purged]
    for number in range(2):
        again = get(cluster, number, purged)
        assert "hit" in cache_status(again) and again.text.startswith(("body 3 of", "body 4 of"))
        assert "hit" in cache_status(get(cluster, number, kept)), "the purge removes only the URL it names"
    assert Origin.hits[kept] == 2
    wait_for(lambda: propagation(cluster, created["id"]) == (2, 2), timeout=20, interval=0.5)


def test_a_node_stopped_during_a_purge_runs_it_when_it_returns(cluster):
    run = uuid.uuid4().hex[:6]
    tagged = f"/t/{run}?cc=max-age%3D600&tag=release-{run}"
    cached_on_both(cluster, tagged)
    # The second node's copy is on its disk before it stops, so its restart reloads it.
    cache = os.path.join(cluster["edges"][1].node_data_dir, "cache")
    wait_for(lambda: len([f for f in os.listdir(cache) if f.endswith(".meta")]) >= 1 and not any(f.endswith(".tmp") for f in os.listdir(cache)),
             timeout=10, interval=0.1)
    assert cluster["edges"][1].stop() == 0

    created = purge(cluster, tags=[f"release-{run}"])
    wait_for(lambda: "hit" not in cache_status(get(cluster, 0, tagged)), timeout=10, interval=0.1)
    assert Origin.hits[tagged] == 3

    cluster["edges"][1] = edge_node(cluster["coordinator"].url, cluster["tokens"][1], data_dir=cluster["edges"][1].node_data_dir,
                                    env=LOOPBACK_ORIGINS)
    assert "cache loaded from disk" in cluster["edges"][1].output
    wait_for(lambda: "hit" not in cache_status(get(cluster, 1, tagged)), timeout=10, interval=0.1)
    assert Origin.hits[tagged] == 4, "the returning node fetched the purged object once"
    wait_for(lambda: propagation(cluster, created["id"]) == (2, 2), timeout=20, interval=0.5)
