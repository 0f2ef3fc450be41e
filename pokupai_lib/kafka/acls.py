"""The design's least-privilege ACLs for both clusters, reconciled idempotently.

Grants are literal or prefixed, never wildcard; ``intruder`` has none on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from pokupai_lib.config import ClusterName, LabConfig, Principal
from pokupai_lib.runtime.wait import wait_until

__all__ = ["AclGrant", "AclKey", "current_acls", "designed_acls", "ensure_acls",
           "grants_for", "primary_grants", "secondary_grants"]

AclKey = tuple[str, str, str, str, str, str]  # principal, resource type, name, pattern, op, host
_TIMEOUT_S = 30

R, W, D = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE
C, DC, AC = AclOperation.CREATE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS
TOPIC, GROUP, TXN = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED


@dataclass(frozen=True)
class AclGrant:
    """Operations a principal may perform on one resource pattern."""

    principal: Principal
    resource_type: ResourceType
    name: str
    operations: tuple[AclOperation, ...]
    pattern: ResourcePatternType = LITERAL

    def bindings(self) -> list[AclBinding]:
        return [AclBinding(self.resource_type, self.name, self.pattern,
                           f"User:CN={self.principal}", "*", op, AclPermissionType.ALLOW)
                for op in self.operations]


def primary_grants(cfg: LabConfig) -> list[AclGrant]:
    """Every grant the design gives on the primary cluster."""
    t = cfg.topics
    return [
        AclGrant("shop-publisher", TOPIC, t.shop_raw, (W, D)),
        AclGrant("banwords-api", TOPIC, t.ban_words, (R, W, D)),
        AclGrant("banwords-api", GROUP, "banwords-api", (R,), PREFIXED),
        AclGrant("banwords-api", TXN, cfg.ban_api.transactional_id, (W, D)),
        AclGrant("filter", TOPIC, t.shop_raw, (R, D)),
        AclGrant("filter", TOPIC, t.ban_words, (R, D)),
        AclGrant("filter", TOPIC, t.shop_clear, (W, D)),
        AclGrant("filter", TOPIC, t.shop_dlq, (W, D)),
        AclGrant("filter", TOPIC, t.shop_moderation, (R, W, D)),
        AclGrant("filter", GROUP, "filter", (R,), PREFIXED),
        AclGrant("filter", TXN, "filter", (W, D), PREFIXED),
        AclGrant("client-api", TOPIC, t.client_searches, (W, D)),
        *(AclGrant("mirror", TOPIC, name, (R, D, DC)) for name in cfg.mirrored_topics),
        # MirrorMaker 2 keeps its offset syncs beside the source (offset-syncs.topic.location).
        AclGrant("mirror", TOPIC, "mm2-offset-syncs.", (C, R, W, D, DC), PREFIXED),
    ]


def secondary_grants(cfg: LabConfig) -> list[AclGrant]:
    """Every grant the design gives on the secondary cluster."""
    mirror, connect = cfg.mirror, cfg.connect
    return [
        # Mirrored topics (<source>.<topic>) and the checkpoints topic share the source prefix;
        # topic configs are synced, hence ALTER_CONFIGS.
        AclGrant("mirror", TOPIC, f"{mirror.source}.", (C, R, W, D, DC, AC), PREFIXED),
        AclGrant("mirror", TOPIC, "mm2-", (C, R, W, D, DC), PREFIXED),
        AclGrant("mirror", TOPIC, "heartbeats", (C, R, W, D, DC)),
        AclGrant("mirror", GROUP, mirror.worker_group, (R, D)),
        # Exactly-once source support: the leader writes the config topic in transactions, and
        # each task (source, checkpoints, heartbeats) copies records and commits its source
        # offsets in one transaction under its own id.
        AclGrant("mirror", TXN, mirror.worker_transactional_id, (W, D)),
        AclGrant("mirror", TXN, mirror.task_transactional_prefix, (W, D), PREFIXED),
        AclGrant("connect", TOPIC, mirror.remote_topic(cfg.topics.shop_clear), (R, D)),
        AclGrant("connect", TOPIC, connect.prefix, (C, R, W, D, DC), PREFIXED),
        # DELETE lets Connect's offsets API reset a sink to re-index from the start.
        AclGrant("connect", GROUP, connect.prefix, (R, D, AclOperation.DELETE), PREFIXED),
        AclGrant("client-api", TOPIC, cfg.recommender.searches_with_products, (R, D)),
        *recommender_grants(cfg),
    ]


def recommender_grants(cfg: LabConfig) -> list[AclGrant]:
    """Quix Streams reads every topic's configs, creates its changelog and repartition topics
    under the group's prefixes, and commits in transactions under a fixed id."""
    rec, remote = cfg.recommender, cfg.mirror.remote_topic
    return [
        *(AclGrant("recommender", TOPIC, remote(name), (R, D, DC))
          for name in (cfg.topics.shop_clear, cfg.topics.client_searches)),
        *(AclGrant("recommender", TOPIC, name, (W, D, DC))
          for name in (rec.products_by_category, rec.searches_with_products, rec.dead_letters)),
        *(AclGrant("recommender", TOPIC, prefix, (C, R, W, D, DC), PREFIXED)
          for prefix in rec.internal_prefixes),
        AclGrant("recommender", GROUP, rec.consumer_group, (R, D)),
        AclGrant("recommender", TXN, rec.transactional_id, (W, D)),
    ]


