"""The nameserver's answers beside NSD's for the same zone, and zone files through BIND's own
checker: every section, RCODE and flag an authoritative answer has (RFC 1034, 2308, 6604, 9471),
and zone import and export (RFC 1035 §5) that lose nothing."""

import subprocess
import tempfile
import uuid

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import requests

from conftest import signed_up, start_nsd
from test_dns import wait_for

ZONE_BODY = r"""
$TTL 1h
mail        300  IN A     203.0.113.25
mail        300  IN AAAA  2001:db8::25
@           300  IN MX    10 mail
@           300  IN TXT   "v=spf1 mx -all"
_dmarc      300  IN TXT   "v=DMARC1\059 p=none"
quoted      300  IN TXT   "\"wrapped\" \\ and caf\195\169"
alias       300  IN CNAME mail
dangling    300  IN CNAME missing
chain1      300  IN CNAME chain2
chain2      300  IN CNAME missing
wildalias   300  IN CNAME x.apps
*.apps      300  IN A     203.0.113.50
deep.empty  300  IN TXT   "below an empty non-terminal"
sub         300  IN NS    ns1.sub
sub         300  IN NS    ns
sub         300  IN NS    ns.other.example.
ns1.sub     300  IN A     203.0.113.53
ns1.sub     300  IN AAAA  2001:db8::53
ns          300  IN A     203.0.113.54
into-sub    300  IN CNAME www.sub
_sip._tcp   300  IN SRV   10 5 5060 mail
@           300  IN CAA   0 issue "letsencrypt.org"
"""

QUESTIONS = [
    ("@", "SOA"), ("@", "NS"), ("@", "MX"), ("@", "TXT"), ("@", "CAA"), ("@", "AAAA"), ("mail", "A"), ("mail", "TXT"),
    ("alias", "A"), ("alias", "AAAA"), ("alias", "CNAME"), ("dangling", "A"), ("dangling", "CNAME"), ("chain1", "A"),
    ("chain2", "TXT"), ("missing", "A"), ("nothing.here", "MX"), ("x.apps", "A"), ("x.apps", "TXT"), ("y.z.apps", "A"),
    ("wildalias", "A"), ("empty", "TXT"), ("deep.empty", "TXT"), ("sub", "A"), ("sub", "NS"), ("www.sub", "A"),
    ("a.b.sub", "AAAA"), ("sub", "DS"), ("into-sub", "A"), ("_sip._tcp", "SRV"), ("_dmarc", "TXT"), ("quoted", "TXT"),
    ("ns1.sub", "A"),
]


