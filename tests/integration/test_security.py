from __future__ import annotations

from lab_fixture import Lab

from pokupai_lib.kafka.access import (
    attempt_metadata,
    attempt_produce,
    attempt_tls_handshake,
    ban_words_round_trip,
    security_refusals,
)
from pokupai_lib.kafka.acls import current_acls, designed_acls, primary_grants
from pokupai_lib.kafka.clients import client_config, foreign_client_config
from pokupai_lib.runtime.certs import cert_files


def test_no_client_certificate_is_refused_at_the_handshake(lab: Lab) -> None:
    outcome = attempt_tls_handshake("anonymous", lab.cfg, 9093, None)
    assert not outcome.allowed
    assert outcome.error_code == "SSLV3_ALERT_BAD_CERTIFICATE"
    via_client = attempt_metadata("anonymous", client_config(lab.cfg, "primary", None))
    assert not via_client.allowed
    assert "alert bad certificate" in via_client.error


def test_certificate_from_an_untrusted_ca_is_refused_at_the_handshake(lab: Lab) -> None:
    outcome = attempt_tls_handshake("rogue", lab.cfg, 9095,
                                    cert_files(lab.cfg.paths.certs / "foreign", "admin"))
    assert not outcome.allowed
    assert outcome.error_code == "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
    via_client = attempt_metadata("rogue", foreign_client_config(lab.cfg, "primary"))
    assert not via_client.allowed


def test_a_lab_certificate_completes_the_handshake(lab: Lab) -> None:
    outcome = attempt_tls_handshake("intruder", lab.cfg, 9097,
                                    cert_files(lab.cfg.paths.certs, "intruder"))
    assert outcome.allowed, outcome


def test_intruder_is_authenticated_but_not_authorized(lab: Lab) -> None:
    outcome = attempt_produce("intruder", client_config(lab.cfg, "primary", "intruder"),
                              lab.cfg.topics.shop_raw, b"x")
    assert (outcome.allowed, outcome.error_code) == (False, "TOPIC_AUTHORIZATION_FAILED")


def test_a_principal_cannot_write_a_topic_it_only_reads(lab: Lab) -> None:
    outcome = attempt_produce("filter", client_config(lab.cfg, "primary", "filter"),
                              lab.cfg.topics.shop_raw, b"x")
    assert (outcome.allowed, outcome.error_code) == (False, "TOPIC_AUTHORIZATION_FAILED")


def test_the_three_refusals_of_the_notebook(lab: Lab) -> None:
    codes = [o.error_code for o in security_refusals(lab.cfg)]
    assert codes == ["SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
                     "TOPIC_AUTHORIZATION_FAILED"]


def test_authorized_round_trip(lab: Lab) -> None:
    trip = ban_words_round_trip(lab.cfg)
    assert trip.topic == "ban-words"
    assert trip.received == trip.sent
    assert trip.offset >= 0


def test_acls_are_exactly_the_designed_ones(lab: Lab) -> None:
    assert set(current_acls(lab.admin)) == set(
        designed_acls(primary_grants(lab.cfg)))
