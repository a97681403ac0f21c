"""Certificates from a real ACME CA: Debian's pebble, configured by this test, validating through
`dcdn dns` (-dnsserver) and the dev edge. HTTP-01 for apex + www, DNS-01 for a wildcard, a forced
renewal, a failing challenge with a clear error and a retry, then curl over HTTPS to the edge."""

import datetime
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

import pytest
import requests

from conftest import AddressInUse, Instance, address_in_use, self_signed_certificate, signed_up, with_retried_ports
from test_tls_modes import Origin
from test_dashboard_browser import browser  # noqa: F401 (fixture)
from test_dns import wait_for

pytestmark = pytest.mark.skipif(shutil.which("pebble") is None, reason="Debian's pebble is not installed")


def start_pebble_and_dev(work, cert, key, origin_cert, ports):
    """pebble validates on the dev edge's HTTP and HTTPS ports and asks the dev nameserver, and
    dev asks pebble: neither can take port 0 and tell the other, so both get candidate ports and
    start again on others when one is taken."""
    names = ("acme", "management", "http", "https", "dns")
    ports = dict(zip(names, ports))
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{ports['acme']}", "managementListenAddress": f"127.0.0.1:{ports['management']}",
            "certificate": cert, "privateKey": key, "httpPort": ports["http"], "tlsPort": ports["https"],
            "ocspResponderURL": "", "externalAccountBindingRequired": False, "retryAfter": {"authz": 1, "order": 1},
        }
    }
    with open(os.path.join(work, "pebble.json"), "w") as out:
        json.dump(config, out)
    pebble = subprocess.Popen(
        ["pebble", "-config", os.path.join(work, "pebble.json"), "-dnsserver", f"127.0.0.1:{ports['dns']}"],
        env={**os.environ, "PEBBLE_VA_NOSLEEP": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )

    def answering():
        if pebble.poll() is not None:
            return True
        try:
            return requests.get(f"https://127.0.0.1:{ports['acme']}/dir", verify=cert, timeout=2).ok
        except requests.ConnectionError:
            return False

    wait_for(answering, timeout=20, interval=0.2)
    if pebble.poll() is not None:
        output = pebble.stdout.read()
        raise (AddressInUse if address_in_use(output) else RuntimeError)("pebble exited:\n" + output)
    try:
        dev = Instance(
            "dev",
            ["--http-port", str(ports["http"]), "--https-port", str(ports["https"]), "--dns-port", str(ports["dns"])],
            env={
                "DCDN_ACME_DIRECTORY_URL": f"https://127.0.0.1:{ports['acme']}/dir", "DCDN_ACME_CA_BUNDLE": cert,
                "DCDN_ACME_CHALLENGE_DELAY": "1", "DCDN_EDGE_ORIGIN_CA_BUNDLE": origin_cert,
            },
        )
    except BaseException:
        pebble.terminate()
        pebble.wait(10)
        raise
    # dev does not exit when one of its listeners cannot bind (it runs on without it): each must
    # say it listens on its port, or the port was someone else's.
    try:
        for line in (f"edge listening on 127.0.0.1:{ports['http']} ", f"edge TLS listening on 127.0.0.1:{ports['https']} ",
                     f"nameserver listening on 127.0.0.1:{ports['dns']} "):
            dev._wait_for_line(line, 30)
    except RuntimeError as error:
        dev.process.kill()
        pebble.terminate()
        pebble.wait(10)
        raise AddressInUse(str(error)) from error
    return pebble, dev, ports


@pytest.fixture(scope="module")
def acme():
    work = tempfile.mkdtemp(prefix="dcdn-pebble-")
    cert, key = self_signed_certificate(work, "pebble", dns_names=["localhost"], ca=True)  # pebble's own HTTPS
    # An HTTPS origin whose self-signed certificate the operator configures as an origin CA.
    origin_cert, origin_key = self_signed_certificate(work, "origin")
    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(origin_cert, origin_key)
    origin.socket = context.wrap_socket(origin.socket, server_side=True)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    pebble, dev, ports = with_retried_ports(5, lambda ports: start_pebble_and_dev(work, cert, key, origin_cert, ports))
    ports["origin"] = origin.server_address[1]
    root = os.path.join(work, "root.pem")
    try:
        yield {"dev": dev, "ports": ports, "pebble_cert": cert, "root": root, "work": work}
    finally:
        origin.shutdown()
        dev.stop()
        pebble.terminate()
        pebble.wait(10)


def customer_domain(acme, prefix):
    dev = acme["dev"]
    name = f"{prefix}{uuid.uuid4().hex[:6]}.example"
    jwt = signed_up(dev.url, f"{prefix}-{uuid.uuid4().hex[:6]}@example.com")
    headers = {"Authorization": f"Bearer {jwt}"}
    created = requests.post(f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": "203.0.113.7"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    return {"name": name, "api": f"{dev.url}/api/v1/cdn/domains/{created.json()['id']}", "headers": headers}


def certificate(domain):
    return requests.get(domain["api"] + "/certificate", headers=domain["headers"], timeout=10).json()


def pebble_roots(acme):
    """The CA's root and intermediate, as curl's --cacert."""
    ports = acme["ports"]
    pems = [requests.get(f"https://127.0.0.1:{ports['management']}/{kind}/0", verify=acme["pebble_cert"], timeout=5).text for kind in ("roots", "intermediates")]
    with open(acme["root"], "w") as out:
        out.write("\n".join(pems))
    return acme["root"]


def curl(acme, host, path="/"):
    port = acme["ports"]["https"]
    return subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}", "--resolve", f"{host}:{port}:127.0.0.1", "--cacert", pebble_roots(acme), f"https://{host}:{port}{path}"],
        capture_output=True, text=True, timeout=30,
    )


