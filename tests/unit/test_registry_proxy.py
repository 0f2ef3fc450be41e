"""nginx's configuration for the registry: Confluent's root paths go to Apicurio's ccompat API,
everything else passes through; and the MVP's request body is the schema the lab registers."""

from __future__ import annotations

import json
import re

from pokupai_lib.config import load_config
from pokupai_lib.schema.product import schema_text
from pokupai_lib.schema.registry_proxy import CONFLUENT_ROOT_PATHS, proxy_config


def _location_regex(config: str) -> re.Pattern[str]:
    match = re.search(r"location ~ (\S+) \{", config)
    assert match, config
    return re.compile(match[1])


def test_the_proxy_listens_on_the_public_port_and_forwards_to_the_backend() -> None:
    cfg = load_config()
    config = proxy_config(cfg, as_root=False)
    assert f"listen {cfg.registry.host}:{cfg.registry.port};" in config
    assert f"server {cfg.registry.host}:{cfg.registry.backend_port};" in config
    assert cfg.registry.port != cfg.registry.backend_port
    assert f"proxy_pass http://apicurio{cfg.registry.ccompat_path}$request_uri;" in config


def test_confluent_paths_are_rewritten_and_others_are_not() -> None:
    pattern = _location_regex(proxy_config(load_config(), as_root=False))
    for path in CONFLUENT_ROOT_PATHS:
        assert pattern.match(f"/{path}"), path
        assert pattern.match(f"/{path}/shop-raw-value/versions/latest"), path
    for other in ("/apis/ccompat/v7/subjects", "/apis/registry/v3/groups", "/health/ready",
                  "/subjectsx", "/"):
        assert not pattern.match(other), other


def test_as_root_the_worker_drops_privileges() -> None:
    assert "user nobody nogroup;" in proxy_config(load_config(), as_root=True)
    assert "user " not in proxy_config(load_config(), as_root=False)


def test_the_mvp_request_body_holds_exactly_the_schema_the_lab_registers() -> None:
    cfg = load_config()
    body = json.loads((cfg.paths.infra / "schemas" / "product-schema.json").read_text("utf-8"))
    assert body == {"schema": schema_text()}
