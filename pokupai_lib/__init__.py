"""pokupai_lib: every piece of logic the «Покупай выгодно» lab's notebooks call.

Names are re-exported lazily from ``__init__.pyi``, so a service importing one of its modules
(``python -m pokupai_lib.ingest.app``) does not load ``lab`` and pandas with it.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach_stub(__name__, __file__)
