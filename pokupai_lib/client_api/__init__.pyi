"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .checks import latency_summary as latency_summary
from .checks import search_frame as search_frame
from .checks import validation_answers as validation_answers
from .client import ClientApiClient as ClientApiClient
from .events import SearchEvent as SearchEvent
from .events import parse_search_event as parse_search_event
from .query import SEARCH_FIELDS as SEARCH_FIELDS
from .query import hits_from_response as hits_from_response
from .query import search_body as search_body
