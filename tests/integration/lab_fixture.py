"""The running lab as an integration test sees it: its config, supervisor and clients."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pokupai_lib.config import ClusterName, LabConfig, Principal
from pokupai_lib.kafka.clients import admin_client, client_config
from pokupai_lib.runtime.supervisor import Supervisor, lab_supervisor


@dataclass(frozen=True)
class Lab:
    """The lab's config, the supervisor of its services, an admin client of the primary, and
    factories of clients and of throw-away topics."""

    cfg: LabConfig
    supervisor: Supervisor
    admin: AdminClient
    _fresh_topics: list[str] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def of(cls, cfg: LabConfig) -> Lab:
        """The lab of ``cfg`` (its services are not touched)."""
        return cls(cfg, lab_supervisor(cfg), admin_client(cfg))

    def admin_for(self, cluster: ClusterName) -> AdminClient:
        """An AdminClient of ``cluster``, authenticated as ``admin``."""
        return self.admin if cluster == "primary" else admin_client(self.cfg, cluster)

    def producer(self, principal: Principal = "admin", **overrides: Any) -> Producer:
        """A producer of the primary authenticated as ``principal``; ``overrides`` are
        librdkafka settings (pass dotted names as ``**{"enable.idempotence": True}``)."""
        return Producer(client_config(self.cfg, "primary", principal, **overrides))

    def consumer(self, principal: Principal = "admin", **overrides: Any) -> Consumer:
        """A consumer of the primary authenticated as ``principal``; it needs a ``group.id``
        override, and the caller closes it."""
        return Consumer(client_config(self.cfg, "primary", principal, **overrides))

    def fresh_topic(self, partitions: int = 1) -> str:
        """Create a uniquely named RF 3, min ISR 2 topic on the primary and return its name;
        it is deleted after the test (see ``delete_fresh_topics``)."""
        name = f"it-{uuid.uuid4().hex[:10]}"
        layout = self.cfg.topics.layout
        self.admin.create_topics([NewTopic(name, partitions, layout.replication_factor, config={
            "min.insync.replicas": str(layout.min_insync_replicas)})])[name].result()
        self._fresh_topics.append(name)
        return name

    def delete_fresh_topics(self) -> None:
        """Delete every topic ``fresh_topic`` made so far."""
        made, self._fresh_topics[:] = list(self._fresh_topics), []
        if made:
            for future in self.admin.delete_topics(made).values():
                future.result()
