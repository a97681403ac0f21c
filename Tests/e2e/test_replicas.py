"""Coordinator replicas on one PostgreSQL behind HAProxy in round-robin, with an edge node and a
nameserver fed through the balancer: the guide's limits hold across replicas; a background job's
item runs once, and the item of a replica killed in the middle of it is finished by another; a
rolling restart under steady load loses no request; a database outage is answered 503 with
Retry-After, then full service returns without a restart. The test runs its own PostgreSQL
cluster, which it stops and starts, and its own resolver for the delegation check."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import dns.message
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
import requests

from conftest import DCDN, AddressInUse, Instance, address_in_use, serve_http, with_retried_ports
from test_dns import wait_for
from test_edge_cache import Origin

NAMESERVERS = ["ns1.replicas.example", "ns2.replicas.example"]
# The guide's own sign-in limit (the e2e default raises it for the shared dev instance); short
# leases and delegation checks every second so that the job test takes seconds; no ACME CA (the
# platform's default is Let's Encrypt, which a test must never reach); the test's origin on loopback.
SETTINGS = {
    "DCDN_SECRET_KEY": "r" * 40, "DCDN_RATE_LIMIT_LOGIN": "3/600", "DCDN_JOB_LEASE": "3", "DCDN_DELEGATION_CHECK_INTERVAL": "1",
    "DCDN_ACME_DIRECTORY_URL": "", "DCDN_NAMESERVERS": ",".join(NAMESERVERS), "DCDN_PRIVATE_ORIGINS": "127.0.0.0/8",
    # The API's own burst limit is not under test: the rolling restart's load would reach it.
    "DCDN_RATE_LIMIT_API_BURST": "100000", "DCDN_RATE_LIMIT_API_RATE": "100000",
}
ADMIN = ("replicas@example.com", "replica cluster password")


class Resolver:
    """The resolver the delegation check asks: answers NS queries with the platform's nameservers,
    except for names it is told to hold, whose queries it records and leaves unanswered."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held = set()
        self.queries = []  # (name, message id, answered)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.socket.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text().rstrip(".")
            answered = name not in self.held
            self.queries.append((name, query.id, answered))
            if answered:
                reply = dns.message.make_response(query)
                reply.answer.append(dns.rrset.from_text(name + ".", 300, "IN", "NS", *(n + "." for n in NAMESERVERS)))
                self.socket.sendto(reply.to_wire(), peer)

    def asked(self, name):
        return [query for query in self.queries if query[0] == name]


class Balancer:
    """HAProxy in round-robin over the replicas, with its runtime API to point a server at a
    restarted replica's new port. Retries what it may: a refused connection, and an idempotent
    request whose connection closed without an answer."""

    def __init__(self, ports):
        self.directory = tempfile.mkdtemp(prefix="dcdn-haproxy-")
        # HAProxy binds the port it is given: another one when that one is taken.
        with_retried_ports(1, lambda candidates: self._start(candidates[0], ports))
        self.url = f"http://127.0.0.1:{self.port}"

    def _start(self, port, ports):
        self.port = port
        servers = "\n".join(f"    server c{n} 127.0.0.1:{port} check inter 500ms fall 2 rise 1" for n, port in enumerate(ports))
        with open(f"{self.directory}/haproxy.cfg", "w") as file:
            file.write(f"""
global
    maxconn 2000
    stats socket {self.directory}/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
frontend api
    bind 127.0.0.1:{self.port}
    default_backend coordinators
backend coordinators
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{servers}
""")
        self.process = subprocess.Popen(["haproxy", "-f", f"{self.directory}/haproxy.cfg", "-db"], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)

        def listening():
            if self.process.poll() is not None:
                return True
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, timeout=15, interval=0.1)
        if self.process.poll() is not None:
            output = self.process.stdout.read()
            raise (AddressInUse if address_in_use(output) else RuntimeError)("haproxy exited:\n" + output)

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as admin:
            admin.connect(f"{self.directory}/admin.sock")
            admin.sendall(line.encode() + b"\n")
            reply = b""
            while chunk := admin.recv(4096):
                reply += chunk
        return reply.decode()

    def point(self, number, port):
        """Points server c<number> at a new port (a replica restarted on another one)."""
        self.command(f"set server coordinators/c{number} addr 127.0.0.1 port {port}")

    def up(self, number):
        stat = self.command("show stat")
        return any(line.startswith(f"coordinators,c{number},") and ",UP," in line for line in stat.splitlines())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class Cluster:
    """A throwaway PostgreSQL cluster (as scripts/with-postgres.sh makes one) that can be stopped
    and started again on the same port."""

    def __init__(self):
        self.bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1]
        self.dir = tempfile.mkdtemp(prefix="dcdn-replicas-pg-")
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run([*self.run_as, f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "--no-sync"],
                       check=True, capture_output=True)
        # PostgreSQL binds the port it is given: another one when that one is taken. Restarts
        # (start() again) keep it, as the replicas' database URL does.
        with_retried_ports(1, lambda candidates: self._first_start(candidates[0]))
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _first_start(self, port):
        self.port = port
        self.start()

    def start(self):
        log = f"{self.dir}/log"
        offset = os.path.getsize(log) if os.path.exists(log) else 0
        started = subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                                 capture_output=True, text=True)
        if started.returncode != 0:
            with open(log) as file:  # what this start wrote
                file.seek(offset)
                written = file.read()
            raise (AddressInUse if address_in_use(written) else RuntimeError)(f"pg_ctl start failed:\n{started.stdout}{started.stderr}{written}")

    def stop(self):
        subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop"], check=True,
                       capture_output=True)

    def remove(self):
        subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_replica(cluster, resolver):
    return Instance("coordinator", ["--host", "127.0.0.1", "--database-url", cluster.url],
                    env={**SETTINGS, "DCDN_DELEGATION_RESOLVER": f"127.0.0.1:{resolver.port}"})


