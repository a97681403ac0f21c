"""Certificates' private keys are sealed at rest: after `dcdn dev`'s own CA issued a certificate
for a customer's domain, the SQLite database files hold none of the keys
the edges receive — not as PEM, not as DER (PKCS#8 or SEC 1), not as the raw private scalar, in
binary, hex or base64, nor base64- or hex-wrapped in any column — and no "PRIVATE KEY" at all;
the edge still serves TLS with that key. The same for an imported certificate on PostgreSQL
(its dump and every column), when the test PostgreSQL is there (scripts/with-postgres.sh)."""

import base64
import binascii
import glob
import os
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import DCDN, Instance, admin_node, admin_token, edge_node, self_signed_certificate, serve_http, signed_up
from test_dns import wait_for
from test_tls_modes import Origin

LOOPBACK_ORIGINS = {"DCDN_PRIVATE_ORIGINS": "127.0.0.0/8"}


def key_forms(pem):
    """Every spelling of a private key that would betray it: {description: bytes}."""
    key = serialization.load_pem_private_key(pem.encode(), None)
    forms = {"PEM": pem.strip().encode()}
    # The first line of the PEM's body: a PEM stored with other line breaks or cut short.
    forms["PEM body line"] = pem.strip().splitlines()[1].encode()
    for label, encoding in (("PKCS#8", serialization.PrivateFormat.PKCS8), ("SEC 1/PKCS#1", serialization.PrivateFormat.TraditionalOpenSSL)):
        try:
            der = key.private_bytes(serialization.Encoding.DER, encoding, serialization.NoEncryption())
        except ValueError:  # Ed25519 has no traditional form
            continue
        forms[f"{label} DER"] = der
    raw = {}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raw["EC scalar"] = key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
    elif isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        for name in ("d", "p", "q"):
            value = getattr(numbers, name)
            raw[f"RSA {name}"] = value.to_bytes((value.bit_length() + 7) // 8, "big")
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        raw["Ed25519 seed"] = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    for label, value in list(forms.items()):
        if label.endswith("DER"):
            raw[label] = value
    for label, value in raw.items():
        forms[label] = value
        forms[label + " hex"] = value.hex().encode()
        forms[label + " HEX"] = value.hex().upper().encode()
        forms[label + " base64"] = base64.b64encode(value).rstrip(b"=")
        forms[label + " base64url"] = base64.urlsafe_b64encode(value).rstrip(b"=")
    return forms


def leaks(data, forms):
    """What of the key (or of any private key) `data` shows."""
    found = [label for label, form in forms.items() if form in data]
    if b"PRIVATE KEY" in data:
        found.append('"PRIVATE KEY"')
    start = data.find(b"-----BEGIN ")
    while start >= 0:
        if not data.startswith(b"-----BEGIN CERTIFICATE-----", start):
            found.append(repr(data[start:start + 40]))
        start = data.find(b"-----BEGIN ", start + 1)
    return found


def unwrapped(value):
    """A column's value and what it decodes to, if it reads as base64 or hex."""
    data = value if isinstance(value, bytes) else str(value).encode()
    yield data
    compact = b"".join(data.split())
    if len(compact) < 32:
        return
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            yield decode(compact + b"=" * (-len(compact) % 4))
        except (ValueError, binascii.Error):
            pass
    try:
        yield binascii.unhexlify(compact.removeprefix(b"\\x"))  # bytea as text is \x + hex
    except (ValueError, binascii.Error):
        pass


def assert_no_key_in_columns(rows, forms):
    """rows: (table, column, value) of every cell."""
    for table, column, value in rows:
        if value is None:
            continue
        for data in unwrapped(value):
            found = leaks(data, forms)
            assert not found, f"{table}.{column} holds {found}"


def assert_no_key_in_files(paths, forms):
    assert paths
    for path in paths:
        with open(path, "rb") as file:
            found = leaks(file.read(), forms)
        assert not found, f"{os.path.basename(path)} holds {found}"


def sqlite_cells(path):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "domain_certificates" in tables
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [description[0] for description in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row):
                    yield table, column, value
    finally:
        connection.close()


def served_certificate(port, name, cafile=None):
    """The certificate the edge presents for `name` (verified against `cafile` when given) and
    the response to a GET over that connection."""
    context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            tls.sendall(f"GET /page HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            response = b""
            while chunk := tls.recv(65536):
                response += chunk
    return x509.load_der_x509_certificate(der), response.decode(errors="replace")


def same_key(certificate, pem):
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()
    form = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*form) == public.public_bytes(*form)


@pytest.fixture(scope="module")
def origin():
    with serve_http(Origin) as port:
        yield port


def test_issued_keys_are_sealed_in_the_sqlite_database_and_served_by_the_edge(origin):
    dev = Instance("dev")
    try:
        name = f"sealed{uuid.uuid4().hex[:8]}.example"
        jwt = signed_up(dev.url, f"sealed-{uuid.uuid4().hex[:6]}@example.com")
        headers = {"Authorization": f"Bearer {jwt}"}
        created = requests.post(f"{dev.url}/api/v1/cdn/domains", headers=headers, timeout=10,
                                json={"domain": name, "origin_ip": f"127.0.0.1:{origin}", "ssl_mode": "flexible"})
        assert created.status_code == 201, created.text
        api = f"{dev.url}/api/v1/cdn/domains/{created.json()['id']}"
        asked = requests.post(api + "/certificate", json={}, headers=headers, timeout=10)
        assert asked.status_code == 202, asked.text
        status = lambda: requests.get(api + "/certificate", headers=headers, timeout=10).json()
        wait_for(lambda: status()["status"] == "issued", timeout=60, interval=0.5)

        # The keys exactly as edges receive them, through the node API (an edge of the admin's).
        admin = {"Authorization": f"Bearer {admin_token(dev.url)}"}
        node = admin_node(dev.url, admin, ["edge"], ipv4="192.0.2.70")
        feed = requests.get(f"{dev.url}/api/v1/node-api/config", params={"role": "edge"},
                            headers={"Authorization": f"Bearer {node['token']}"}, timeout=15).json()
        requests.delete(f"{dev.url}/api/v1/admin/nodes/{node['id']}", headers=admin, timeout=10)
        keys = {site["name"]: site["certificate"]["key_pem"] for site in feed["edge"]["domains"] if site.get("certificate")}
        assert name in keys, sorted(keys)  # and every other certificate issued by then (the demo site's)
        forms = {}
        for site, pem in keys.items():
            forms.update({f"{site}'s key as {label}": form for label, form in key_forms(pem).items()})

        # The edge serves the issued certificate, whose key is the one the feed carries.
        ca = os.path.join(dev.data_dir, "dev-ca.pem")
        for host in (name, "www." + name):
            wait_for(lambda: same_key(served_certificate(dev.edge_tls_port, host, ca)[0], keys[name]), timeout=15, interval=0.3)
            certificate, response = served_certificate(dev.edge_tls_port, host, ca)
            assert response.startswith("HTTP/1.1 200") and "origin over http; proto https" in response, response[:300]

        database = os.path.join(dev.data_dir, "dcdn.sqlite")
        assert_no_key_in_columns(sqlite_cells(database), forms)
        assert_no_key_in_files(glob.glob(database + "*"), forms)  # the database, its WAL and shared memory
        # The edge's own saved snapshot holds keys by design (it serves them): its owner only.
        assert os.stat(os.path.join(dev.data_dir, "edge-config.json")).st_mode & 0o077 == 0
    finally:
        assert dev.stop() == 0, dev.output
    # Stopped: the WAL is checkpointed into the main file; still nothing.
    assert_no_key_in_columns(sqlite_cells(database), forms)
    assert_no_key_in_files(glob.glob(database + "*"), forms)


def postgres_bin(program):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
    assert found, f"{program} not found"
    return found[-1]


@pytest.mark.skipif(not os.environ.get("DCDN_TEST_DATABASE_URL"), reason="needs the test PostgreSQL (scripts/with-postgres.sh)")
def test_an_imported_key_is_sealed_in_postgresql_and_served_by_an_edge(origin):
    server = os.environ["DCDN_TEST_DATABASE_URL"].rsplit("/", 1)[0]
    database = f"keys_{uuid.uuid4().hex[:8]}"
    host, port = server.rsplit("@", 1)[1].split(":")
    psql = [postgres_bin("psql"), "-h", host, "-p", port, "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-At"]
    subprocess.run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {database}"], check=True, capture_output=True, timeout=30)
    url = f"{server}/{database}"
    env = {**os.environ, "DCDN_BCRYPT_COST": "4", "DCDN_SECRET_KEY": "k" * 40}
    created = subprocess.run([str(DCDN), "admin", "create-user", "--email", "operator@example.com", "--password", "sealed at rest 7 secret",
                              "--role", "admin", "--database-url", url], capture_output=True, text=True, env=env, timeout=60)
    assert created.returncode == 0, created.stderr
    coordinator = Instance("coordinator", ["--host", "127.0.0.1", "--database-url", url],
                           env={**LOOPBACK_ORIGINS, "DCDN_SECRET_KEY": env["DCDN_SECRET_KEY"]})
    edge = None
    try:
        login = requests.post(f"{coordinator.url}/api/v1/auth/login", json={"email": "operator@example.com", "password": "sealed at rest 7 secret"},
                              timeout=10)
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        name = f"pgsealed{uuid.uuid4().hex[:8]}.example"
        domain = requests.post(f"{coordinator.url}/api/v1/cdn/domains", headers=headers, timeout=10,
                               json={"domain": name, "origin_ip": f"127.0.0.1:{origin}", "ssl_mode": "flexible"})
        assert domain.status_code == 201, domain.text
        directory = tempfile.mkdtemp(prefix="dcdn-keys-")
        cert_path, key_path = self_signed_certificate(directory, "imported", dns_names=[name, "www." + name], ip_addresses=())
        imported = subprocess.run([str(DCDN), "admin", "import-certificate", "--domain", name, "--chain", cert_path, "--key", key_path,
                                   "--database-url", url], capture_output=True, text=True, env=env, timeout=60)
        assert imported.returncode == 0, imported.stderr
        pem = open(key_path).read()
        forms = key_forms(pem)

        node = admin_node(coordinator.url, headers, ["edge"], ipv4="192.0.2.71")
        edge = edge_node(coordinator.url, node["token"], env=LOOPBACK_ORIGINS)
        wait_for(lambda: same_key(served_certificate(edge.edge_tls_port, name)[0], pem), timeout=15, interval=0.3)
        certificate, response = served_certificate(edge.edge_tls_port, name)
        assert certificate.public_bytes(serialization.Encoding.PEM) == open(cert_path, "rb").read()
        assert response.startswith("HTTP/1.1 200") and "origin over http; proto https" in response, response[:300]

        dump = subprocess.run([postgres_bin("pg_dump"), "-h", host, "-p", port, "-U", "postgres", "-d", database],
                              capture_output=True, check=True, timeout=60).stdout
        assert b"domain_certificates" in dump and b"-----BEGIN CERTIFICATE-----" in dump
        found = leaks(dump, forms)
        assert not found, f"the PostgreSQL dump holds {found}"
        # Every text column of every table, decoded where it reads as base64 or hex.
        columns = subprocess.run(
            [*psql, "-d", database, "-F", "\t", "-c",
             "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
             "AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb', 'ARRAY')"],
            capture_output=True, text=True, check=True, timeout=30).stdout.split("\n")
        cells = []
        for line in filter(None, columns):
            table, column = line.split("\t")
            values = subprocess.run([*psql, "-d", database, "-c", f'SELECT "{column}"::text FROM "{table}"'], capture_output=True,
                                    check=True, timeout=30).stdout.split(b"\n")
            cells += [(table, column, value) for value in values if value]
        assert any(table == "domain_certificates" for table, _, _ in cells)
        assert_no_key_in_columns(cells, forms)
    finally:
        if edge:
            edge.stop()
        coordinator.stop()
        subprocess.run([*psql, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {database}"], capture_output=True, timeout=30)
