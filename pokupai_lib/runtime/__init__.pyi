"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .certs import cert_files as cert_files
from .certs import ensure_certificates as ensure_certificates
from .certs import store_password as store_password
from .checks import certificates_frame as certificates_frame
from .exit_codes import ZOMBIE_EXIT_CODE as ZOMBIE_EXIT_CODE
from .jvm import CONNECT_METRICS_RULES as CONNECT_METRICS_RULES
from .jvm import jvm_command as jvm_command
from .keeper import RestartBudget as RestartBudget
from .keeper import exit_reason as exit_reason
from .keeper import should_restart as should_restart
from .keeper_state import read_keeper_state as read_keeper_state
from .rest_validation import BIDI_CONTROLS as BIDI_CONTROLS
from .rest_validation import bounded_text as bounded_text
from .rest_validation import forbidden_character as forbidden_character
from .services import FILTER as FILTER
from .services import banwords_api_spec as banwords_api_spec
from .services import start_banwords_api as start_banwords_api
from .services import start_filter as start_filter
from .state import ensure_state_dir as ensure_state_dir
from .stats_http import serve_stats as serve_stats
from .supervisor import ProbeResult as ProbeResult
from .supervisor import RestartPolicy as RestartPolicy
from .supervisor import ServiceSpec as ServiceSpec
from .supervisor import Supervisor as Supervisor
from .supervisor import lab_supervisor as lab_supervisor
from .supervisor import tcp_probe as tcp_probe