def issued(domain, acme, timeout=90):
    try:
        wait_for(lambda: certificate(domain)["status"] == "issued", timeout=timeout, interval=1)
    except AssertionError:
        log = "\n".join(line for line in acme["dev"].lines if "certificate" in line or "acme" in line.lower())[-3000:]
        raise AssertionError(f"not issued: {certificate(domain)}\n{log}")
    return certificate(domain)


def test_http01_certificate_for_apex_and_www_is_served_by_the_edge(acme):
    domain = customer_domain(acme, "tls")
    state = issued(domain, acme)
    assert state["names"] == [domain["name"], "www." + domain["name"]] and state.get("last_error") is None
    assert state["expires_at"] > state["issued_at"]
    for host in (domain["name"], "www." + domain["name"]):
        wait_for(lambda: curl(acme, host).returncode == 0, timeout=15, interval=0.5)
        result = curl(acme, host)
        assert result.returncode == 0 and result.stdout.endswith(" 0"), result.stderr


def test_dns01_wildcard_certificate(acme):
    domain = customer_domain(acme, "wild")
    issued(domain, acme)
    response = requests.post(domain["api"] + "/certificate", json={"wildcard": True}, headers=domain["headers"], timeout=10)
    assert response.status_code == 202 and response.json()["wildcard"] is True
    wait_for(lambda: certificate(domain)["names"] == [domain["name"], "*." + domain["name"]] and certificate(domain)["status"] == "issued", timeout=90, interval=1)
    host = "anything." + domain["name"]
    wait_for(lambda: curl(acme, host).returncode == 0, timeout=15, interval=0.5)
    assert curl(acme, host).returncode == 0, "the wildcard covers any one label"


