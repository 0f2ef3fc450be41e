"""Tables of the runtime's state for notebooks (pandas stays out of the services)."""

from __future__ import annotations

import pandas as pd
from cryptography import x509

from pokupai_lib.config import LabConfig

__all__ = ["certificates_frame"]


def certificates_frame(cfg: LabConfig) -> pd.DataFrame:
    """One row per certificate: subject, issuer, what it may do, and its key file's mode."""
    rows = []
    for cert_path in sorted(cfg.paths.certs.rglob("*.crt")):
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        try:
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            usage = ", ".join(sorted(u._name for u in usages))
        except x509.ExtensionNotFound:
            usage = "CA"
        key_mode = oct(cert_path.with_suffix(".key").stat().st_mode & 0o777)
        rows.append({"file": str(cert_path.relative_to(cfg.paths.certs)),
                     "subject": cert.subject.rfc4514_string(),
                     "issuer": cert.issuer.rfc4514_string(), "usage": usage,
                     "key_mode": key_mode})
    return pd.DataFrame(rows)
