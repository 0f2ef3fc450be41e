"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .checks import banned_products_found as banned_products_found
from .checks import search_while_elastic_down as search_while_elastic_down
from .checks import send_unindexable as send_unindexable
from .connect import connector_config as connector_config
from .connect import connector_status as connector_status
from .connect import sink_config_file as sink_config_file
from .connect import status_frame as status_frame
from .connect import worker_properties as worker_properties
from .elastic import analyze as analyze
from .elastic import elastic_client as elastic_client
from .elastic import index_count as index_count
from .indexing import index_report as index_report
from .indexing import sink_dead_letters as sink_dead_letters
from .indexing import wait_for_index as wait_for_index
