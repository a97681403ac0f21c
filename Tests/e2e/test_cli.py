"""The `dcdn` command as an operator uses it."""

import json
import os
import re
import subprocess
import tempfile
import uuid

import pytest
import requests

from conftest import DCDN, Instance


def dcdn(*args, env=None):
    environment = os.environ.copy()
    environment["DCDN_BCRYPT_COST"] = "4"
    environment.update(env or {})
    return subprocess.run([str(DCDN), *args], capture_output=True, text=True, timeout=60, env=environment)


def test_help_lists_the_roles():
    result = dcdn("--help")
    assert result.returncode == 0
    for command in ("dev", "coordinator", "db", "admin"):
        assert command in result.stdout
    assert "--api-port" in dcdn("dev", "--help").stdout


def test_migrate_then_create_user_then_sign_in():
    data = tempfile.mkdtemp()
    dry = dcdn("db", "migrate", "--dry-run", "--data-dir", data)
    assert dry.returncode == 0, dry.stderr
    assert "001_create_plans" in dry.stdout
    pending = re.findall(r"\b\d{3}_[a-z_]+", dry.stdout)
    assert len(pending) == len(set(pending)) > 20, dry.stdout
    applied = dcdn("db", "migrate", "--data-dir", data)
    assert f"Applied {len(pending)} migration(s)" in applied.stdout, applied.stdout + applied.stderr
    assert "up to date" in dcdn("db", "migrate", "--dry-run", "--data-dir", data).stdout

    weak = dcdn("admin", "create-user", "--email", "ops@example.com", "--password", "short", "--data-dir", data)
    assert weak.returncode != 0
    assert "password: must be at least 10 characters" in weak.stderr
    created = dcdn("admin", "create-user", "--email", "ops@example.com", "--password", "a long enough password", "--role", "admin", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    assert "verified admin" in created.stdout

    # A real coordinator on the prepared data directory (the later --data-dir wins).
    instance = Instance("coordinator", ["--host", "127.0.0.1", "--data-dir", data])
    try:
        login = requests.post(f"{instance.url}/api/v1/auth/login", json={"email": "ops@example.com", "password": "a long enough password"}, timeout=5)
        assert login.status_code == 200
        assert login.json()["user"]["role"] == "admin"
        assert "/api/v1/dev/outbox" not in requests.get(f"{instance.url}/api/v1/openapi.json", timeout=5).json()["paths"]
        assert requests.get(f"{instance.url}/api/v1/dev/outbox", timeout=5).status_code == 404
    finally:
        assert instance.stop() == 0


def test_bad_settings_are_named():
    result = dcdn("dev", "--api-port", "99999")
    assert result.returncode != 0
    assert "api_port" in result.stderr
    result = dcdn("coordinator", env={"DCDN_LOG_FORMAT": "xml"})
    assert "log_format" in result.stderr


def test_config_file_json_logs_and_flag_precedence():
    directory = tempfile.mkdtemp()
    config = os.path.join(directory, "dcdn.json")
    with open(config, "w") as file:
        json.dump({"log_format": "json", "host": "127.0.0.1", "rate_limit_login": "1/600"}, file)
    # The environment overrides the file's login limit; the flag's --data-dir overrides the environment's.
    instance = Instance("coordinator", ["--config", config, "--data-dir", directory], env={"DCDN_RATE_LIMIT_LOGIN": "2/600", "DCDN_DATA_DIR": "/nonexistent"})
    try:
        statuses = [
            requests.post(f"{instance.url}/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 12}, timeout=5).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429]
        assert os.path.exists(os.path.join(directory, "dcdn.sqlite"))
    finally:
        assert instance.stop() == 0
    records = [json.loads(line) for line in instance.lines if line.startswith("{")]
    assert records, instance.output
    assert any("listening on" in record["msg"] for record in records)
    assert all({"ts", "level", "msg"} <= record.keys() for record in records)


@pytest.mark.skipif(not os.environ.get("DCDN_TEST_DATABASE_URL"), reason="needs the test PostgreSQL")
def test_postgres_is_the_production_engine():
    admin_url = os.environ["DCDN_TEST_DATABASE_URL"]
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", admin_url, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    pending = re.findall(r"\b\d{3}_[a-z_]+", dcdn("db", "migrate", "--dry-run", "--database-url", url).stdout)
    migrated = dcdn("db", "migrate", "--database-url", url)
    assert pending and f"Applied {len(pending)} migration(s)" in migrated.stdout, migrated.stderr
    # Two replicas on one database: both start and serve the same accounts.
    first = Instance("coordinator", ["--host", "127.0.0.1", "--database-url", url], env={"DCDN_SECRET_KEY": "s" * 40})
    second = Instance("coordinator", ["--host", "127.0.0.1", "--database-url", url], env={"DCDN_SECRET_KEY": "s" * 40})
    try:
        assert requests.get(f"{first.url}/readyz", timeout=5).json()["database"] == "postgres"
        created = dcdn("admin", "create-user", "--email", "pg@example.com", "--password", "a long enough password", "--database-url", url, env={"DCDN_SECRET_KEY": "s" * 40})
        assert created.returncode == 0, created.stderr
        token = requests.post(f"{first.url}/api/v1/auth/login", json={"email": "pg@example.com", "password": "a long enough password"}, timeout=5).json()["access_token"]
        # A JWT from one replica is good on the other: they share the secret and the database.
        assert requests.get(f"{second.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    finally:
        assert first.stop() == 0
        assert second.stop() == 0
