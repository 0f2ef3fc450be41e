"""nginx in front of the schema registry, so Confluent's paths work as every tutorial types them.

Apicurio serves the Confluent-compatible API only under ``/apis/ccompat/v7`` and has no
setting to serve it at the root. nginx (Debian's package) listens on the registry's public
port, maps ``/subjects``, ``/schemas``, ``/config``, ``/compatibility``, ``/mode`` and
``/contexts`` to ``/apis/ccompat/v7/...`` unchanged otherwise, and passes every other path
(``/apis/...``, ``/health/...``) straight through to Apicurio on its backend port.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pokupai_lib.config import LabConfig
from pokupai_lib.runtime.debian import ensure_debian_programs
from pokupai_lib.runtime.supervisor import ON_FAILURE, ServiceSpec, Supervisor, http_probe

__all__ = ["CONFLUENT_ROOT_PATHS", "REGISTRY_PROXY_SERVICE", "ensure_registry_proxy",
           "proxy_config", "registry_proxy_spec", "start_registry_proxy"]

REGISTRY_PROXY_SERVICE = "registry-proxy"
CONFLUENT_ROOT_PATHS = ("subjects", "schemas", "config", "compatibility", "mode", "contexts")
_PROGRAMS = {"nginx": "nginx"}


def ensure_registry_proxy() -> None:
    """nginx on PATH, installed from Debian's package when missing (as root)."""
    ensure_debian_programs(_PROGRAMS, "the schema registry's proxy")


def _home(cfg: LabConfig) -> Path:
    return cfg.paths.state / REGISTRY_PROXY_SERVICE


def proxy_config(cfg: LabConfig, as_root: bool) -> str:
    """nginx's configuration: one server on the registry's port, logging errors to stderr
    (the service log). As root, the worker drops to ``nobody``."""
    reg, home = cfg.registry, _home(cfg)
    temp = "\n".join(f"    {kind}_temp_path {home / 'tmp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""daemon off;
worker_processes 1;
{"user nobody nogroup;" if as_root else ""}
pid {home / 'nginx.pid'};
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temp}
    client_max_body_size 16m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    upstream apicurio {{ server {reg.host}:{reg.backend_port}; keepalive 16; }}
    server {{
        listen {reg.host}:{reg.port};
        location ~ ^/({'|'.join(CONFLUENT_ROOT_PATHS)})(/|$) {{
            proxy_pass http://apicurio{reg.ccompat_path}$request_uri;
        }}
        location / {{
            proxy_pass http://apicurio;
        }}
    }}
}}
"""


def registry_proxy_spec(cfg: LabConfig) -> ServiceSpec:
    """The supervised nginx; ready when ``GET /subjects`` answers through to Apicurio."""
    reg, home = cfg.registry, _home(cfg)
    nginx = shutil.which("nginx") or "nginx"
    return ServiceSpec(
        name=REGISTRY_PROXY_SERVICE,
        command=[nginx, "-e", "stderr", "-p", str(home), "-c", str(home / "nginx.conf")],
        ports=(reg.port,),
        probe=lambda: http_probe(f"{reg.url}/subjects"),
        ready_timeout_s=reg.proxy_ready_timeout_s,
        stop_timeout_s=cfg.service_stop_timeout_s,
        restart=ON_FAILURE,
    )


def start_registry_proxy(cfg: LabConfig, supervisor: Supervisor) -> int:
    """Write nginx's configuration, start (or keep) it and wait until the registry answers at
    Confluent's root paths; return its pid."""
    ensure_registry_proxy()
    home = _home(cfg)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    (home / "nginx.conf").write_text(proxy_config(cfg, os.geteuid() == 0), encoding="utf-8")
    return supervisor.start(registry_proxy_spec(cfg))
