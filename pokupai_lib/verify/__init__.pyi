"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .checks import ALL_STAGES as ALL_STAGES
from .checks import Stage as Stage
from .checks import VerifyReport as VerifyReport
from .checks import stage_report as stage_report
from .checks import verify as verify
from .compare import StageDiff as StageDiff
from .compare import compare_counts as compare_counts
from .compare import compare_stage as compare_stage
from .compare import content_digest as content_digest
from .compare import expected_counts as expected_counts
from .compare import latest_versions as latest_versions
