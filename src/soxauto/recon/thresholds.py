"""Threshold contracts: versioned files, one per country plus ``DEFAULT``, hashed into results.

A rule gives a ``measure`` a USD ``value``, optionally scoped to a ``line`` or a
``gl_account``. For an entity's country and a line, the most specific matching rule wins:

    1. the country's contract, scoped to the line or one of its GL accounts
    2. the country's contract, unscoped
    3. DEFAULT, scoped
    4. DEFAULT, unscoped

(a country contract is the agreement with that country, so it overrides any default). Two
matching rules on the same level are a configuration error naming both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from ..errors import CatalogError, Problem, did_you_mean

DEFAULT = "DEFAULT"
BUCKET, LINE_ITEM, COUNTRY = "BUCKET_USD", "LINE_ITEM_USD", "COUNTRY_MATERIALITY_USD"
MEASURES = (BUCKET, LINE_ITEM, COUNTRY)
RULE_KEYS = ("measure", "value", "line", "gl_account", "description")
FILE_KEYS = ("contract", "version", "rules")


@dataclass(frozen=True)
class ContractRef:
    """Which file a threshold came from: contract name, version and SHA-256 of its bytes."""

    contract: str
    version: str
    sha256: str
    file: str

    def to_dict(self) -> dict:
        return {"contract": self.contract, "version": self.version, "sha256": self.sha256, "file": self.file}


@dataclass(frozen=True)
class ThresholdRule:
    measure: str
    value: Decimal
    source: ContractRef
    line: str | None = None
    gl_account: str | None = None
    where: str = ""

    @property
    def scoped(self) -> bool:
        return self.line is not None or self.gl_account is not None

    def matches(self, country: str, line_id: str | None, accounts: tuple[str, ...]) -> bool:
        if self.source.contract not in (country, DEFAULT):
            return False
        if self.line is not None and self.line != line_id:
            return False
        return self.gl_account is None or self.gl_account in accounts

    def rank(self, country: str) -> tuple[bool, bool]:
        return (self.source.contract == country and country != DEFAULT, self.scoped)


@dataclass(frozen=True)
class ThresholdValue:
    measure: str
    value: Decimal
    rule: ThresholdRule

    def to_dict(self) -> dict:
        # file:line without the folder, so a result does not depend on where the pack is installed
        return {"value_usd": str(self.value), "where": Path(self.rule.where).name, **self.rule.source.to_dict()}


@dataclass(frozen=True)
class ThresholdSet:
    """The thresholds of one line of one entity."""

    bucket: ThresholdValue
    line_item: ThresholdValue
    country: ThresholdValue

    def to_dict(self) -> dict:
        return {m.measure: m.to_dict() for m in (self.bucket, self.line_item, self.country)}


@dataclass(frozen=True)
class ThresholdBook:
    contracts: Mapping[str, ContractRef]
    rules: tuple[ThresholdRule, ...]

    def value(self, measure: str, country: str, line_id: str | None = None, accounts: tuple[str, ...] = ()) -> ThresholdValue:
        candidates = [r for r in self.rules if r.measure == measure and r.matches(country, line_id, accounts)]
        if not candidates:
            raise CatalogError(f"no threshold {measure} applies to country {country} line {line_id}; add one to {DEFAULT}.yaml")
        best = max(r.rank(country) for r in candidates)
        top = [r for r in candidates if r.rank(country) == best]
        if len(top) > 1:
            raise CatalogError(f"threshold {measure} for country {country} line {line_id} is ambiguous: two rules are equally specific",
                               [Problem(r.where, f"{r.measure} = {r.value}") for r in top])
        return ThresholdValue(measure, top[0].value, top[0])

    def for_line(self, country: str, line_id: str, accounts: tuple[str, ...]) -> ThresholdSet:
        return ThresholdSet(self.value(BUCKET, country, line_id, accounts),
                            self.value(LINE_ITEM, country, line_id, accounts),
                            self.value(COUNTRY, country))


def load_thresholds(folder: Path, problems: list[Problem]) -> ThresholdBook:
    from ..catalog.loader import _Located

    contracts: dict[str, ContractRef] = {}
    rules: list[ThresholdRule] = []
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not any(f.stem == DEFAULT for f in files):
        problems.append(Problem(str(folder), f"threshold contracts need a {DEFAULT}.yaml"))
    for path in files:
        doc = _Located(path)
        raw = doc.value if isinstance(doc.value, dict) else {}
        for key in raw:
            if key not in FILE_KEYS:
                problems.append(Problem(doc.at(key), f"unknown key '{key}'{did_you_mean(str(key), FILE_KEYS)}"))
        if raw.get("contract") != path.stem:
            problems.append(Problem(doc.at("contract"), f"contract '{raw.get('contract')}' must match its file name '{path.stem}'"))
        if "version" not in raw:
            problems.append(Problem(doc.at(), "a threshold contract needs a version"))
        data = path.read_bytes().replace(b"\r\n", b"\n")
        ref = ContractRef(path.stem, str(raw.get("version", "")), hashlib.sha256(data).hexdigest(), path.name)
        contracts[path.stem] = ref
        for i, entry in enumerate(raw.get("rules") or []):
            rule = _rule(entry, ref, lambda *p: doc.at("rules", i, *p), problems)
            if rule is not None:
                rules.append(rule)
    defaults = {r.measure for r in rules if r.source.contract == DEFAULT and not r.scoped}
    for m in MEASURES:
        if files and m not in defaults:
            problems.append(Problem(str(folder / f"{DEFAULT}.yaml"), f"{DEFAULT} needs an unscoped rule for {m}"))
    return ThresholdBook(MappingProxyType(contracts), tuple(rules))


def _rule(entry, ref: ContractRef, at, problems: list[Problem]) -> ThresholdRule | None:
    if not isinstance(entry, dict):
        problems.append(Problem(at(), "a threshold rule is a mapping with measure and value"))
        return None
    for key in entry:
        if key not in RULE_KEYS:
            problems.append(Problem(at(key), f"unknown key '{key}'{did_you_mean(str(key), RULE_KEYS)}"))
    measure = entry.get("measure")
    if measure not in MEASURES:
        problems.append(Problem(at("measure"), f"unknown measure '{measure}'{did_you_mean(str(measure), MEASURES)}"))
        return None
    value = entry.get("value")
    if isinstance(value, float) or isinstance(value, bool) or value is None:
        problems.append(Problem(at("value"), "write the value as a string or an integer, e.g. \"1000.00\" (never a float)"))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        problems.append(Problem(at("value"), f"'{value}' is not an amount"))
        return None
    if not amount.is_finite() or amount <= 0:
        problems.append(Problem(at("value"), f"a threshold must be a positive amount, not {value}"))
        return None
    if measure == COUNTRY and ("line" in entry or "gl_account" in entry):
        problems.append(Problem(at(), f"{COUNTRY} applies to the whole country; it cannot be scoped to a line or account"))
    line = entry.get("line")
    account = entry.get("gl_account")
    return ThresholdRule(measure, amount, ref, None if line is None else str(line), None if account is None else str(account), at())
