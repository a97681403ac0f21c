"""DNS fallback (product guide §11) end to end: a coordinator, two `dcdn dns` nameservers in two
regions and two `dcdn node` edges. With every edge stopped, a domain with DNS fallback answers its
origin's own address with a short TTL while a domain without it keeps naming the edges; an edge
that starts again takes the name back."""

import uuid

import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests

from conftest import Instance, operator_coordinator
from test_dns import wait_for

ORIGIN = "198.51.100.7"  # documentation address: DNS names it, nothing connects to it
EDGES = {"edge-eu": ("eu", "192.0.2.81"), "edge-us": ("us", "192.0.2.82")}
NAMESERVERS = {"dns-eu": ("eu", "ns-eu.dcdn.test"), "dns-us": ("us", "ns-us.dcdn.test")}


def ask(port, name, rdtype="A"):
    """(addresses, TTLs) of the A answer from a nameserver, asked without recursion."""
    message = dns.message.make_query(name, rdtype)
    response = dns.query.udp(message, "127.0.0.1", port=port, timeout=3)
    records = [rrset for rrset in response.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)]
    return sorted(item.to_text() for rrset in records for item in rrset), sorted({rrset.ttl for rrset in records})


@pytest.fixture(scope="module")
def network():
    coordinator, headers = operator_coordinator(env={"DCDN_NAMESERVERS": "ns1.dcdn.test,ns2.dcdn.test"})
    api = f"{coordinator.url}/api/v1"
    started = []
    try:
        tokens = {}
        for name, (region, address) in EDGES.items():
            node = requests.post(f"{api}/admin/nodes", json={"name": name, "roles": ["edge"], "region": region, "country": "DE",
                                                          "ipv4": address}, headers=headers, timeout=10)
            assert node.status_code == 201, node.text
            tokens[name] = node.json()["token"]
        nameservers = []
        for name, (region, hostname) in NAMESERVERS.items():
            node = requests.post(f"{api}/admin/nodes", json={"name": name, "roles": ["dns"], "region": region, "country": "US",
                                                          "ipv4": "192.0.2.53", "hostname": hostname}, headers=headers, timeout=10)
            assert node.status_code == 201, node.text
            nameservers.append(Instance("dns", ["--coordinator-url", coordinator.url, "--node-token", node.json()["token"],
                                                "--host", "127.0.0.1", "--dns-port", "0"], ready="nameserver listening"))
            started.append(nameservers[-1])

        def edge(name):
            instance = Instance("node", ["--coordinator-url", coordinator.url, "--node-token", tokens[name], "--host", "127.0.0.1",
                                         "--http-port", "0", "--https-port", "0"], ready="edge listening")
            started.append(instance)
            return instance

        edges = {name: edge(name) for name in EDGES}
        domains = {}
        for key in ("fallback", "plain"):
            name = f"{key}-{uuid.uuid4().hex[:6]}.example"
            created = requests.post(f"{api}/cdn/domains", json={"domain": name, "origin_ip": ORIGIN}, headers=headers, timeout=10)
            assert created.status_code == 201, created.text
            domains[key] = name
        yield {"api": api, "headers": headers, "nameservers": nameservers, "edges": edges, "start_edge": edge, "domains": domains}
    finally:
        for instance in started:
            instance.stop()
        coordinator.stop()


def test_dns_fallback_spans_regions_and_answers_the_origin_while_no_edge_is_healthy(network):
    api, headers, domains = network["api"], network["headers"], network["domains"]
    enabled = requests.post(f"{api}/high-availability/enable", json={"domain_name": domains["fallback"], "dns_fallback": True,
                                                                     "multi_node_redundancy": False}, headers=headers, timeout=10)
    assert enabled.status_code == 200, enabled.text
    status = enabled.json()
    assert status["dns_fallback"] is True
    # The NS set spans both regions: the platform's names plus one nameserver per region.
    assert status["nameservers"] == ["ns1.dcdn.test", "ns2.dcdn.test", "ns-eu.dcdn.test", "ns-us.dcdn.test"]
    assert status["nameserver_regions"] == ["eu", "us"]
    plain = requests.get(f"{api}/high-availability/status/{domains['plain']}", headers=headers, timeout=10).json()
    assert plain["nameservers"] == ["ns1.dcdn.test", "ns2.dcdn.test"]

    edges = sorted(address for _, address in EDGES.values())
    ports = [server.dns_port for server in network["nameservers"]]
    for port in ports:
        # Both nameservers publish the wider NS set, and name the healthy edges with the proxied TTL.
        wait_for(lambda: ask(port, domains["fallback"], "NS")[0] == ["ns-eu.dcdn.test.", "ns-us.dcdn.test.", "ns1.dcdn.test.",
                                                                      "ns2.dcdn.test."], timeout=30)
        wait_for(lambda: ask(port, domains["fallback"]) == (edges, [60]), timeout=30)
        assert ask(port, domains["plain"], "NS")[0] == ["ns1.dcdn.test.", "ns2.dcdn.test."]
        assert ask(port, f"www.{domains['fallback']}") == (edges, [60])

    # Every edge stops: once the coordinator marks them unhealthy (15 s without a heartbeat), the
    # fallback domain answers its origin with a 30 s TTL; the other keeps naming the edges.
    for instance in network["edges"].values():
        assert instance.stop() == 0
    for port in ports:
        wait_for(lambda: ask(port, domains["fallback"]) == ([ORIGIN], [30]), timeout=60, interval=0.5)
        assert ask(port, f"www.{domains['fallback']}") == ([ORIGIN], [30])
        assert ask(port, domains["fallback"], "AAAA") == ([], []), "no IPv6 origin: NODATA, not an edge"
        assert ask(port, domains["plain"]) == (edges, [60]), "without DNS fallback an answer still names the edges"
    status = requests.get(f"{api}/high-availability/status/{domains['fallback']}", headers=headers, timeout=10).json()
    assert status["healthy_edge_nodes"] == 0

    # One edge starts again: its first heartbeat makes it healthy and the name returns to it.
    network["edges"]["edge-us"] = network["start_edge"]("edge-us")
    for port in ports:
        wait_for(lambda: ask(port, domains["fallback"]) == (["192.0.2.82"], [60]), timeout=60, interval=0.5)
        assert ask(port, f"www.{domains['fallback']}") == (["192.0.2.82"], [60])
