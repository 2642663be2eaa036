"""A control pack's reconciliation, loaded whole: lines, bridge families, thresholds, rule files.

``packs/<pack>/recon/lines.yaml`` declares the lines, ``bridges.yaml`` the ordered bridge rules
of each family, ``thresholds/*.yaml`` the threshold contracts and ``fixtures/key_rows.yaml``
example key rows that every family must claim without overlap. Every mistake is reported as
``file:line: message``, all of a pack's mistakes at once.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..catalog import load_catalog
from ..catalog.loader import _Located, default_pack
from ..catalog.model import Catalog
from ..errors import CatalogError, Problem, did_you_mean
from .bridges import check_fixtures
from .classify import load_voucher_rules
from .lines import (COLLECTIONS_RULES, DEFAULT_MAX_AGE_DAYS, VOUCHER_CLASSIFICATION, ReconPack, _days, _load_families,
                    _load_lines)
from .rulefile import RuleFileError
from .tagging import load_collection_rules
from .thresholds import load_thresholds


def load_pack(pack: str | Path | None = None, catalog: Catalog | None = None) -> ReconPack:
    root = Path(pack) if pack else default_pack()
    folder = root / "recon"
    if not folder.is_dir():
        raise CatalogError(f"{root}: no recon folder in this pack")
    catalog = catalog or load_catalog(root)
    problems: list[Problem] = []
    vouchers, collections = _rule_files(folder, problems)
    families = _load_families(_Located(folder / "bridges.yaml"), problems)
    doc = _Located(folder / "lines.yaml")
    lines = _load_lines(doc, catalog, families, vouchers, problems)
    thresholds = load_thresholds(folder / "thresholds", problems)
    ids = [s.id for s in lines]
    for rule in thresholds.rules:
        if rule.line is not None and rule.line not in ids:
            problems.append(Problem(rule.where, f"threshold scoped to unknown line '{rule.line}'{did_you_mean(rule.line, ids)}"))
    fixtures = folder / "fixtures" / "key_rows.yaml"
    if fixtures.is_file():
        problems.extend(check_fixtures(_Located(fixtures), families))
    max_age = _days(doc, ("max_age_days",), doc.value.get("max_age_days", DEFAULT_MAX_AGE_DAYS), problems)
    if problems:
        raise CatalogError(f"recon pack {folder} has {len(problems)} problem(s)", problems)
    return ReconPack(lines, MappingProxyType(families), thresholds, str(doc.value.get("version", "")), folder,
                     vouchers, collections, max_age)


def _rule_files(folder: Path, problems: list[Problem]) -> tuple[Any, Any]:
    """The voucher classification and collections tagging rules, when the pack has them; their
    mistakes join the pack's problems (each already ``file:line``)."""
    out = []
    for name, load in ((VOUCHER_CLASSIFICATION, load_voucher_rules), (COLLECTIONS_RULES, load_collection_rules)):
        path = folder / name
        if not path.is_file():
            out.append(None)
            continue
        try:
            out.append(load(path))
        except RuleFileError as e:
            problems.extend(e.problems or (Problem(str(path), str(e)),))
            out.append(None)
    return out[0], out[1]
