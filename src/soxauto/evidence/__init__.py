"""Evidence packages: canonical bytes, data fingerprint, package writer, signing keys, ledger, verify.

Public entry points: ``write_package`` (one package into a store), ``verify_store`` and
``verify_path`` (check a store or one package), ``reproduce`` (re-run a package's query),
``load_signer`` (the signing key), ``evidence_store`` (the store under ``SOXAUTO_HOME``).
"""

from .canonical import canonical_bytes
from .facts import RunLog
from .fingerprint import fingerprint
from .keys import Signer, load_signer, trusted_keys
from .package import Written, write_package
from .store import evidence_store
from .verify import PackageReport, Status, StoreReport, verify_path, verify_store

__all__ = [
    "PackageReport", "RunLog", "Signer", "Status", "StoreReport", "Written", "canonical_bytes", "evidence_store",
    "fingerprint", "load_signer", "trusted_keys", "verify_path", "verify_store", "write_package",
]
