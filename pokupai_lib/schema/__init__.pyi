"""Re-exports of the package (loaded lazily by ``__init__.py``)."""

from .checks import schema_fields as schema_fields
from .checks import subject_versions as subject_versions
from .product import DEFAULT_SCHEMA_PATH as DEFAULT_SCHEMA_PATH
from .product import parsed_schema as parsed_schema
from .product import schema_text as schema_text
from .product import validate_product as validate_product
from .registration import product_subject as product_subject
from .registration import register_product_schema as register_product_schema
from .registration import schema_file as schema_file
from .registration import try_register as try_register
from .registry import registry_client as registry_client
from .registry import registry_spec as registry_spec
from .registry import start_registry as start_registry
from .registry_proxy import registry_proxy_spec as registry_proxy_spec