def grants_for(cfg: LabConfig, cluster: ClusterName) -> list[AclGrant]:
    """The designed grants of one cluster."""
    return primary_grants(cfg) if cluster == "primary" else secondary_grants(cfg)


def _enum_name(value: object) -> str:
    return str(getattr(value, "name", value))


def _key(binding: AclBinding) -> AclKey:
    return (binding.principal, _enum_name(binding.restype), binding.name,
            _enum_name(binding.resource_pattern_type), _enum_name(binding.operation),
            binding.host)


def designed_acls(grants: list[AclGrant]) -> dict[AclKey, AclBinding]:
    """The bindings the grants expand to, keyed for comparison."""
    return {_key(b): b for grant in grants for b in grant.bindings()}


def current_acls(admin: AdminClient) -> dict[AclKey, AclBinding]:
    """Every ACL binding the cluster holds now."""
    # None matches any name, principal and host.
    any_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    found = admin.describe_acls(any_filter, request_timeout=_TIMEOUT_S).result()
    return {_key(b): b for b in found}


def ensure_acls(admin: AdminClient, grants: list[AclGrant]) -> tuple[list[AclKey], list[AclKey]]:
    """Make the cluster's ACLs exactly the designed ones; return (added, removed) keys."""
    wanted, present = designed_acls(grants), current_acls(admin)
    to_add = [b for k, b in wanted.items() if k not in present]
    to_remove = [b for k, b in present.items() if k not in wanted]
    if to_add:
        for future in admin.create_acls(to_add, request_timeout=_TIMEOUT_S).values():
            future.result()
    if to_remove:
        filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal,
                                    b.host, b.operation, b.permission_type) for b in to_remove]
        for future in admin.delete_acls(filters, request_timeout=_TIMEOUT_S).values():
            future.result()
    _wait_until_visible(admin, set(wanted))
    return [_key(b) for b in to_add], [_key(b) for b in to_remove]


def _wait_until_visible(admin: AdminClient, wanted: set[AclKey]) -> None:
    """Brokers learn new ACLs from the metadata log a moment after the controller commits."""

    def difference() -> dict[str, list[AclKey]]:
        present = set(current_acls(admin))
        return {"missing": sorted(wanted - present), "extra": sorted(present - wanted)}

    wait_until(difference, until=lambda diff: not any(diff.values()), timeout_s=_TIMEOUT_S,
               every_s=0.3, what="the brokers to show exactly the designed ACLs")
