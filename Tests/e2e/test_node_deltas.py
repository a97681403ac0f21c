"""Deletions reach the nodes, end to end: a coordinator, a separate `dcdn node` and a separate
`dcdn dns`. A deleted record stops being answered while its neighbours still are; a deleted page
rule or firewall rule stops applying on the edge; a deleted domain is refused by the nameserver
and unknown to the edge, cached objects included; a domain added again under the same name never
gets the deleted one's cache. The node feed is read directly too: each delta after a deletion
carries the removal (the zone without the record, the site without its rule, the domain's ID in
`removed_domains`), and the nodes' saved snapshots keep the deletions across a restart."""

import tempfile
import uuid
from http.server import BaseHTTPRequestHandler

import dns.rcode
import dns.rdatatype
import pytest
import requests

from conftest import admin_node, edge_node, name_server, operator_coordinator, serve_http, started_together
from test_dns import query, wait_for
from test_edge_cache import Origin

# The test's origins listen on loopback, which only `dcdn dev` allows by default.
LOOPBACK_ORIGINS = {"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8"}
NAMESERVERS = "ns1.deltas.test,ns2.deltas.test"
EDGE_404 = "DCDN; detail=edge-404"


class SecondOrigin(BaseHTTPRequestHandler):
    """The origin of a domain added again after its deletion: says so in every body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = f"second origin {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Cache-Control", "max-age=600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def cluster():
    with serve_http(Origin) as origin, serve_http(SecondOrigin) as second:
        coordinator, headers = operator_coordinator(env={**LOOPBACK_ORIGINS, "DCDN_NAMESERVERS": NAMESERVERS})
        edge_token = admin_node(coordinator.url, headers, ["edge"], ipv4="192.0.2.81")["token"]
        dns_token = admin_node(coordinator.url, headers, ["dns"], ipv4="192.0.2.53")["token"]
        edge_dir, dns_dir = tempfile.mkdtemp(prefix="dcdn-deltas-edge-"), tempfile.mkdtemp(prefix="dcdn-deltas-dns-")
        try:
            edge, nameserver = started_together(
                lambda: edge_node(coordinator.url, edge_token, data_dir=edge_dir, env=LOOPBACK_ORIGINS),
                lambda: name_server(coordinator.url, dns_token, data_dir=dns_dir),
            )
        except BaseException:
            coordinator.stop()
            raise
        state = {
            "coordinator": coordinator, "headers": headers, "edge": edge, "nameserver": nameserver, "origin": origin, "second": second,
            "tokens": {"edge": edge_token, "dns": dns_token}, "dirs": {"edge": edge_dir, "dns": dns_dir},
        }
        yield state
        for role in ("edge", "nameserver"):
            state[role].stop()
        if state["coordinator"].process.poll() is None:
            state["coordinator"].stop()


@pytest.fixture(autouse=True)
def removes_its_domains(cluster):
    """Deletes what a test left (the operator's Free plan holds three domains)."""
    cluster["created"] = []
    yield
    if cluster["coordinator"].process.poll() is None:
        for api in cluster["created"]:
            requests.delete(api, headers=cluster["headers"], timeout=10)


def feed(cluster, role, since=None, wait=0):
    """GET /api/v1/node-api/config as the node of `role` ("edge" or "dns") sees it."""
    params = {"role": role, "wait": wait}
    if since is not None:
        params["since"] = since
    response = requests.get(
        f"{cluster['coordinator'].url}/api/v1/node-api/config", params=params,
        headers={"Authorization": f"Bearer {cluster['tokens'][role]}"}, timeout=wait + 15,
    )
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def same_id(a, b):
    return a.lower() == b.lower()


def zone_of(snapshot, domain):
    return [zone for zone in snapshot["dns"]["zones"] if same_id(zone["id"], domain["id"])]


def site_of(snapshot, domain):
    return [site for site in snapshot["edge"]["domains"] if same_id(site["id"], domain["id"])]


def new_domain(cluster, prefix, origin=None, records=()):
    """A proxied domain on the test's origin with extra records, once the nameserver answers for
    it and the edge serves it."""
    name = f"{prefix}{uuid.uuid4().hex[:8]}.example"
    url = cluster["coordinator"].url
    created = requests.post(
        f"{url}/api/v1/cdn/domains",
        json={"domain": name, "origin_ip": f"127.0.0.1:{origin or cluster['origin']}", "ssl_mode": "off"},
        headers=cluster["headers"], timeout=10,
    )
    assert created.status_code == 201, created.text
    domain = {"name": name, "id": created.json()["id"], "api": f"{url}/api/v1/cdn/domains/{created.json()['id']}", "records": {}}
    cluster["created"].append(domain["api"])
    for record in records:
        response = requests.post(domain["api"] + "/records", json=record, headers=cluster["headers"], timeout=10)
        assert response.status_code == 201, response.text
        domain["records"][(record["name"], record["type"])] = response.json()["id"]
    port = cluster["nameserver"].dns_port
    wait_for(lambda: query(port, name, "SOA").rcode() == dns.rcode.NOERROR, timeout=15, interval=0.1)
    for record in records:
        fqdn = name if record["name"] == "@" else f"{record['name']}.{name}"
        wait_for(lambda: bool(query(port, fqdn, record["type"]).answer), timeout=15, interval=0.1)
    wait_for(lambda: get(cluster, domain, "/").headers.get("Cache-Status") != EDGE_404, timeout=15, interval=0.1)
    return domain


def get(cluster, domain, target, host=None):
    return requests.get(
        f"http://127.0.0.1:{cluster['edge'].edge_port}{target}", headers={"Host": host or domain["name"], "Accept-Encoding": "identity"},
        timeout=10, allow_redirects=False,
    )


def answers(cluster, fqdn, rdtype):
    return sorted(item.to_text() for rrset in query(cluster["nameserver"].dns_port, fqdn, rdtype).answer for item in rrset)


def test_a_deleted_record_stops_being_answered_and_its_delta_carries_the_zone_without_it(cluster):
    domain = new_domain(cluster, "rec", records=[
        {"name": "mail", "type": "A", "content": "203.0.113.25"},
        {"name": "keep", "type": "A", "content": "203.0.113.26"},
        {"name": "@", "type": "TXT", "content": "v=spf1 -all"},
    ])
    name = domain["name"]
    assert answers(cluster, f"mail.{name}", "A") == ["203.0.113.25"]
    before = feed(cluster, "dns")["version"]

    deleted = requests.delete(f"{domain['api']}/records/{domain['records'][('mail', 'A')]}", headers=cluster["headers"], timeout=10)
    assert deleted.status_code == 204, deleted.text
    # The name has no other record left: NXDOMAIN, with the SOA so resolvers cache the absence.
    wait_for(lambda: query(cluster["nameserver"].dns_port, f"mail.{name}", "A").rcode() == dns.rcode.NXDOMAIN, timeout=10, interval=0.1)
    gone = query(cluster["nameserver"].dns_port, f"mail.{name}", "A")
    assert not gone.answer and gone.authority[0].rdtype == dns.rdatatype.SOA
    assert answers(cluster, f"keep.{name}", "A") == ["203.0.113.26"]
    assert answers(cluster, name, "TXT") == ['"v=spf1 -all"']
    # Once is not enough: asked again, still gone (no stale packet-cache answer).
    assert query(cluster["nameserver"].dns_port, f"mail.{name}", "A").rcode() == dns.rcode.NXDOMAIN

    # The delta after the deletion: this zone only, whole, without the record.
    delta = feed(cluster, "dns", since=before, wait=10)
    assert delta["full"] is False and delta["version"] > before and delta["removed_domains"] == []
    assert [zone["name"] for zone in delta["dns"]["zones"]] == [name], "a delta holds only the domains that changed"
    records = {(record["name"], record["type"]) for record in zone_of(delta, domain)[0]["records"]}
    assert ("mail", "A") not in records and {("keep", "A"), ("@", "TXT")} <= records
    assert "edge" not in delta or delta["edge"] is None, "a nameserver's feed has no edge section"


def test_deleted_page_rules_and_firewall_rules_stop_applying_on_the_edge(cluster):
    domain = new_domain(cluster, "rules")
    name, headers = domain["name"], cluster["headers"]
    page_rule = requests.post(domain["api"] + "/page-rules", headers=headers, timeout=10,
                              json={"pattern": f"{name}/old/*", "forwarding_url": f"https://{name}/new/$1", "forwarding_status": 301})
    assert page_rule.status_code == 201, page_rule.text
    firewall_rule = requests.post(domain["api"] + "/security/firewall-rules", headers=headers, timeout=10,
                                  json={"field": "path", "operator": "starts_with", "value": "/admin", "action": "block"})
    assert firewall_rule.status_code == 201, firewall_rule.text
    wait_for(lambda: get(cluster, domain, "/old/page").status_code == 301, timeout=10, interval=0.1)
    wait_for(lambda: get(cluster, domain, "/admin/panel").status_code == 403, timeout=10, interval=0.1)
    assert get(cluster, domain, "/old/page").headers["Location"] == f"https://{name}/new/page"
    assert "A firewall rule of the site blocked this request." in get(cluster, domain, "/admin/panel").text

    before = feed(cluster, "edge")["version"]
    deleted = requests.delete(f"{domain['api']}/page-rules/{page_rule.json()['id']}", headers=headers, timeout=10)
    assert deleted.status_code == 204, deleted.text
    wait_for(lambda: get(cluster, domain, "/old/page").status_code == 200, timeout=10, interval=0.1)
    assert get(cluster, domain, "/old/page").text.startswith("body "), "the origin answers /old/page itself"
    assert get(cluster, domain, "/admin/panel").status_code == 403, "the firewall rule still applies"
    delta = feed(cluster, "edge", since=before, wait=10)
    assert delta["full"] is False and delta["removed_domains"] == []
    site = site_of(delta, domain)
    assert len(site) == 1 and site[0]["page_rules"] == [], site
    assert [rule["value"] for rule in site[0]["security"]["firewall_rules"]] == ["/admin"]

    before = delta["version"]
    deleted = requests.delete(f"{domain['api']}/security/firewall-rules/{firewall_rule.json()['id']}", headers=headers, timeout=10)
    assert deleted.status_code == 204, deleted.text
    wait_for(lambda: get(cluster, domain, "/admin/panel").status_code == 200, timeout=10, interval=0.1)
    assert get(cluster, domain, "/admin/panel").text.startswith("body ")
    delta = feed(cluster, "edge", since=before, wait=10)
    assert site_of(delta, domain)[0]["security"]["firewall_rules"] == []
    assert "dns" not in delta or delta["dns"] is None, "an edge's feed has no nameserver section"


def test_a_deleted_domain_is_refused_by_the_nameserver_and_unknown_to_the_edge(cluster):
    before_creation = feed(cluster, "dns")["version"]
    domain = new_domain(cluster, "gone", records=[{"name": "mail", "type": "A", "content": "203.0.113.25"}])
    kept = new_domain(cluster, "kept", records=[{"name": "mail", "type": "A", "content": "203.0.113.27"}])
    name, port = domain["name"], cluster["nameserver"].dns_port
    cached = f"/cached?cc=max-age%3D600&t={uuid.uuid4().hex[:6]}"
    first = get(cluster, domain, cached)
    assert first.status_code == 200 and "hit" in get(cluster, domain, cached).headers["Cache-Status"]
    # The apex is proxied: the nameserver hands out the edge node.
    assert answers(cluster, name, "A") == ["192.0.2.81"]
    before = {role: feed(cluster, role)["version"] for role in ("edge", "dns")}

    deleted = requests.delete(domain["api"], headers=cluster["headers"], timeout=10)
    assert deleted.status_code == 204, deleted.text
    assert requests.get(domain["api"], headers=cluster["headers"], timeout=10).status_code == 404

    # The nameserver is no longer authoritative for any name of the zone: REFUSED, as for any
    # zone it never had (AuthoritativeResolver: no zone, REFUSED).
    wait_for(lambda: query(port, name, "SOA").rcode() == dns.rcode.REFUSED, timeout=10, interval=0.1)
    for fqdn, rdtype in ((name, "A"), (name, "NS"), (f"mail.{name}", "A"), (f"www.{name}", "A"), (f"other.{name}", "TXT")):
        response = query(port, fqdn, rdtype)
        assert response.rcode() == dns.rcode.REFUSED and not response.answer, (fqdn, rdtype, response)
    assert answers(cluster, f"mail.{kept['name']}", "A") == ["203.0.113.27"], "the other domain is still answered"

    # The edge does not know the site any more, cached objects included (unknown host: 404).
    wait_for(lambda: get(cluster, domain, "/").status_code == 404, timeout=10, interval=0.1)
    for target in ("/", cached):
        for host in (name, f"www.{name}"):
            response = get(cluster, domain, target, host=host)
            assert response.status_code == 404 and response.headers["Cache-Status"] == EDGE_404, (host, target, response.headers)
            assert "body " not in response.text
    assert get(cluster, kept, "/").status_code == 200

    # The deltas after the deletion name the domain in removed_domains and carry nothing of it.
    for role in ("edge", "dns"):
        delta = feed(cluster, role, since=before[role], wait=10)
        assert delta["full"] is False, delta
        assert [removed.lower() for removed in delta["removed_domains"]] == [domain["id"].lower()], (role, delta["removed_domains"])
        assert (site_of(delta, domain) if role == "edge" else zone_of(delta, domain)) == []
    # A node that missed both the creation and the deletion learns of the removal too.
    late = feed(cluster, "dns", since=before_creation, wait=10)
    assert domain["id"].lower() in [removed.lower() for removed in late["removed_domains"]] and zone_of(late, domain) == []
    assert len(zone_of(late, kept)) == 1
    # A full snapshot simply does not have it.
    full = feed(cluster, "edge")
    assert full["full"] is True and full["removed_domains"] == [] and site_of(full, domain) == []
    assert len(site_of(full, kept)) == 1


def test_a_domain_added_again_never_gets_the_deleted_ones_cache(cluster):
    domain = new_domain(cluster, "again")
    cached = f"/page?cc=max-age%3D600&t={uuid.uuid4().hex[:6]}"
    assert get(cluster, domain, cached).text.startswith("body 1 of")
    assert "hit" in get(cluster, domain, cached).headers["Cache-Status"]
    deleted = requests.delete(domain["api"], headers=cluster["headers"], timeout=10)
    assert deleted.status_code == 204, deleted.text
    wait_for(lambda: get(cluster, domain, "/").status_code == 404, timeout=10, interval=0.1)

    # The same name comes back (another customer could have taken it) with another origin.
    created = requests.post(
        f"{cluster['coordinator'].url}/api/v1/cdn/domains",
        json={"domain": domain["name"], "origin_ip": f"127.0.0.1:{cluster['second']}", "ssl_mode": "off"},
        headers=cluster["headers"], timeout=10,
    )
    assert created.status_code == 201, created.text
    cluster["created"].append(f"{cluster['coordinator'].url}/api/v1/cdn/domains/{created.json()['id']}")
    wait_for(lambda: get(cluster, domain, "/").status_code == 200, timeout=10, interval=0.1)
    again = get(cluster, domain, cached)
    assert again.status_code == 200
    assert again.text == f"second origin {cached}", (
        f"the re-added domain was served the deleted domain's cached copy: {again.text[:60]!r}, "
        f"Cache-Status {again.headers.get('Cache-Status')!r}"
    )


def test_deletions_stay_applied_in_the_snapshots_the_nodes_saved(cluster):
    """Restarted while the coordinator is down, each node serves what it saved: the result of
    applying the deltas, removals included."""
    domain = new_domain(cluster, "saved", records=[{"name": "mail", "type": "A", "content": "203.0.113.28"},
                                                   {"name": "old", "type": "A", "content": "203.0.113.29"}])
    gone = new_domain(cluster, "dropped")
    rule = requests.post(domain["api"] + "/page-rules", headers=cluster["headers"], timeout=10,
                         json={"pattern": f"{domain['name']}/old/*", "forwarding_url": f"https://{domain['name']}/new/$1",
                               "forwarding_status": 301})
    assert rule.status_code == 201, rule.text
    wait_for(lambda: get(cluster, domain, "/old/x").status_code == 301, timeout=10, interval=0.1)
    for response in (
        requests.delete(f"{domain['api']}/records/{domain['records'][('old', 'A')]}", headers=cluster["headers"], timeout=10),
        requests.delete(f"{domain['api']}/page-rules/{rule.json()['id']}", headers=cluster["headers"], timeout=10),
        requests.delete(gone["api"], headers=cluster["headers"], timeout=10),
    ):
        assert response.status_code == 204, response.text
    port = cluster["nameserver"].dns_port
    wait_for(lambda: query(port, gone["name"], "SOA").rcode() == dns.rcode.REFUSED
             and query(port, f"old.{domain['name']}", "A").rcode() == dns.rcode.NXDOMAIN, timeout=10, interval=0.1)
    wait_for(lambda: get(cluster, gone, "/").status_code == 404 and get(cluster, domain, "/old/x").status_code == 200, timeout=10,
             interval=0.1)
    # Both nodes answer as the deltas say, so they applied (and saved) them: the coordinator goes.
    assert cluster["coordinator"].stop() == 0
    cluster["edge"].stop()
    cluster["nameserver"].stop()
    cluster["edge"], cluster["nameserver"] = started_together(
        lambda: edge_node(cluster["coordinator"].url, cluster["tokens"]["edge"], data_dir=cluster["dirs"]["edge"], env=LOOPBACK_ORIGINS),
        lambda: name_server(cluster["coordinator"].url, cluster["tokens"]["dns"], data_dir=cluster["dirs"]["dns"]),
    )
    assert "serving the saved configuration" in cluster["edge"].output
    assert "serving the saved configuration" in cluster["nameserver"].output
    port = cluster["nameserver"].dns_port
    assert query(port, gone["name"], "SOA").rcode() == dns.rcode.REFUSED
    assert query(port, f"old.{domain['name']}", "A").rcode() == dns.rcode.NXDOMAIN
    assert answers(cluster, f"mail.{domain['name']}", "A") == ["203.0.113.28"]
    assert get(cluster, gone, "/").status_code == 404
    kept = get(cluster, domain, "/old/x")
    assert kept.status_code == 200 and kept.text.startswith("body "), "the deleted page rule is not back"
