"""Production mail: `dcdn coordinator` hands verification mail to a real SMTP relay (aiosmtpd),
with AUTH PLAIN, and with STARTTLS against a relay whose CA the operator configured."""

import datetime
import email
import re
import ssl
import tempfile
import time
import uuid

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Instance


class Relay(Controller):
    """aiosmtpd's Controller on a port the server binds itself (port 0): the port it got is read
    back before the Controller's own readiness check connects to it."""

    def __init__(self, handler, **kwargs):
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def wait_for(self, address, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for envelope in self.envelopes:
                if address in envelope.rcpt_tos:
                    return envelope
            time.sleep(0.1)
        raise AssertionError(f"no mail for {address}")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = mechanism == "PLAIN" and auth_data.login == b"relay-user" and auth_data.password == b"relay-pass"
    return AuthResult(success=ok)


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{directory}/relay.pem", f"{directory}/relay.key"
    with open(cert_path, "wb") as file:
        file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as file:
        file.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def register_and_verify(instance, inbox, sender):
    address = f"relay-{uuid.uuid4().hex[:8]}@example.com"
    response = requests.post(f"{instance.url}/api/v1/auth/register", json={"email": address, "password": "a long enough password"}, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["verification_sent"] is True
    envelope = inbox.wait_for(address)
    assert envelope.mail_from == sender
    message = email.message_from_bytes(envelope.original_content)
    assert message["Subject"] == "Verify your DCDN email address"
    body = message.get_payload(decode=True).decode()
    link = re.search(r"(http://\S+/dashboard/verify-email\?token=\S+)", body).group(1)
    assert link.startswith(instance.url)
    verified = requests.get(link, timeout=10)
    assert f"{address}</strong> is verified" in verified.text


def test_plain_relay_with_auth():
    inbox = Inbox()
    controller = Relay(inbox, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller.start()
    port = controller.port
    try:
        instance = Instance(
            "coordinator",
            ["--host", "127.0.0.1"],
            env={
                "DCDN_SMTP_RELAY_HOST": "127.0.0.1", "DCDN_SMTP_RELAY_PORT": str(port), "DCDN_SMTP_RELAY_TLS": "off",
                "DCDN_SMTP_RELAY_USERNAME": "relay-user", "DCDN_SMTP_RELAY_PASSWORD": "relay-pass",
                "DCDN_MAIL_FROM": "DCDN <noreply@dcdn.example>",
            },
        )
        try:
            register_and_verify(instance, inbox, "noreply@dcdn.example")
        finally:
            assert instance.stop() == 0
    finally:
        controller.stop()


def test_starttls_relay_with_operator_ca():
    directory = tempfile.mkdtemp()
    cert_path, key_path = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox = Inbox()
    controller = Relay(inbox, tls_context=context, require_starttls=True)
    controller.start()
    port = controller.port
    try:
        env = {"DCDN_SMTP_RELAY_HOST": "localhost", "DCDN_SMTP_RELAY_PORT": str(port), "DCDN_SMTP_RELAY_TLS": "starttls", "DCDN_MAIL_FROM": "ops@dcdn.example"}
        trusted = Instance("coordinator", ["--host", "127.0.0.1"], env={**env, "DCDN_SMTP_RELAY_CA_FILE": cert_path})
        try:
            register_and_verify(trusted, inbox, "ops@dcdn.example")
        finally:
            assert trusted.stop() == 0
        # Without the CA the relay's certificate is not trusted: no mail goes out in the clear.
        untrusted = Instance("coordinator", ["--host", "127.0.0.1"], env=env)
        try:
            response = requests.post(f"{untrusted.url}/api/v1/auth/register", json={"email": "x@example.com", "password": "a long enough password"}, timeout=30)
            assert response.status_code == 201
            assert response.json()["verification_sent"] is False
        finally:
            untrusted.stop()
    finally:
        controller.stop()
