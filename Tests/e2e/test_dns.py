"""`dcdn dns` with real DNS clients: dig, kdig and dnspython against a running `dcdn dev`."""

import ipaddress
import subprocess
import threading
import time
import uuid

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import requests

from conftest import admin_token, signed_up

DE_SUBNET = str(ipaddress.ip_address(3261298176))  # a German range in tor-geoipdb


def dig(port, *args):
    result = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2", *args], capture_output=True, text=True, timeout=10)
    return result.stdout


def query(port, name, rdtype, tcp=False, **kwargs):
    message = dns.message.make_query(name, rdtype, **kwargs)
    message.flags &= ~dns.flags.RD
    send = dns.query.tcp if tcp else dns.query.udp
    return send(message, "127.0.0.1", port=port, timeout=3)


def addresses(response):
    return [item.address for rrset in response.answer for item in rrset if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]


@pytest.fixture(scope="module")
def zone(dev):
    """A customer with example zone `z-<random>.example` on the dev platform."""
    name = f"z{uuid.uuid4().hex[:8]}.example"
    jwt = signed_up(dev.url, f"dns-{uuid.uuid4().hex[:6]}@example.com")
    headers = {"Authorization": f"Bearer {jwt}"}
    created = requests.post(f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": "203.0.113.7"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    domain_id = created.json()["id"]
    records = [
        {"name": "mail", "type": "A", "content": "203.0.113.25"},
        {"name": "@", "type": "MX", "content": f"mail.{name}", "priority": 10},
        {"name": "alias", "type": "CNAME", "content": f"mail.{name}"},
        {"name": "*.apps", "type": "A", "content": "203.0.113.50"},
        {"name": "big", "type": "TXT", "content": "x" * 3000},
        {"name": "_sip._tcp", "type": "SRV", "content": f"5 5060 sip.{name}", "priority": 10},
        {"name": "@", "type": "CAA", "content": '0 issue "letsencrypt.org"'},
    ]
    for record in records:
        response = requests.post(f"{dev.url}/api/v1/cdn/domains/{domain_id}/records", json=record, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
    wait_for(lambda: "NOERROR" in dig(dev.dns_port, f"mail.{name}", "A"))
    return {"name": name, "id": domain_id, "headers": headers}


def wait_for(condition, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_apex_soa_and_ns_are_authoritative(dev, zone):
    output = dig(dev.dns_port, zone["name"], "SOA", "+norec")
    assert "flags: qr aa" in output
    assert "ns1.dcdn.test. hostmaster.dcdn.test." in output
    ns = query(dev.dns_port, zone["name"], "NS")
    assert sorted(str(item) for rrset in ns.answer for item in rrset) == ["ns1.dcdn.test.", "ns2.dcdn.test."]
    assert ns.flags & dns.flags.AA


def test_nxdomain_and_nodata_carry_the_soa(dev, zone):
    nx = query(dev.dns_port, f"missing.{zone['name']}", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert nx.authority[0].rdtype == dns.rdatatype.SOA
    nodata = query(dev.dns_port, f"mail.{zone['name']}", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA


def test_other_zones_are_refused(dev):
    assert "status: REFUSED" in dig(dev.dns_port, "example.org", "A")


def test_cname_chasing_wildcards_and_case(dev, zone):
    chased = query(dev.dns_port, f"alias.{zone['name']}", "A")
    assert [rrset.rdtype for rrset in chased.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]
    wild = query(dev.dns_port, f"Whatever.APPS.{zone['name']}", "A")
    assert addresses(wild) == ["203.0.113.50"]
    assert str(wild.answer[0].name) == f"Whatever.APPS.{zone['name']}."


def test_any_is_minimal(dev, zone):
    output = dig(dev.dns_port, f"mail.{zone['name']}", "ANY")
    assert 'HINFO\t"RFC8482" ""' in output


def test_types_with_kdig(dev, zone):
    output = subprocess.run(
        ["kdig", "@127.0.0.1", "-p", str(dev.dns_port), f"_sip._tcp.{zone['name']}", "SRV", "+short"], capture_output=True, text=True, timeout=10
    ).stdout
    assert output.strip() == f"10 5 5060 sip.{zone['name']}."
    caa = subprocess.run(["kdig", "@127.0.0.1", "-p", str(dev.dns_port), zone["name"], "CAA", "+short"], capture_output=True, text=True, timeout=10).stdout
    assert caa.strip() == '0 issue "letsencrypt.org"'


def test_large_answers_truncate_over_udp_and_complete_over_tcp(dev, zone):
    udp = dns.query.udp(dns.message.make_query(f"big.{zone['name']}", "TXT", use_edns=False), "127.0.0.1", port=dev.dns_port, timeout=3, ignore_trailing=True)
    assert udp.flags & dns.flags.TC
    tcp = query(dev.dns_port, f"big.{zone['name']}", "TXT", tcp=True)
    assert sum(len(part) for rrset in tcp.answer for item in rrset for part in item.strings) == 3000
    # dig falls back to TCP by itself.
    assert "xxxxxxxx" in dig(dev.dns_port, f"big.{zone['name']}", "TXT", "+noedns")


def test_edns_and_client_subnet(dev, zone):
    option = dns.edns.ECSOption(DE_SUBNET, 24)
    response = query(dev.dns_port, zone["name"], "A", use_edns=0, options=[option], payload=1232)
    assert response.edns == 0
    ecs = [item for item in response.options if isinstance(item, dns.edns.ECSOption)]
    assert ecs and ecs[0].srclen == 24
    assert addresses(response) == ["127.0.0.1"]


def test_an_api_edit_is_visible_in_dns(dev, zone):
    # The long poll delivers it at once; how fast is the machine's business, not this test's
    # (scripts/bench measures it).
    response = requests.post(
        f"{dev.url}/api/v1/cdn/domains/{zone['id']}/records", json={"name": "fresh", "type": "TXT", "content": "hello"}, headers=zone["headers"], timeout=10
    )
    assert response.status_code == 201
    wait_for(lambda: bool(query(dev.dns_port, f"fresh.{zone['name']}", "TXT").answer), timeout=15, interval=0.02)


def test_geodns_nearest_healthy_node_and_heartbeat_expiry(dev, zone):
    admin = {"Authorization": f"Bearer {admin_token(dev.url)}"}
    created = []
    for name, country, address in [("syd", "AU", "192.0.2.30"), ("fra", "DE", "192.0.2.10"), ("nyc", "US", "192.0.2.20")]:
        response = requests.post(
            f"{dev.url}/api/v1/admin/nodes",
            json={"name": f"{name}-{uuid.uuid4().hex[:4]}", "roles": ["edge"], "region": f"r-{country}", "country": country, "ipv4": address},
            headers=admin, timeout=10,
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    alive = {node["id"]: True for node in created}

    def heartbeats():
        while any(alive.values()):
            for node in created:
                if alive[node["id"]]:
                    requests.post(f"{dev.url}/api/v1/node-api/report", json={"window_seconds": 1}, headers={"Authorization": f"Bearer {node['token']}"}, timeout=5)
            time.sleep(1)

    thread = threading.Thread(target=heartbeats, daemon=True)
    thread.start()
    try:
        def answer_for(subnet):
            return addresses(query(dev.dns_port, zone["name"], "A", use_edns=0, options=[dns.edns.ECSOption(subnet, 24)]))

        # Each node counts once its first heartbeat arrived.
        wait_for(lambda: answer_for("1.0.0.0")[:1] == ["192.0.2.30"], timeout=10)
        wait_for(lambda: answer_for("8.8.8.0")[:1] == ["192.0.2.20"], timeout=10)
        assert answer_for(DE_SUBNET)[0] == "192.0.2.10"
        response = query(dev.dns_port, zone["name"], "A", use_edns=0, options=[dns.edns.ECSOption("1.0.0.0", 24)])
        assert [item for item in response.options if isinstance(item, dns.edns.ECSOption)][0].scopelen == 24

        # Sydney stops sending heartbeats: after 15 s without one it is no longer handed out.
        alive[created[0]["id"]] = False
        wait_for(lambda: "192.0.2.30" not in answer_for("1.0.0.0"), timeout=60, interval=0.5)
    finally:
        for key in alive:
            alive[key] = False
        thread.join(5)
        for node in created:
            requests.delete(f"{dev.url}/api/v1/admin/nodes/{node['id']}", headers=admin, timeout=10)


def test_malformed_packets_get_formerr_or_silence(dev):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", ("127.0.0.1", dev.dns_port))
        reply, _ = sock.recvfrom(512)
        assert reply[:2] == b"\x12\x34" and reply[3] & 0x0F == 1  # FORMERR
        sock.sendto(b"\x00", ("127.0.0.1", dev.dns_port))
        with pytest.raises(socket.timeout):
            sock.recvfrom(512)
    # The server still answers.
    assert "status: REFUSED" in dig(dev.dns_port, "example.org", "A")


def test_a_pending_domain_becomes_active_when_delegation_is_observed(dev, zone):
    def status():
        return requests.get(f"{dev.url}/api/v1/cdn/domains/{zone['id']}", headers=zone["headers"], timeout=5).json()["status"]

    # dcdn dev checks every 10 s against its own nameserver, which delegates to ns1/ns2.dcdn.test.
    wait_for(lambda: status() == "active", timeout=25, interval=0.5)
