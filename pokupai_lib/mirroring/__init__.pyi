"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .checks import plot_lag as plot_lag
from .checks import restart_during_publish as restart_during_publish
from .checks import wait_for_mirror as wait_for_mirror
from .mirror_maker import mirror_properties as mirror_properties
