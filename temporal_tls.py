"""The Temporal client's TLS: the settings' files read, checked and handed to the SDK.

The files are checked here, before any connection, because the SDK's own error for a wrong
file is a handshake failure that names neither the file nor the variable. Messages name the
variable and the path, never a byte of the files' content.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from temporalio.service import TLSConfig

from settings import ENV_NAMES, Settings


class TLSFileError(ValueError):
    """A TLS file named in the settings cannot be used; the message says which and why."""


def _read(field: str, path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TLSFileError(
            f"{ENV_NAMES[field]}={str(path)!r}: cannot read it ({exc.strerror}); point it at {what}"
        ) from None


def _certificates(field: str, path: Path, what: str) -> tuple[bytes, list[x509.Certificate]]:
    data = _read(field, path, what)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise TLSFileError(
            f"{ENV_NAMES[field]}={str(path)!r}: holds no PEM certificate; point it at {what}"
        )
    return data, certificates


def tls_config(settings: Settings) -> TLSConfig | bool:
    """False without TLS settings; otherwise the SDK's TLS configuration (system roots when
    no CA file is given, a client certificate when one is)."""
    if not settings.temporal_tls:
        return False
    ca: bytes | None = None
    if settings.temporal_tls_ca_file is not None:
        ca, _ = _certificates(
            "temporal_tls_ca_file",
            settings.temporal_tls_ca_file,
            "the CA certificate(s) that signed the Temporal frontend's certificate (PEM)",
        )
    cert: bytes | None = None
    key: bytes | None = None
    if settings.temporal_tls_cert_file is not None and settings.temporal_tls_key_file is not None:
        cert, chain = _certificates(
            "temporal_tls_cert_file",
            settings.temporal_tls_cert_file,
            "this client's certificate (PEM)",
        )
        key = _private_key(settings.temporal_tls_key_file, chain[0])
    return TLSConfig(
        server_root_ca_cert=ca,
        domain=settings.temporal_tls_server_name,
        client_cert=cert,
        client_private_key=key,
    )


def _private_key(path: Path, certificate: x509.Certificate) -> bytes:
    name = ENV_NAMES["temporal_tls_key_file"]
    what = "the unencrypted PEM private key of TEMPORAL_TLS_CERT_FILE's certificate"
    data = _read("temporal_tls_key_file", path, what)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # TypeError: the key is encrypted. The library's message is not passed on: it is
        # about the content, which stays out of messages.
        raise TLSFileError(
            f"{name}={str(path)!r}: not an unencrypted PEM private key; point it at {what}"
        ) from None
    if key.public_key() != certificate.public_key():
        raise TLSFileError(
            f"{name}={str(path)!r}: this key does not belong to the certificate in "
            f"TEMPORAL_TLS_CERT_FILE; point it at {what}"
        )
    return data
