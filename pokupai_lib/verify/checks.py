"""``pokupai verify``: every stage compared with ``shop-clear`` record by record, once or until
consistent; the oracle of the fault tests, shown by notebooks 07–09."""

from __future__ import annotations

from dataclasses import dataclass

import elastic_transport
import pandas as pd
from confluent_kafka import KafkaException

from pokupai_lib.config import LabConfig
from pokupai_lib.errors import LabTimeoutError, SearchIndexError
from pokupai_lib.mirroring.mirror_maker import MIRROR_SERVICE
from pokupai_lib.runtime.services import FILTER, RECOMMENDER
from pokupai_lib.runtime.wait import wait_until
from pokupai_lib.search.connect import CONNECT_SERVICE
from pokupai_lib.verify.compare import (
    StageDiff,
    compare_counts,
    compare_stage,
    dead_lettered_keys,
    expected_counts,
    latest_positions,
    latest_versions,
)
from pokupai_lib.verify.views import (
    category_counts,
    index_versions,
    sink_dead_letter_positions,
    topic_records,
)

__all__ = ["VerifyReport", "stage_report", "verify"]

_COLUMNS = ["stage", "records", "missing", "extra", "stale", "dead-lettered", "examples"]


@dataclass(frozen=True)
class VerifyReport:
    """The reference (``shop-clear``) and each downstream stage compared with it."""

    stages: tuple[StageDiff, ...]

    @property
    def ok(self) -> bool:
        """Every stage holds exactly the reference: nothing missing, extra or stale."""
        return all(stage.ok for stage in self.stages)

    def stage(self, name: str) -> StageDiff:
        """The comparison of the stage called ``name``; KeyError if there is none."""
        for stage in self.stages:
            if stage.stage == name:
                return stage
        raise KeyError(f"no stage {name!r}; stages: {', '.join(s.stage for s in self.stages)}")

    def frame(self) -> pd.DataFrame:
        """One row per stage: records, counts of missing, extra, stale and dead-lettered
        keys, and a few example keys."""
        return pd.DataFrame([[s.stage, s.records, len(s.missing), len(s.extra), len(s.stale),
                              len(s.dead_lettered), s.examples()] for s in self.stages],
                            columns=_COLUMNS)

    def summary(self) -> str:
        """The table as text, and a last line saying whether the stages agree."""
        verdict = ("all stages consistent" if self.ok else
                   "NOT consistent: " + ", ".join(s.stage for s in self.stages if not s.ok))
        return f"{self.frame().to_string(index=False)}\n{verdict}"


def stage_report(cfg: LabConfig) -> VerifyReport:
    """Read every stage once and compare it with ``shop-clear``.

    Stages: ``shop-clear`` itself (the reference), its mirror on the secondary, the
    ``products`` index (keys whose latest mirrored record the sink dead-lettered are listed
    apart, not as missing) and the category counts of ``products_by_category``.

    Raises:
        SearchIndexError: Elasticsearch does not answer; KafkaException or LabTimeoutError
            when a cluster does not.
    """
    reference_records = topic_records(cfg, cfg.topics.shop_clear)
    reference = latest_versions(reference_records)
    mirror_topic = cfg.mirror.remote_topic(cfg.topics.shop_clear)
    mirror_records = topic_records(cfg, mirror_topic, cfg.mirror.target)
    sink_letters = dead_lettered_keys(latest_positions(mirror_records),
                                      sink_dead_letter_positions(cfg))
    return VerifyReport((
        StageDiff(cfg.topics.shop_clear, len(reference)),
        compare_stage(mirror_topic, reference, latest_versions(mirror_records)),
        compare_stage(f"index {cfg.elastic.index}", reference, index_versions(cfg),
                      sink_letters),
        compare_counts(cfg.recommender.products_by_category, expected_counts(reference_records),
                       category_counts(cfg)),
    ))


def _not_yet(exc: Exception) -> bool:
    """A stage that cannot be read right now (restarting after a fault) is waited through."""
    return isinstance(exc, KafkaException | LabTimeoutError | SearchIndexError
                      | elastic_transport.TransportError)


def verify(cfg: LabConfig, wait_s: float = 0.0, every_s: float = 1.0) -> VerifyReport:
    """Compare the stages (:func:`stage_report`); with ``wait_s``, again every ``every_s``
    until they agree or ``wait_s`` has passed, and return the last report (check ``ok``).

    While waiting, a stage that cannot be read (a cluster or Elasticsearch restarting) is
    waited through; if no look at all succeeded, the wait's LabTimeoutError (naming the last
    error and the stages' logs) is raised.
    """
    if wait_s <= 0:
        return stage_report(cfg)
    last: list[VerifyReport] = []

    def look() -> VerifyReport:
        report = stage_report(cfg)
        last[:] = [report]
        return report

    try:
        return wait_until(look, until=lambda report: report.ok, timeout_s=wait_s,
                          every_s=every_s, what="every stage to hold exactly shop-clear",
                          ignore=_not_yet,
                          log=[cfg.paths.log(name) for name in (FILTER, MIRROR_SERVICE,
                                                                CONNECT_SERVICE, RECOMMENDER)])
    except LabTimeoutError:
        if last:
            return last[0]
        raise
