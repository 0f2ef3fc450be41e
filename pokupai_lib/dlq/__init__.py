"""The lab's dead-letter topics: where each letter came from, and re-driving letters once
their cause is fixed.

Names are re-exported lazily from ``__init__.pyi``: importing one module loads only what that
module imports.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
