"""`dcdn dns` as its own process: zone transfers to NSD with TSIG, NOTIFY, and serving on with
the coordinator stopped."""

import base64
import os
import tempfile

import pytest
import requests

from conftest import AddressInUse, launch_nsd, name_server, operator_coordinator, with_retried_ports
from test_dns import dig, wait_for

KEY_NAME = "transfer-key"
SECRET = base64.b64encode(os.urandom(32)).decode()


def soa_serial(port, zone):
    answer = dig(port, zone, "SOA", "+short").split()
    return int(answer[2]) if len(answer) >= 3 else None


NSD_CONFIG = """
server:
    ip-address: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{directory}"
    database: ""
    zonelistfile: "{directory}/zone.list"
    xfrdfile: "{directory}/xfrd.state"
    xfrdir: "{directory}"
    pidfile: "{directory}/nsd.pid"
    logfile: "{directory}/nsd.log"
    verbosity: 2
remote-control:
    control-enable: no
key:
    name: "{key}"
    algorithm: hmac-sha256
    secret: "{secret}"
zone:
    name: "cluster.example"
    zonefile: "cluster.example.zone"
    request-xfr: AXFR 127.0.0.1@{primary} {key}
    allow-notify: 127.0.0.1 {key}
"""


@pytest.fixture(scope="module")
def cluster():
    coordinator, headers = operator_coordinator(env={"DCDN_NAMESERVERS": "ns1.dcdn.test,ns2.dcdn.test"})
    node = requests.post(
        f"{coordinator.url}/api/v1/admin/nodes",
        json={"name": "ns-test", "roles": ["dns", "edge"], "region": "eu", "country": "DE", "ipv4": "192.0.2.53"}, headers=headers, timeout=10,
    ).json()
    domain = requests.post(f"{coordinator.url}/api/v1/cdn/domains", json={"domain": "cluster.example", "origin_ip": "203.0.113.7"}, headers=headers, timeout=10).json()
    for record in [
        {"name": "mail", "type": "A", "content": "203.0.113.25"},
        {"name": "@", "type": "MX", "content": "mail.cluster.example", "priority": 10},
        {"name": "@", "type": "TXT", "content": "v=spf1 mx -all"},
    ]:
        assert requests.post(f"{coordinator.url}/api/v1/cdn/domains/{domain['id']}/records", json=record, headers=headers, timeout=10).status_code == 201
    dns_data, nsd_directory = tempfile.mkdtemp(), tempfile.mkdtemp()

    def start(ports):
        """The nameserver notifies NSD's port and NSD transfers from the nameserver's: NSD cannot
        take port 0, so a port it fails to bind means both start again on another."""
        env = {"DCDN_DNS_TRANSFER_KEY": f"{KEY_NAME}:{SECRET}", "DCDN_DNS_NOTIFY": f"127.0.0.1:{ports[0]}"}
        nameserver = name_server(coordinator.url, node["token"], data_dir=dns_data, env=env)
        wait_for(lambda: soa_serial(nameserver.dns_port, "cluster.example") is not None, timeout=15)
        config = lambda port: NSD_CONFIG.format(port=port, directory=nsd_directory, key=KEY_NAME, secret=SECRET, primary=nameserver.dns_port)
        try:
            nsd = launch_nsd(nsd_directory, config, ports[0])
        except AddressInUse:
            nameserver.stop()
            raise
        return nameserver, env, nsd, ports[0]

    nameserver, env, nsd, nsd_port = with_retried_ports(1, start)
    state = {"coordinator": coordinator, "nameserver": nameserver, "headers": headers, "domain": domain, "nsd": nsd, "nsd_port": nsd_port,
             "token": node["token"], "dns_data": dns_data, "nsd_directory": nsd_directory, "env": env}
    yield state
    state["nameserver"].stop()
    nsd.terminate()
    print(nsd.communicate(timeout=10)[0])
    log = f"{nsd_directory}/nsd.log"
    if os.path.exists(log):
        print(open(log).read())
    if state["coordinator"].process.poll() is None:
        state["coordinator"].stop()


def test_axfr_requires_the_tsig_key(cluster):
    port = cluster["nameserver"].dns_port
    assert "Transfer failed" in dig(port, "cluster.example", "AXFR")
    wrong = base64.b64encode(os.urandom(32)).decode()
    assert "Transfer failed" in dig(port, "cluster.example", "AXFR", "-y", f"hmac-sha256:{KEY_NAME}:{wrong}")
    good = dig(port, "cluster.example", "AXFR", "-y", f"hmac-sha256:{KEY_NAME}:{SECRET}")
    assert "Transfer failed" not in good
    assert "mail.cluster.example.\t300\tIN\tA\t203.0.113.25" in good
    assert good.count("\tSOA\t") == 2
    assert "cluster.example.\t60\tIN\tA\t192.0.2.53" in good, "proxied names carry the healthy nodes for secondaries"


def test_nsd_secondary_transfers_serves_the_same_and_follows_notify(cluster):
    port, nsd_port = cluster["nameserver"].dns_port, cluster["nsd_port"]
    serial = soa_serial(port, "cluster.example")
    wait_for(lambda: soa_serial(nsd_port, "cluster.example") == serial, timeout=30, interval=0.3)
    for name, rdtype in [("mail.cluster.example", "A"), ("cluster.example", "MX"), ("cluster.example", "TXT"), ("cluster.example", "NS")]:
        assert sorted(dig(nsd_port, name, rdtype, "+short").split("\n")) == sorted(dig(port, name, rdtype, "+short").split("\n")), name
    # A change through the API reaches NSD by NOTIFY, without waiting for its refresh timer.
    response = requests.post(
        f"{cluster['coordinator'].url}/api/v1/cdn/domains/{cluster['domain']['id']}/records",
        json={"name": "new", "type": "A", "content": "203.0.113.99"}, headers=cluster["headers"], timeout=10,
    )
    assert response.status_code == 201
    wait_for(lambda: dig(nsd_port, "new.cluster.example", "A", "+short").strip() == "203.0.113.99", timeout=20, interval=0.3)


def test_serving_continues_with_the_coordinator_down(cluster):
    port = cluster["nameserver"].dns_port
    assert cluster["coordinator"].stop() == 0
    assert "203.0.113.25" in dig(port, "mail.cluster.example", "A", "+short")
    # A restarted nameserver serves its saved snapshot while the coordinator is still down.
    assert cluster["nameserver"].stop() == 0
    restarted = name_server(cluster["coordinator"].url, cluster["token"], data_dir=cluster["dns_data"], env=cluster["env"])
    cluster["nameserver"] = restarted
    try:
        wait_for(lambda: "203.0.113.25" in dig(restarted.dns_port, "mail.cluster.example", "A", "+short"), timeout=10)
    except AssertionError:
        raise AssertionError(restarted.output)
    assert "serving the saved configuration" in restarted.output
