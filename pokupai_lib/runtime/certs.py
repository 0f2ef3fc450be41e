"""The lab CA and one certificate per broker and principal, as PEM and PKCS12.

Layout under ``certs/`` (git-ignored except its README):
``ca.crt``/``ca.key``; per name ``<name>.crt``, ``<name>.key`` (PEM, for Python clients) and
``<name>.p12`` (PKCS12 keystore, for the JVM); ``truststore.p12`` (the CA as a Java trusted
entry); ``store-password``; and ``foreign/`` with a CA the cluster does not trust and an
``admin`` certificate it signed, for the refusal demo. Keys and stores are mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import CertificateError

__all__ = ["CertFiles", "CertReport", "cert_files", "ensure_certificates",
           "store_password"]

CA_NAME = "ca"
FOREIGN_DIR = "foreign"
CA_VALIDITY_DAYS = 3650


@dataclass(frozen=True)
class CertFiles:
    """Where one name's certificate, key and keystore live."""

    cert: Path
    key: Path
    keystore: Path


@dataclass
class CertReport:
    """What :func:`ensure_certificates` made anew and what it kept."""

    created: list[str]
    kept: list[str]


def cert_files(certs_dir: Path, name: str) -> CertFiles:
    """The files of certificate ``name`` under ``certs_dir``."""
    return CertFiles(certs_dir / f"{name}.crt", certs_dir / f"{name}.key",
                     certs_dir / f"{name}.p12")


def store_password(certs_dir: Path) -> str:
    """The password of every PKCS12 store, created once at random."""
    path = certs_dir / "store-password"
    if not path.exists():
        certs_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(18).encode())
    return path.read_text().strip()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _needs_renewal(cert: x509.Certificate, renew_within_days: int) -> bool:
    return cert.not_valid_after_utc - _now() < dt.timedelta(days=renew_within_days)


def _load(files: CertFiles) -> x509.Certificate | None:
    if not (files.cert.exists() and files.key.exists() and files.keystore.exists()):
        return None
    try:
        return x509.load_pem_x509_certificate(files.cert.read_bytes())
    except ValueError as exc:
        raise CertificateError(f"{files.cert} is not a PEM certificate ({exc}); "
                               "delete certs/ or run `make clean`") from exc


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _builder(subject_cn: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
             days: int) -> x509.CertificateBuilder:
    now = _now()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)))


def _write_pair(files: CertFiles, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                chain: list[x509.Certificate], password: str) -> None:
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    _write_private(files.keystore, pkcs12.serialize_key_and_certificates(
        files.keystore.stem.encode(), key, cert, chain,
        serialization.BestAvailableEncryption(password.encode())))


def _make_ca(files: CertFiles, common_name: str, password: str) -> tuple[
        x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (_builder(common_name, name, key, CA_VALIDITY_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    _write_pair(files, cert, key, [], password)
    return cert, key


def _make_leaf(files: CertFiles, common_name: str, ca: x509.Certificate,
               ca_key: ec.EllipticCurvePrivateKey, days: int, password: str) -> None:
    """A certificate usable as TLS client and server, valid for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(common_name, ca.subject, key, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_pair(files, cert, key, [ca], password)


def _label(files: CertFiles, cfg: LabConfig) -> str:
    return str(files.cert.relative_to(cfg.paths.certs).with_suffix(""))


def _ensure_ca(directory: Path, common_name: str, cfg: LabConfig, password: str,
               report: CertReport) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, bool]:
    files = cert_files(directory, CA_NAME)
    cert = _load(files)
    if cert is not None and not _needs_renewal(cert, cfg.cert_renew_within_days):
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{files.key} is not an EC key; delete certs/ and retry")
        report.kept.append(_label(files, cfg))
        return cert, key, False
    cert, key = _make_ca(files, common_name, password)
    report.created.append(_label(files, cfg))
    return cert, key, True


def _ensure_leaves(directory: Path, names: list[str], ca: x509.Certificate,
                   ca_key: ec.EllipticCurvePrivateKey, force: bool, cfg: LabConfig,
                   password: str, report: CertReport) -> None:
    for name in names:
        files = cert_files(directory, name)
        cert = None if force else _load(files)
        if (cert is not None and _issued_by(cert, ca)
                and not _needs_renewal(cert, cfg.cert_renew_within_days)):
            report.kept.append(_label(files, cfg))
            continue
        _make_leaf(files, name, ca, ca_key, cfg.cert_validity_days, password)
        report.created.append(_label(files, cfg))


def _ensure_truststore(certs_dir: Path, ca: x509.Certificate, password: str) -> None:
    path = certs_dir / "truststore.p12"
    _write_private(path, pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(ca, b"pokupai-lab-ca")],
        serialization.BestAvailableEncryption(password.encode())))


def ensure_certificates(cfg: LabConfig) -> CertReport:
    """Create whatever certificate is missing, foreign to the CA or expiring within the window.

    A new CA re-issues every certificate. Running brokers keep the old ones until restarted.
    """
    certs_dir = cfg.paths.certs
    foreign_dir = certs_dir / FOREIGN_DIR
    foreign_dir.mkdir(parents=True, exist_ok=True)
    password = store_password(certs_dir)
    report = CertReport(created=[], kept=[])
    ca, ca_key, ca_new = _ensure_ca(certs_dir, "Pokupai Lab CA", cfg, password, report)
    names = [*cfg.broker_names, *cfg.principals]
    _ensure_leaves(certs_dir, names, ca, ca_key, ca_new, cfg, password, report)
    if ca_new or not (certs_dir / "truststore.p12").exists():
        _ensure_truststore(certs_dir, ca, password)
    rogue, rogue_key, rogue_new = _ensure_ca(foreign_dir, "Untrusted Rogue CA", cfg,
                                             password, report)
    _ensure_leaves(foreign_dir, ["admin"], rogue, rogue_key, rogue_new, cfg, password, report)
    return report