def port_of(instance):
    return int(instance.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def replicas():
    cluster = Cluster()
    resolver = Resolver()
    coordinators, nodes = [], []
    balancer = None
    origin = serve_http(Origin)
    origin_port = origin.__enter__()
    try:
        for _ in range(3):
            coordinators.append(start_replica(cluster, resolver))
        created = subprocess.run([str(DCDN), "admin", "create-user", "--email", ADMIN[0], "--password", ADMIN[1], "--role", "admin",
                                  "--database-url", cluster.url], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "DCDN_BCRYPT_COST": "4", **SETTINGS})
        assert created.returncode == 0, created.stderr
        balancer = Balancer([port_of(c) for c in coordinators])
        url = balancer.url
        wait_for(lambda: _ready(url), timeout=20, interval=0.2)
        # Signed in from 127.0.0.2: the sign-in limit of 127.0.0.1 belongs to the limit's test.
        login = _from_second_address().post(f"{coordinators[0].url}/api/v1/auth/login",
                                            json={"email": ADMIN[0], "password": ADMIN[1]}, timeout=10)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # An edge node and a nameserver, both fed through the balancer.
        for role, command, ready in (("edge", "node", "edge listening"), ("dns", "dns", "nameserver listening")):
            node = requests.post(f"{url}/api/v1/admin/nodes", json={"name": f"{role}-replicas", "roles": [role], "region": "eu",
                                                                    "country": "DE", "ipv4": "192.0.2.90"}, headers=headers, timeout=10)
            assert node.status_code == 201, node.text
            ports = ["--http-port", "0", "--https-port", "0"] if role == "edge" else ["--dns-port", "0"]
            nodes.append(Instance(command, ["--coordinator-url", url, "--node-token", node.json()["token"], "--host", "127.0.0.1",
                                            *ports], ready=ready, env=SETTINGS))
        site = f"site-{uuid.uuid4().hex[:6]}.example.com"
        domain = requests.post(f"{url}/api/v1/cdn/domains", json={"domain": site, "origin_ip": f"127.0.0.1:{origin_port}", "ssl_mode": "off"},
                               headers=headers, timeout=10)
        assert domain.status_code == 201, domain.text
        yield {"url": url, "cluster": cluster, "coordinators": coordinators, "balancer": balancer, "resolver": resolver,
               "headers": headers, "edge": nodes[0], "nameserver": nodes[1], "site": site, "domain": domain.json()}
    finally:
        for instance in nodes:
            instance.stop()
        if balancer:
            balancer.stop()
        for coordinator in coordinators:
            coordinator.stop()
        origin.__exit__(None, None, None)
        cluster.remove()


def _from_second_address():
    """A requests session whose connections leave from 127.0.0.2."""
    session = requests.Session()

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = ("127.0.0.2", 0)
            super().init_poolmanager(*args, **kwargs)

    session.mount("http://", Adapter())
    return session


