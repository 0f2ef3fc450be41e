"""pokupai_lib: every piece of logic the «Покупай выгодно» lab's notebooks call."""

from pokupai_lib.config import LabConfig, load_config
from pokupai_lib.errors import LabError
from pokupai_lib.lab import bootstrap, down, status_frame, up

__all__ = ["LabConfig", "LabError", "bootstrap", "down", "load_config", "status_frame", "up"]
