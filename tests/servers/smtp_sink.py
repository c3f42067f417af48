"""A local SMTP server (aiosmtpd) that keeps what it receives; plain, STARTTLS or SSL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USERNAME = "alerts@example.com"
PASSWORD = "smtp-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert file, key file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.fail_next:
            self.sink.fail_next -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


class SmtpSink:
    def __init__(self, security: str = "plain", cert: tuple[Path, Path] | None = None):
        self.security = security
        self.cert = cert
        self.port = free_port()
        self.messages: list = []
        self.fail_next = 0
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        kwargs: dict = {}
        if self.security != "plain":
            assert self.cert is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.cert))
            if self.security == "ssl":
                # aiosmtpd does not count implicit TLS as TLS for AUTH; the socket is TLS.
                kwargs.update(ssl_context=context, auth_require_tls=False)
            else:
                kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True)
            kwargs["authenticator"] = _authenticate
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
