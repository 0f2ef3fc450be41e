"""``pokupai verify``: every stage compared with ``shop-clear`` record by record, once or until
consistent; the oracle of the fault tests, shown by notebooks 07–09."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, get_args

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

__all__ = ["ALL_STAGES", "Stage", "VerifyReport", "stage_report", "verify"]

Stage = Literal["mirror", "index", "categories"]
ALL_STAGES: tuple[Stage, ...] = get_args(Stage)

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


def stage_report(cfg: LabConfig, stages: Collection[Stage] = ALL_STAGES) -> VerifyReport:
    """Read the ``stages`` once and compare each with ``shop-clear``.

    Stages: ``shop-clear`` itself (the reference, always), ``mirror`` (its copy on the
    secondary), ``index`` (the ``products`` index; keys whose latest mirrored record the sink
    dead-lettered are listed apart, not as missing) and ``categories`` (the category counts
    of ``products_by_category``). A notebook that runs before Elasticsearch or the
    recommender exists asks only for the stages it has.

    Raises:
        ValueError: a stage name that is none of these.
        SearchIndexError: Elasticsearch does not answer; KafkaException or LabTimeoutError
            when a cluster does not.
    """
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        raise ValueError(f"no stage {', '.join(sorted(unknown))}; "
                         f"stages: {', '.join(ALL_STAGES)}")
    reference_records = topic_records(cfg, cfg.topics.shop_clear)
    reference = latest_versions(reference_records)
    diffs = [StageDiff(cfg.topics.shop_clear, len(reference))]
    mirror_topic = cfg.mirror.remote_topic(cfg.topics.shop_clear)
    if "mirror" in stages or "index" in stages:
        mirror_records = topic_records(cfg, mirror_topic, cfg.mirror.target)
    if "mirror" in stages:
        diffs.append(compare_stage(mirror_topic, reference, latest_versions(mirror_records)))
    if "index" in stages:
        sink_letters = dead_lettered_keys(latest_positions(mirror_records),
                                          sink_dead_letter_positions(cfg))
        diffs.append(compare_stage(f"index {cfg.elastic.index}", reference,
                                   index_versions(cfg), sink_letters))
    if "categories" in stages:
        diffs.append(compare_counts(cfg.recommender.products_by_category,
                                    expected_counts(reference_records), category_counts(cfg)))
    return VerifyReport(tuple(diffs))


def _not_yet(exc: Exception) -> bool:
    """A stage that cannot be read right now (restarting after a fault) is waited through."""
    return isinstance(exc, KafkaException | LabTimeoutError | SearchIndexError
                      | elastic_transport.TransportError)


def verify(cfg: LabConfig, wait_s: float = 0.0, every_s: float = 1.0,
           stages: Collection[Stage] = ALL_STAGES) -> VerifyReport:
    """Compare the ``stages`` (:func:`stage_report`); with ``wait_s``, again every ``every_s``
    until they agree or ``wait_s`` has passed, and return the last report (check ``ok``).

    While waiting, a stage that cannot be read (a cluster or Elasticsearch restarting) is
    waited through; if no look at all succeeded, the wait's LabTimeoutError (naming the last
    error and the stages' logs) is raised.
    """
    if wait_s <= 0:
        return stage_report(cfg, stages)
    last: list[VerifyReport] = []

    def look() -> VerifyReport:
        report = stage_report(cfg, stages)
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