def test_a_certificate_forced_near_expiry_is_renewed(acme):
    domain = customer_domain(acme, "renew")
    first = issued(domain, acme)
    database = os.path.join(acme["dev"].data_dir, "dcdn.sqlite")
    soon = time.time() + 3600  # dates are stored as seconds since 1970
    with sqlite3.connect(database, timeout=10) as db:
        changed = db.execute(
            "UPDATE domain_certificates SET not_after = ?, due_at = ? WHERE domain_id = (SELECT id FROM domains WHERE name = ?)",
            (soon, time.time() - 1, domain["name"]),
        ).rowcount
    assert changed == 1
    wait_for(lambda: certificate(domain)["issued_at"] != first["issued_at"], timeout=90, interval=1)
    renewed = certificate(domain)
    assert renewed["status"] == "issued" and renewed["expires_at"] > first["issued_at"]
    assert datetime.datetime.fromisoformat(renewed["expires_at"].replace("Z", "+00:00")).timestamp() > soon + 86400


def test_a_failing_challenge_shows_a_clear_error_and_is_retried(acme):
    domain = customer_domain(acme, "fail")
    records = requests.get(domain["api"] + "/records", headers=domain["headers"], timeout=10).json()["records"]
    for record in records:
        if record["type"] == "A":
            patched = requests.patch(f"{domain['api']}/records/{record['id']}", json={"content": "127.0.0.2", "proxied": False}, headers=domain["headers"], timeout=10)
            assert patched.status_code == 200, patched.text
    wait_for(lambda: certificate(domain)["attempts"] >= 1, timeout=90, interval=1)
    state = certificate(domain)
    assert state["status"] == "failed"
    assert state["last_error"].startswith("The certificate authority said:"), state["last_error"]
    retry_at = datetime.datetime.fromisoformat(state["next_attempt_at"].replace("Z", "+00:00")).timestamp()
    assert state["attempts"] == 1 and retry_at > time.time(), "retried later, with backoff"
    wait_for(lambda: certificate(domain)["attempts"] >= 2, timeout=120, interval=1)


def test_the_domain_page_shows_the_certificate_and_issues_a_wildcard(acme, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from test_dashboard_browser import wait
    from test_domains_browser import sign_in

    dev = acme["dev"]
    email = f"tlsweb-{uuid.uuid4().hex[:6]}@example.com"
    jwt = signed_up(dev.url, email)
    headers = {"Authorization": f"Bearer {jwt}"}
    name = f"web{uuid.uuid4().hex[:6]}.example"
    created = requests.post(f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": "203.0.113.7"}, headers=headers, timeout=10)
    domain = {"name": name, "api": f"{dev.url}/api/v1/cdn/domains/{created.json()['id']}", "headers": headers}
    issued(domain, acme)
    sign_in(browser, dev.url, email, "a long enough password")
    browser.get(f"{dev.url}/dashboard/domains/{created.json()['id']}")
    assert browser.find_element(By.ID, "certificate-status").text == "issued"
    browser.find_element(By.ID, "certificate-wildcard").click()
    browser.find_element(By.ID, "certificate-issue").click()
    wait(browser).until(EC.url_contains("notice=certificate_requested"))
    wait_for(lambda: certificate(domain)["names"] == [name, "*." + name] and certificate(domain)["status"] == "issued", timeout=90, interval=1)
    browser.refresh()
    assert f"*.{name}" in browser.find_element(By.ID, "certificate").text


def test_strict_trusts_an_origin_ca_the_operator_configured(acme):
    dev = acme["dev"]
    jwt = signed_up(dev.url, f"strict-{uuid.uuid4().hex[:6]}@example.com")
    name = f"strict{uuid.uuid4().hex[:6]}.example"
    created = requests.post(
        f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": f"127.0.0.1:{acme['ports']['origin']}", "ssl_mode": "strict"},
        headers={"Authorization": f"Bearer {jwt}"}, timeout=10,
    )
    assert created.status_code == 201, created.text
    edge = f"http://127.0.0.1:{acme['ports']['http']}/page"
    wait_for(lambda: requests.get(edge, headers={"Host": name}, timeout=10).status_code == 200, timeout=15, interval=0.3)
    assert requests.get(edge, headers={"Host": name}, timeout=10).text.startswith("origin over https")