@pytest.fixture(scope="module")
def zone(dev):
    name = f"conf{uuid.uuid4().hex[:6]}.example"
    jwt = signed_up(dev.url, f"conf-{uuid.uuid4().hex[:6]}@example.com")
    headers = {"Authorization": f"Bearer {jwt}"}
    created = requests.post(f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": "203.0.113.7"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    api = f"{dev.url}/api/v1/cdn/domains/{created.json()['id']}"
    # Replace the default (proxied) records: NSD cannot answer with edge addresses.
    imported = requests.post(api + "/zone", json={"zone": f"$ORIGIN {name}.\n" + ZONE_BODY, "replace": True}, headers=headers, timeout=10)
    assert imported.status_code == 200 and imported.json()["errors"] == [], imported.text
    exported = requests.get(api + "/zone", headers=headers, timeout=10)
    assert exported.status_code == 200
    wait_for(lambda: dns_query(dev.dns_port, "ns." + name, "A").answer, timeout=10)
    return {"name": name, "api": api, "headers": headers, "exported": exported.text}


def dns_query(port, name, rdtype):
    message = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    message.flags &= ~dns.flags.RD
    return dns.query.udp(message, "127.0.0.1", port=port, timeout=3)


def sections(response):
    """What must agree: RCODE, the AA flag, and each section as a set of records."""
    def records(section):
        # An RRset is a set: its records' order carries no meaning.
        return sorted("\n".join(sorted(rrset.to_text().splitlines())) for rrset in section)

    return {
        "rcode": dns.rcode.to_text(response.rcode()), "aa": bool(response.flags & dns.flags.AA), "answer": records(response.answer),
        "authority": records(response.authority), "additional": records(response.additional),
    }


def test_the_export_passes_named_checkzone(zone):
    with tempfile.NamedTemporaryFile("w", suffix=".zone") as file:
        file.write(zone["exported"])
        file.flush()
        # -i local: integrity checks on in-zone names only; full checks would resolve the other
        # names through the system resolver, and tests send nothing off this machine.
        result = subprocess.run(["named-checkzone", "-i", "local", "-k", "fail", "-n", "fail", "-m", "fail", "-M", "fail", "-S", "fail",
                                 zone["name"], file.name], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr + zone["exported"]
    assert "OK" in result.stdout


def test_answers_match_nsd_serving_the_exported_zone(dev, zone):
    directory = tempfile.mkdtemp()
    with open(f"{directory}/zone", "w") as file:
        file.write(zone["exported"])
    nsd, port = start_nsd(directory, lambda port: f"""
server:
    ip-address: 127.0.0.1
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{directory}"
    database: ""
    zonelistfile: "{directory}/zone.list"
    xfrdfile: "{directory}/xfrd.state"
    pidfile: "{directory}/nsd.pid"
    logfile: "{directory}/nsd.log"
    minimal-responses: yes
    refuse-any: yes
remote-control:
    control-enable: no
zone:
    name: "{zone['name']}"
    zonefile: "zone"
""")
    try:
        wait_for(lambda: _answers(port, zone["name"]), timeout=15, interval=0.2)
        differences = []
        for name, rdtype in QUESTIONS:
            qname = zone["name"] if name == "@" else f"{name}.{zone['name']}"
            ours, theirs = sections(dns_query(dev.dns_port, qname, rdtype)), sections(dns_query(port, qname, rdtype))
            if ours != theirs:
                differences.append((qname, rdtype, ours, theirs))
        assert not differences, "\n".join(f"{q} {t}:\n  dcdn {o}\n  nsd  {n}" for q, t, o, n in differences)
    finally:
        nsd.terminate()
        nsd.communicate(timeout=10)


def _answers(port, name):
    try:
        return dns_query(port, name, "SOA").answer
    except Exception:
        return None


def test_import_export_import_is_lossless_and_line_numbers_survive_crlf(zone):
    again = requests.post(zone["api"] + "/zone", json={"zone": zone["exported"], "replace": True}, headers=zone["headers"], timeout=10)
    assert again.status_code == 200 and again.json()["errors"] == [], again.text
    second = requests.get(zone["api"] + "/zone", headers=zone["headers"], timeout=10).text
    # The same file, but for the comment and the SOA serial, which every change moves on.
    strip = lambda text: [line for line in text.splitlines() if not line.startswith(";") and "\tSOA\t" not in line]
    assert strip(second) == strip(zone["exported"]) and len(strip(second)) > 20
    records = requests.get(zone["api"] + "/records", headers=zone["headers"], timeout=10).json()["records"]
    contents = {record["name"]: record["content"] for record in records if record["type"] == "TXT"}
    assert contents["_dmarc"] == "v=DMARC1; p=none"
    assert contents["quoted"] == '"wrapped" \\ and café'
    # A text box sends CRLF: the bad line is reported where it is.
    text = "\r\n".join(["$TTL 1h"] + [f"ok{n} IN A 203.0.113.{n}" for n in range(2, 10)] + ["bad IN A 999.1.1.1", "t 2h IN TXT \"x\""])
    result = requests.post(zone["api"] + "/zone", json={"zone": text}, headers=zone["headers"], timeout=10).json()
    assert [error["line"] for error in result["errors"]] == [10], result
