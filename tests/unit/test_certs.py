from __future__ import annotations

import datetime as dt
import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from pokupai_lib.config import LabConfig
from pokupai_lib.runtime import certs
from pokupai_lib.runtime.certs import cert_files, ensure_certificates, store_password


@pytest.fixture
def certified(tmp_cfg: LabConfig) -> LabConfig:
    """``tmp_cfg`` with the lab CA and every certificate made."""
    ensure_certificates(tmp_cfg)
    return tmp_cfg


def _cert(cfg: LabConfig, name: str, sub: str = "") -> x509.Certificate:
    path = cert_files(cfg.paths.certs / sub if sub else cfg.paths.certs, name).cert
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_one_certificate_per_broker_and_principal(certified: LabConfig) -> None:
    for name in (*certified.broker_names, *certified.principals):
        cert = _cert(certified, name)
        assert cert.subject.rfc4514_string() == f"CN={name}"
        cert.verify_directly_issued_by(_cert(certified, "ca"))


def test_broker_certificate_is_a_tls_server_and_client_for_localhost(certified: LabConfig) -> None:
    cert = _cert(certified, "kafka-1")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(eku)


def test_private_keys_and_stores_are_owner_only(certified: LabConfig) -> None:
    secret_files = [*certified.paths.certs.glob("*.key"), *certified.paths.certs.glob("*.p12"),
                    certified.paths.certs / "store-password"]
    assert len(secret_files) > 20
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_keystore_holds_key_and_chain_and_truststore_the_ca(certified: LabConfig) -> None:
    password = store_password(certified.paths.certs).encode()
    store = pkcs12.load_pkcs12(cert_files(certified.paths.certs, "admin").keystore.read_bytes(),
                               password)
    assert store.key is not None and store.cert is not None
    assert store.cert.certificate.subject.rfc4514_string() == "CN=admin"
    assert [c.certificate for c in store.additional_certs] == [_cert(certified, "ca")]
    trust = pkcs12.load_pkcs12((certified.paths.certs / "truststore.p12").read_bytes(), password)
    assert trust.key is None
    assert [c.certificate for c in trust.additional_certs] == [_cert(certified, "ca")]


def test_foreign_admin_is_not_signed_by_the_lab_ca(certified: LabConfig) -> None:
    foreign = _cert(certified, "admin", "foreign")
    assert foreign.subject.rfc4514_string() == "CN=admin"
    with pytest.raises(ValueError):
        foreign.verify_directly_issued_by(_cert(certified, "ca"))


def test_second_run_keeps_everything(certified: LabConfig) -> None:
    before = _cert(certified, "filter").serial_number
    report = ensure_certificates(certified)
    assert report.created == []
    assert _cert(certified, "filter").serial_number == before


def test_missing_certificate_is_recreated_alone(certified: LabConfig) -> None:
    cert_files(certified.paths.certs, "mirror").cert.unlink()
    report = ensure_certificates(certified)
    assert report.created == ["mirror"]


def test_certificate_expiring_within_30_days_is_renewed(certified: LabConfig) -> None:
    ca = _cert(certified, "ca")
    files = cert_files(certified.paths.certs, "filter")
    short = certified.model_copy(update={"cert_validity_days": 10})
    certs._make_leaf(files, "filter", ca, certs.serialization.load_pem_private_key(
        (certified.paths.certs / "ca.key").read_bytes(), None), 10,  # type: ignore[arg-type]
        store_password(certified.paths.certs))
    assert _cert(certified, "filter").not_valid_after_utc < (
        dt.datetime.now(dt.UTC) + dt.timedelta(days=short.cert_renew_within_days))
    assert ensure_certificates(certified).created == ["filter"]
    assert _cert(certified, "filter").not_valid_after_utc > (
        dt.datetime.now(dt.UTC) + dt.timedelta(days=300))


def test_a_new_ca_reissues_every_certificate(certified: LabConfig) -> None:
    (certified.paths.certs / "ca.crt").unlink()
    report = ensure_certificates(certified)
    assert {"ca", "kafka-1", "admin", "intruder"} <= set(report.created)
    _cert(certified, "admin").verify_directly_issued_by(_cert(certified, "ca"))
