"""Ordered, versioned rule files of a control pack, with ``file:line`` errors.

A rule file is a YAML mapping with a ``version`` and an ordered list under ``rules`` (the first
rule that matches wins, so the order is part of the meaning). Every mistake is reported with
the line it sits on and, for a misspelt key or name, a did-you-mean; all the mistakes of a file
are reported together. The file's SHA-256 travels with every result computed from it, so
evidence names exactly which rules were applied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sqlglot import exp

from .. import yamlfile
from ..errors import Problem, UsageError, did_you_mean

VERSION = re.compile(r"^\d+\.\d+\.\d+$")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")


class RuleFileError(UsageError):
    """A rule file that does not load: every problem carries ``file:line``."""


@dataclass
class Located:
    """A YAML document as plain values plus the line of every mapping key and list item."""

    path: Path
    value: Any = None
    lines: dict[tuple, int] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> tuple["Located", bytes]:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise RuleFileError(f"rule file {path} cannot be read: {e.strerror}") from None
        doc = cls(path)
        try:
            node = yamlfile.compose(raw.decode("utf-8"))
        except (yamlfile.YAMLError, UnicodeDecodeError) as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            raise RuleFileError("rule file does not parse", [Problem(f"{path}:{line}", str(e).splitlines()[0])]) from None
        doc.value = yamlfile.located(node, (), doc.lines) if node is not None else None
        return doc, raw

    def line(self, *where) -> int:
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def at(self, *where) -> str:
        return f"{self.path}:{self.line(*where)}"


@dataclass(frozen=True)
class RawRule:
    """One rule as written: its position in the file, its id, its keys, and its location."""

    index: int
    id: str
    body: dict
    where: str  # file:line of the rule's first key


@dataclass
class RuleFile:
    """A loaded rule file before its kind-specific checks: header values and the raw rules.
    ``problems`` collects every mistake; ``raise_if_problems`` reports them all at once."""

    doc: Located
    version: str
    sha256: str
    header: dict
    rules: list[RawRule]
    problems: list[Problem]

    @property
    def path(self) -> Path:
        return self.doc.path

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def raise_if_problems(self) -> None:
        if self.problems:
            raise RuleFileError(f"rule file {self.path} has {len(self.problems)} problem(s)", self.problems)


def load_rule_file(path: str | Path, *, header: Iterable[str] = (), required: Iterable[str] = (),
                   optional: Iterable[str] = ()) -> RuleFile:
    """Read ``path``: ``version`` and ``rules`` plus the named ``header`` keys; each rule needs
    an ``id`` and the ``required`` keys and may have the ``optional`` ones."""
    doc, raw = Located.read(path)
    header, required, optional = tuple(header), tuple(required), tuple(optional)
    rf = RuleFile(doc, "", hashlib.sha256(raw).hexdigest(), {}, [], [])
    top = doc.value
    if not isinstance(top, dict):
        rf.problem(doc.at(), "a rule file must be a mapping with 'version' and 'rules'")
        rf.raise_if_problems()
    known_top = ("version", "description", "rules") + header
    check_keys(rf, (), top, ("version", "rules"), known_top)
    version = top.get("version")
    if version is not None and not VERSION.match(str(version)):
        rf.problem(doc.at("version"), f"version '{version}' is not of the form MAJOR.MINOR.PATCH (for example 1.0.0)")
    rf.version = str(version or "")
    rf.header = {k: top[k] for k in header if k in top}
    rf.rules = rule_list(rf, "rules", required, optional)
    return rf


def rule_list(rf: RuleFile, key: str, required: Iterable[str] = (), optional: Iterable[str] = ()) -> list[RawRule]:
    """The ordered rules under ``key``: each a mapping with an UPPER_SNAKE_CASE ``id`` that is
    unique in the file, the ``required`` keys, and no keys beyond ``optional``."""
    required, optional = tuple(required), tuple(optional)
    doc = rf.doc
    rules = doc.value.get(key)
    if rules is not None and not isinstance(rules, list):
        rf.problem(doc.at(key), f"'{key}' must be a list of rules, in the order they apply")
        return []
    seen = {r.id: r.where for r in rf.rules}
    out = []
    for i, body in enumerate(rules or []):
        where = (key, i)
        if not isinstance(body, dict):
            rf.problem(doc.at(*where), "a rule must be a mapping of keys")
            continue
        check_keys(rf, where, body, ("id",) + required, ("id", "description") + required + optional)
        rid = str(body.get("id", ""))
        if rid and not RULE_ID.match(rid):
            rf.problem(doc.at(*where, "id"), f"rule id '{rid}' must be UPPER_SNAKE_CASE (letters, digits, _)")
        if rid in seen:
            rf.problem(doc.at(*where, "id"), f"rule id '{rid}' is also used at {seen[rid]}")
        seen.setdefault(rid, doc.at(*where, "id"))
        out.append(RawRule(i, rid, body, doc.at(*where)))
    return out


def check_keys(rf: RuleFile, where: tuple, mapping: dict, required: Iterable[str], known: Iterable[str]) -> None:
    known = tuple(dict.fromkeys(known))
    for key in mapping:
        if key not in known:
            rf.problem(rf.doc.at(*where, key), f"unknown key '{key}'{did_you_mean(str(key), known)}")
    for key in required:
        if key not in mapping:
            rf.problem(rf.doc.at(*where), f"missing required key '{key}'")


def check_name(rf: RuleFile, where: tuple, value: Any, choices: Iterable[str], what: str) -> bool:
    """``value`` must be one of ``choices``; otherwise a located problem with a did-you-mean."""
    choices = tuple(choices)
    if value in choices:
        return True
    rf.problem(rf.doc.at(*where), f"unknown {what} '{value}'{did_you_mean(str(value), choices)}; "
                                  f"known: {', '.join(choices)}")
    return False


def string_list(rf: RuleFile, where: tuple, value: Any, what: str) -> tuple[str, ...]:
    """A scalar or a list of scalars as a tuple of non-empty strings (booleans and nulls are refused)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for k, item in enumerate(items):
        here = where + ((k,) if isinstance(value, list) else ())
        if item is None or isinstance(item, (bool, dict, list)) or str(item) == "":
            rf.problem(rf.doc.at(*here), f"{what} must be a non-empty text value, got {item!r}")
            continue
        text = str(item)
        if "\x00" in text:
            rf.problem(rf.doc.at(*here), f"{what} must not contain a NUL character")
            continue
        out.append(text)
    return tuple(out)


