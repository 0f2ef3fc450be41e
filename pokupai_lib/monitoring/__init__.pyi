"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .alert_receiver import create_app as create_app
from .alert_receiver import notifications as notifications
from .checks import notifications_frame as notifications_frame
from .outage import broker_outage as broker_outage
from .outage import outage_metrics as outage_metrics
from .outage import plot_outage as plot_outage
from .stack import missing_monitoring_tools as missing_monitoring_tools
from .stack import rules_frame as rules_frame
from .stack import scrape_config as scrape_config
from .stack import wait_for_targets as wait_for_targets