def psql(cluster, query):
    """One query on the test's cluster; rows as lists of text."""
    result = subprocess.run([*cluster.run_as, f"{cluster.bin}/psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                             "-At", "-F", "|", "-c", query], capture_output=True, text=True, check=True, timeout=30)
    return [line.split("|") for line in result.stdout.splitlines() if line]


def edge_get(replicas, path):
    return requests.get(f"http://127.0.0.1:{replicas['edge'].edge_port}{path}", headers={"Host": replicas["site"]}, timeout=10)


def _ready(url):
    try:
        return requests.get(url + "/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def login_answers(coordinator):
    """How many sign-in calls this replica has answered (its own /metrics)."""
    text = requests.get(coordinator.url + "/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("dcdn_http_requests_total{") and 'route="/api/v1/auth/login"' in line)


def test_the_login_limit_holds_whichever_replica_answers(replicas):
    url = replicas["url"]
    before = [login_answers(coordinator) for coordinator in replicas["coordinators"]]
    email = f"limit-{uuid.uuid4().hex[:6]}@example.com"
    attempts = []
    for _ in range(4):
        response = requests.post(f"{url}/api/v1/auth/login", json={"email": email, "password": "not the password 1"}, timeout=10)
        attempts.append(response.status_code)
    # Three wrong passwords are 401; the fourth in ten minutes is 429, although round-robin sent
    # the four attempts to three different replicas.
    assert attempts == [401, 401, 401, 429], attempts
    after = [login_answers(coordinator) for coordinator in replicas["coordinators"]]
    assert all(later > earlier for earlier, later in zip(before, after)), (before, after)  # every replica answered some
    limited = requests.post(f"{url}/api/v1/auth/login", json={"email": email, "password": "x"}, timeout=10)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 600
    assert limited.json()["code"] == "rate_limited"


def replace(replicas, number):
    """Starts a new replica in slot `number` (the old one stopped or killed) and points the
    balancer at it."""
    coordinator = start_replica(replicas["cluster"], replicas["resolver"])
    replicas["coordinators"][number] = coordinator
    replicas["balancer"].point(number, port_of(coordinator))
    wait_for(lambda: replicas["balancer"].up(number), timeout=20, interval=0.1)


def test_a_job_item_runs_once_and_a_killed_replicas_item_is_finished_by_another(replicas):
    url, headers, resolver, cluster = replicas["url"], replicas["headers"], replicas["resolver"], replicas["cluster"]
    # The site added at the start was delegated (the resolver answers with our nameservers) once,
    # by one replica, though three ran the delegation check every second since.
    site = replicas["domain"]
    wait_for(lambda: requests.get(f"{url}/api/v1/cdn/domains/{site['id']}", headers=headers, timeout=5).json()["status"] == "active",
             timeout=20, interval=0.2)
    rows = psql(cluster, f"SELECT attempts, claimed_by, completed_by FROM job_runs WHERE job = 'delegation check' AND item ILIKE '{site['id']}:%'")
    assert len(rows) == 1 and rows[0][0] == "1" and rows[0][1] == rows[0][2], rows
    assert len(resolver.asked(replicas["site"])) == 1, "one replica asked the resolver, once"

    # Now a domain whose check hangs on the resolver (it is told to hold the answer): the replica
    # that claimed it is killed in the middle of the check.
    name = f"held-{uuid.uuid4().hex[:6]}.example.com"
    resolver.held.add(name)
    before_claim = time.monotonic()  # the item is claimed after this, and its lease runs 3 s from the claim
    created = requests.post(f"{url}/api/v1/cdn/domains", json={"domain": name, "origin_ip": "192.0.2.10", "ssl_mode": "off"},
                            headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    domain_id = created.json()["id"].lower()
    wait_for(lambda: resolver.asked(name), timeout=15, interval=0.05)
    claimed = psql(cluster, f"SELECT claimed_by, completed_at FROM job_runs WHERE job = 'delegation check' AND item ILIKE '{domain_id}:%'")
    assert len(claimed) == 1 and claimed[0][1] == "", claimed  # claimed, not completed
    pid = int(claimed[0][0].rsplit(":", 1)[1])
    number = next(n for n, c in enumerate(replicas["coordinators"]) if c.process.pid == pid)
    os.kill(pid, signal.SIGKILL)
    replicas["coordinators"][number].process.wait(10)
    resolver.held.discard(name)  # the next check gets its answer

    # Another replica finishes the item once the dead one's 3-second lease has lapsed.
    finished = wait_for(lambda: requests.get(f"{url}/api/v1/cdn/domains/{domain_id}", headers=headers, timeout=5).json()["status"] == "active",
                        timeout=30, interval=0.2)
    # A lower bound only, from a moment before the claim: however slow the machine, not earlier.
    assert finished - before_claim >= 2.9, "not before the lease lapsed"
    rows = psql(cluster, f"SELECT attempts, claimed_by, completed_by FROM job_runs WHERE job = 'delegation check' AND item ILIKE '{domain_id}:%'")
    assert len(rows) == 1 and rows[0][0] == "2", rows
    assert rows[0][2] == rows[0][1] and int(rows[0][2].rsplit(":", 1)[1]) != pid, rows
    asked = resolver.asked(name)
    assert [answered for _, _, answered in asked] == [False, True], asked  # the killed replica's query and the finisher's
    assert len({message_id for _, message_id, _ in asked}) == 2
    time.sleep(2)
    assert len(resolver.asked(name)) == 2, "an active domain is not checked again"
    # Every item of every job ran to completion once: none has a second completion, and only the
    # killed replica's item needed a second attempt.
    attempts = psql(cluster, "SELECT job, item, attempts FROM job_runs WHERE attempts > 1")
    assert [row[1].split(":")[0].lower() for row in attempts] == [domain_id], attempts
    replace(replicas, number)


def test_a_rolling_restart_under_load_loses_no_request(replicas):
    url, headers = replicas["url"], replicas["headers"]
    outcomes, stop = [], threading.Event()
    path = f"/rolling?cc=max-age%3D0&t={uuid.uuid4().hex[:6]}"

    def load():
        session = requests.Session()
        while not stop.is_set():
            for target, expected in ((f"{url}/api/v1/plans", "plans"), (f"{url}/api/v1/cdn/domains", "domains")):
                try:
                    response = session.get(target, headers=headers, timeout=15)
                    outcomes.append((target, response.status_code, expected in response.json()))
                except (requests.RequestException, ValueError) as error:
                    outcomes.append((target, repr(error), False))
            try:
                served = edge_get(replicas, path)
                outcomes.append(("edge", served.status_code, True))
            except requests.RequestException as error:
                outcomes.append(("edge", repr(error), False))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()

    def load_goes_on():
        """Requests are answered meanwhile (however many a second this machine manages)."""
        count = len(outcomes)
        wait_for(lambda: len(outcomes) >= count + 20, timeout=60, interval=0.05)

    try:
        load_goes_on()
        for number in range(3):
            # As an init system restarts a service: SIGTERM, wait for the exit, start it again.
            assert replicas["coordinators"][number].stop() == 0
            load_goes_on()  # with one replica down
            replace(replicas, number)
            load_goes_on()
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    failures = [outcome for outcome in outcomes if outcome[1] != 200 or not outcome[2]]
    assert not failures, failures[:10]
    # The nodes follow the new replicas: a record added now reaches the nameserver.
    zone = requests.post(f"{url}/api/v1/cdn/domains/{replicas['domain']['id']}/records",
                         json={"type": "TXT", "name": "rolled", "content": "after-restart", "ttl": 300}, headers=headers, timeout=10)
    assert zone.status_code == 201, zone.text
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], replicas["nameserver"].dns_port

    def served():
        try:
            return any("after-restart" in r.to_text() for r in resolver.resolve(f"rolled.{replicas['site']}", "TXT", lifetime=2))
        except Exception:
            return False

    wait_for(served, timeout=20, interval=0.2)


def test_a_database_outage_is_503_with_retry_after_and_service_returns_without_a_restart(replicas):
    url, cluster = replicas["url"], replicas["cluster"]
    direct = replicas["coordinators"][0].url  # past the balancer, which takes unready replicas out
    replicas["cluster"].stop()
    try:
        for target in (f"{direct}/api/v1/plans", f"{direct}/api/v1/auth/login"):
            response = (requests.get(target, timeout=15) if target.endswith("plans")
                        else requests.post(target, json={"email": "a@example.com", "password": "whatever it is"}, timeout=15))
            assert response.status_code == 503, (target, response.status_code, response.text)
            assert response.json()["code"] == "database_unavailable" and response.headers["Retry-After"] == "5"
        # The dashboard's sign-in form needs the database too: a maintenance page, not an error.
        page = requests.post(f"{direct}/dashboard/login", data={"email": "a@example.com", "password": "whatever it is"}, timeout=15,
                             headers={"Origin": direct}, allow_redirects=False)
        assert page.status_code == 503 and "Down for maintenance" in page.text, (page.status_code, page.text[:300])
        assert page.headers["Retry-After"] == "5" and "text/html" in page.headers["Content-Type"]
        assert requests.get(f"{direct}/readyz", timeout=15).status_code == 503
        assert requests.get(f"{direct}/healthz", timeout=5).status_code == 200, "the process itself is fine"
    finally:
        cluster.start()
    # Back without a restart: the pools reconnect.
    recovered = wait_for(lambda: requests.get(f"{direct}/api/v1/plans", timeout=5).status_code == 200, timeout=15, interval=0.2)
    assert recovered
    wait_for(lambda: _ready(url), timeout=15, interval=0.2)
    assert requests.get(f"{url}/api/v1/plans", timeout=5).status_code == 200