# Conditions as SQL (sqlglot expressions, rendered per dialect by the engine). Rule values are
# pack constants, so they become literals; run values (company, dates) stay bound parameters.

def param(name: str) -> exp.Placeholder:
    return exp.Placeholder(this=name)


def in_set(column: str, values: Iterable[str], *, negate: bool = False) -> exp.Expression:
    cond = exp.column(column).isin(*(exp.Literal.string(v) for v in values))
    return exp.not_(cond) if negate else cond


def escape_like(text: str) -> str:
    """A literal substring as a LIKE pattern body: the wildcards and the escape itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(column: str, pattern: str) -> exp.Expression:
    # Case-insensitive and portable: UPPER on both sides, an explicit ESCAPE character.
    like = exp.Like(this=exp.Upper(this=exp.column(column)), expression=exp.Literal.string(pattern.upper()))
    return exp.Escape(this=like, expression=exp.Literal.string("\\"))


def _any(parts: list[exp.Expression]) -> exp.Expression:
    return exp.paren(exp.or_(*parts)) if len(parts) > 1 else parts[0]


def contains_any(column: str, substrings: Iterable[str]) -> exp.Expression:
    return _any([_like(column, "%" + escape_like(s) + "%") for s in substrings])


def like_any(column: str, patterns: Iterable[str]) -> exp.Expression:
    return _any([_like(column, p) for p in patterns])


def prefix_any(column: str, prefixes: Iterable[str]) -> exp.Expression:
    """Case-sensitive ``starts with`` (LIKE 'p%' with p escaped)."""
    parts = [exp.Escape(this=exp.Like(this=exp.column(column), expression=exp.Literal.string(escape_like(p) + "%")),
                        expression=exp.Literal.string("\\")) for p in prefixes]
    return _any(parts)
