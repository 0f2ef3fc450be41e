"""VictoriaMetrics, vmalert, Alertmanager, the alert receiver and outage checks.

Names are re-exported lazily from ``__init__.pyi``: importing one module (a service's entry
point) loads only what that module imports.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
