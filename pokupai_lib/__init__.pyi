"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .config import LabConfig as LabConfig
from .config import load_config as load_config
from .errors import LabError as LabError
from .lab import bootstrap as bootstrap
from .lab import down as down
from .lab import status_frame as status_frame
from .lab import up as up
