"""End-to-end harness: real `dcdn` processes on free loopback ports, real clients."""

import contextlib
import os
import pathlib
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
# DCDN_BINARY lets a run use a copy of the binary while the tree is rebuilt.
DCDN = pathlib.Path(os.environ.get("DCDN_BINARY", ROOT / ".build" / "debug" / "dcdn"))
ADMIN_PASSWORD = "e2e operator secret"



class RefusingResolver:
    """The resolver coordinators' delegation check asks in these tests: REFUSED at once for every
    query, so that no check waits for a timeout and nothing leaves loopback (the system's
    resolver may be on a private address)."""

    def __init__(self):
        import dns.message
        import dns.rcode
        self._message, self._rcode = dns.message, dns.rcode
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
                reply = self._message.make_response(self._message.from_wire(data))
                reply.set_rcode(self._rcode.REFUSED)
                self.socket.sendto(reply.to_wire(), peer)
            except OSError:
                return
            except Exception:  # noqa: BLE001 (not a DNS message: no answer)
                continue


_resolver = None


def refusing_resolver():
    """The session's `RefusingResolver` address ("127.0.0.1:port")."""
    global _resolver
    if _resolver is None:
        _resolver = RefusingResolver()
    return _resolver.address


class Instance:
    """One running `dcdn` process and what it printed."""

    def __init__(self, role, args=(), env=None, timeout=60, ready=None, wrap=None):
        """`wrap`, when given, turns the command line into the one to run (e.g. inside a mount
        namespace of the test's own); the process it starts must exec `dcdn` in the end, so that
        signals reach it."""
        self.ready = ready
        self.data_dir = tempfile.mkdtemp(prefix="dcdn-e2e-")
        environment = os.environ.copy()
        environment.update(
            {
                "DCDN_BCRYPT_COST": "4",
                "DCDN_RATE_LIMIT_LOGIN": "1000/60",
                "DCDN_RATE_LIMIT_REGISTER": "1000/60",
                "DCDN_ADMIN_PASSWORD": ADMIN_PASSWORD,
            }
        )
        if role != "dev":
            # Outside dev a coordinator's defaults reach beyond loopback: Let's Encrypt for
            # certificates and /etc/resolv.conf's resolver for delegation checks (dev asks its own
            # nameserver). A test that wants a CA or a resolver passes its own.
            environment.update({"DCDN_ACME_DIRECTORY_URL": "", "DCDN_DELEGATION_RESOLVER": refusing_resolver()})
        environment.update(env or {})
        ports = ["--api-port", "0"] + (["--dns-port", "0", "--http-port", "0", "--https-port", "0"] if role == "dev" else [])
        command = [str(DCDN), role, *ports, "--data-dir", self.data_dir, *args]
        if wrap is not None:
            command = wrap(command)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
        )
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self._wait_for_url(timeout)

    def _wait_for_line(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return None
            if self.process.poll() is not None:
                self._exited_early()
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"dcdn never printed {text!r}:\n" + "\n".join(self.lines))

    def _exited_early(self):
        self.process.wait()
        self.reader.join(30)  # the output to its end
        output = "\n".join(self.lines)
        raise (AddressInUse if address_in_use(output) else RuntimeError)("dcdn exited early:\n" + output)

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def _wait_for_url(self, timeout):
        if self.ready is not None:
            return self._wait_for_line(self.ready, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if "listening on" in line:
                    match = re.search(r"(http://[0-9.]+:\d+)", line)
                    if match:
                        return match.group(1)
            if self.process.poll() is not None:
                self._exited_early()
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("dcdn did not start:\n" + "\n".join(self.lines))

    @property
    def dns_port(self):
        """The nameserver's port, from the banner of `dcdn dev` or the log of `dcdn dns`."""
        for line in self.lines:
            match = re.search(r"(?:DNS\s+127\.0\.0\.1|nameserver listening on 127\.0\.0\.1):(\d+)", line)
            if match:
                return int(match.group(1))
        raise AssertionError("no DNS port in the output:\n" + self.output)

    @property
    def edge_port(self):
        """The edge's HTTP port, from the banner of `dcdn dev` or the log of `dcdn node`."""
        for line in self.lines:
            match = re.search(r"(?:Edge HTTP\s+127\.0\.0\.1|edge listening on 127\.0\.0\.1):(\d+)", line)
            if match:
                return int(match.group(1))
        raise AssertionError("no edge port in the output:\n" + self.output)

    @property
    def edge_tls_port(self):
        """The edge's HTTPS port, from the banner of `dcdn dev` or the log of `dcdn node`."""
        for line in self.lines:
            match = re.search(r"(?:Edge HTTPS\s+127\.0\.0\.1|edge TLS listening on 127\.0\.0\.1):(\d+)", line)
            if match:
                return int(match.group(1))
        raise AssertionError("no edge HTTPS port in the output:\n" + self.output)

    @property
    def output(self):
        return "\n".join(self.lines)

    def stop(self, timeout=20):
        """SIGTERM, as an init system would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


@pytest.fixture(scope="session")
def dev():
    instance = Instance("dev")
    yield instance
    assert instance.stop() == 0, instance.output


def outbox_link(base_url, email):
    """The verification link in the newest outbox mail to `email`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = requests.get(f"{base_url}/api/v1/dev/outbox", params={"to": email}, timeout=5).json()["messages"]
        if messages:
            return re.search(r"(http://\S+/dashboard/verify-email\?token=\S+)", messages[0]["body"]).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {email}")


def signed_up(base_url, email, password="a long enough password"):
    """Registers, verifies through the mailed link and logs in; returns the JWT."""
    response = requests.post(f"{base_url}/api/v1/auth/register", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 201, response.text
    link = outbox_link(base_url, email)
    token = link.split("token=")[1]
    assert requests.get(f"{base_url}/api/v1/auth/verify-email", params={"token": token}, timeout=10).status_code == 200
    login = requests.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


def admin_token(base_url, password=ADMIN_PASSWORD, email="admin@dcdn.test"):
    login = requests.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    return login.json()["access_token"]


class AddressInUse(RuntimeError):
    """A program could not bind a port it was given: someone else has it. Try other ports."""


def address_in_use(output):
    text = output.lower()
    return "address already in use" in text or "eaddrinuse" in text


def with_retried_ports(count, start, attempts=20):
    """For programs that cannot bind port 0 themselves (PostgreSQL, NSD, HAProxy, pebble): calls
    `start(ports)` with `count` candidate ports, again with other candidates while it raises
    AddressInUse. Candidates come from below Linux's ephemeral range (32768+), where the
    port-0 binds of everything else land. Never a probe socket closed before the program binds:
    that leaves the port free for anyone in between."""
    import random

    for _ in range(attempts):
        try:
            return start(random.sample(range(20000, 32768), count))
        except AddressInUse:
            continue
    raise AssertionError(f"no free ports after {attempts} attempts")


def answers_dns(port):
    """Something answers DNS over UDP on the loopback port (any answer, REFUSED included)."""
    import dns.exception
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query(".", "SOA"), "127.0.0.1", port=port, timeout=0.5)
        return True
    except (dns.exception.Timeout, OSError):
        return False


def launch_nsd(directory, config, port, ready=answers_dns, timeout=15):
    """NSD on `port` with `config(port)` as its nsd.conf (logging to `directory`/nsd.log), once
    `ready(port)`; AddressInUse when the port is taken."""
    with open(f"{directory}/nsd.conf", "w") as file:
        file.write(config(port))
    process = subprocess.Popen(["nsd", "-d", "-c", f"{directory}/nsd.conf"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = f"{directory}/nsd.log"
            output = process.stdout.read() + (open(log).read() if os.path.exists(log) else "")
            raise (AddressInUse if address_in_use(output) else RuntimeError)("nsd exited:\n" + output)
        if ready(port):
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("nsd did not answer in time")


def start_nsd(directory, config, ready=answers_dns):
    """NSD, which cannot bind port 0 and say where, on a port tried until one is free: (process, port)."""
    return with_retried_ports(1, lambda ports: (launch_nsd(directory, config, ports[0], ready), ports[0]))


@contextlib.contextmanager
def closed_port():
    """A loopback port where connections are refused, for an origin that is down: bound by a
    socket that never listens, so no other program can take it while the test runs."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def started_together(*starters):
    """Runs the functions (each starting an Instance) at once and returns their results in
    order; if one fails, the ones that started are stopped and the failure is raised."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(len(starters)) as pool:
        futures = [pool.submit(starter) for starter in starters]
        concurrent.futures.wait(futures)
    failures = [future.exception() for future in futures if future.exception() is not None]
    if failures:
        for future in futures:
            if future.exception() is None and isinstance(future.result(), Instance):
                future.result().stop()
        raise failures[0]
    return [future.result() for future in futures]


def admin_node(coordinator_url, headers, roles, name=None, ipv4="192.0.2.80", country="DE"):
    """A node an admin adds (Admin → Nodes): its API representation, with its token."""
    response = requests.post(
        f"{coordinator_url}/api/v1/admin/nodes",
        json={"name": name or f"{'-'.join(roles)}-{uuid.uuid4().hex[:6]}", "roles": list(roles), "region": "eu", "country": country,
              "ipv4": ipv4},
        headers=headers, timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def edge_node(coordinator_url, token, data_dir=None, env=None, wrap=None):
    """`dcdn node` on ports the process picks itself, once both its listeners are up."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="dcdn-e2e-edge-")
    instance = Instance(
        "node", ["--coordinator-url", coordinator_url, "--node-token", token, "--host", "127.0.0.1", "--data-dir", data_dir,
                 "--http-port", "0", "--https-port", "0"],
        ready="edge listening", env=env, wrap=wrap,
    )
    instance._wait_for_line("edge TLS listening", 30)
    instance.node_data_dir = data_dir
    return instance


def name_server(coordinator_url, token, data_dir=None, env=None):
    """`dcdn dns` on a port the process picks itself."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="dcdn-e2e-dns-")
    instance = Instance(
        "dns", ["--coordinator-url", coordinator_url, "--node-token", token, "--host", "127.0.0.1", "--data-dir", data_dir,
                "--dns-port", "0"],
        ready="nameserver listening", env=env,
    )
    instance.node_data_dir = data_dir
    return instance


@contextlib.contextmanager
def serve_http(handler):
    """A threaded HTTP server with `handler` on a free loopback port; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def proxied_site(dev, origin_port, prefix):
    """A new customer's domain proxied by the dev edge to 127.0.0.1:origin_port (SSL off), once
    the edge serves it: {"name", "edge" (base URL), "api" (the domain's API URL), "headers", "id", "email"
    (its owner, whose password is signed_up's default)}."""
    from test_dns import wait_for

    name = f"{prefix}{uuid.uuid4().hex[:6]}.example"
    email = f"{prefix}-{uuid.uuid4().hex[:6]}@example.com"
    jwt = signed_up(dev.url, email)
    headers = {"Authorization": f"Bearer {jwt}"}
    created = requests.post(
        f"{dev.url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": f"127.0.0.1:{origin_port}", "ssl_mode": "off"},
        headers=headers, timeout=10,
    )
    assert created.status_code == 201, created.text
    edge = f"http://127.0.0.1:{dev.edge_port}"
    known = lambda: requests.get(edge + "/", headers={"Host": name}, timeout=5).headers.get("Cache-Status") != "DCDN; detail=edge-404"
    wait_for(known, timeout=10)
    return {
        "name": name, "edge": edge, "api": f"{dev.url}/api/v1/cdn/domains/{created.json()['id']}", "headers": headers,
        "id": created.json()["id"], "email": email,
    }


def operator_coordinator(env=None, email="ops@example.com", password="cluster password 1"):
    """A `dcdn coordinator` with an admin made by `dcdn admin create-user`, signed in: returns the
    instance and the admin's Authorization headers."""
    data = tempfile.mkdtemp()
    created = subprocess.run(
        [str(DCDN), "admin", "create-user", "--email", email, "--password", password, "--role", "admin", "--data-dir", data],
        capture_output=True, text=True, env={**os.environ, "DCDN_BCRYPT_COST": "4"}, timeout=60,
    )
    assert created.returncode == 0, created.stderr
    coordinator = Instance("coordinator", ["--host", "127.0.0.1", "--data-dir", data], env=env)
    login = requests.post(f"{coordinator.url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=10)
    assert login.status_code == 200, login.text
    return coordinator, {"Authorization": f"Bearer {login.json()['access_token']}"}


def self_signed_certificate(directory, stem, dns_names=(), ip_addresses=("127.0.0.1",), ca=False):
    """A P-256 self-signed certificate and key written as <stem>.pem and <stem>.key; returns the paths."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem)])
    now = datetime.datetime.now(datetime.timezone.utc)
    names = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    certificate = builder.sign(key, hashes.SHA256())
    cert_path, key_path = os.path.join(directory, stem + ".pem"), os.path.join(directory, stem + ".key")
    with open(cert_path, "wb") as out:
        out.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path
