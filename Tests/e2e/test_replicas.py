"""Coordinator replicas on one PostgreSQL behind HAProxy in round-robin: the guide's limits hold
across replicas, and a database outage is answered 503 with Retry-After, then full service
returns without a restart. The test runs its own PostgreSQL cluster, which it stops and starts."""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import requests

from conftest import Instance, free_port
from test_dns import wait_for

# The guide's own sign-in limit (the e2e default raises it for the shared dev instance).
SECRET = {"DCDN_SECRET_KEY": "r" * 40, "DCDN_RATE_LIMIT_LOGIN": "3/600"}


class Cluster:
    """A throwaway PostgreSQL cluster (as scripts/with-postgres.sh makes one) that can be stopped
    and started again on the same port."""

    def __init__(self):
        self.bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1]
        self.dir = tempfile.mkdtemp(prefix="dcdn-replicas-pg-")
        self.port = free_port()
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run([*self.run_as, f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "--no-sync"],
                       check=True, capture_output=True)
        self.start()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                        f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], check=True, capture_output=True)

    def stop(self):
        subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop"], check=True,
                       capture_output=True)

    def remove(self):
        subprocess.run([*self.run_as, f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def replicas():
    cluster = Cluster()
    coordinators = []
    balancer = None
    try:
        for _ in range(3):
            coordinators.append(Instance("coordinator", ["--host", "127.0.0.1", "--database-url", cluster.url], env=SECRET))
        port = free_port()
        directory = tempfile.mkdtemp(prefix="dcdn-haproxy-")
        servers = "\n".join(f"    server c{n} 127.0.0.1:{c.url.rsplit(':', 1)[1]} check inter 500ms fall 2 rise 1"
                            for n, c in enumerate(coordinators))
        with open(f"{directory}/haproxy.cfg", "w") as file:
            file.write(f"""
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend api
    bind 127.0.0.1:{port}
    default_backend coordinators
backend coordinators
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{servers}
""")
        balancer = subprocess.Popen(["haproxy", "-f", f"{directory}/haproxy.cfg", "-db"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ready(url), timeout=20, interval=0.2)
        yield {"url": url, "cluster": cluster, "coordinators": coordinators}
    finally:
        if balancer:
            balancer.terminate()
            balancer.wait(timeout=10)
        for coordinator in coordinators:
            coordinator.stop()
        cluster.remove()


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
