"""The ground truth: each line's figures and bridges, from the generator's own model.

This applies ``docs/semantics.md`` directly to the in-memory event model (never the product's
SQL): per key, ``g`` is the sum of the line's G/L entries up to C (negated for a liability;
entries without a key form the key -1, ``manual``), ``t`` the sum of the measure over the
key's ``in_tv`` rows; ``delta = g - t``; each bridge claims the keys with ``delta != 0`` that
its rule selects. All arithmetic is integer cents, so ``variance = sum(bridges) + unexplained``
holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ledger import LINES, Posted, TVRows
from .world import Month

GENERIC = ("MANUAL_ADJUSTMENT", "TIMING", "NOT_POSTED", "NOT_IN_TV", "AMOUNT_DIFFERENCE")
VOUCHER = ("MANUAL_ADJUSTMENT", "TIMING_USAGE", "EXPIRED_NOT_WRITTEN_OFF", "VTC_NOT_BOOKED", "CANCELLED_NOT_BOOKED")
FAMILIES = {"generic": GENERIC, "vouchers": VOUCHER}


def decimal_text(cents: int) -> str:
    """Integer cents as a decimal string: -123456 -> '-1234.56'."""
    sign = "-" if cents < 0 else ""
    a = abs(int(cents))
    return f"{sign}{a // 100}.{a % 100:02d}"


@dataclass(frozen=True)
class LineTruth:
    period: str
    company_id: str
    currency: str
    line: str
    gl_amount: int  # cents
    tv_amount: int
    bridges: tuple[tuple[str, int, int], ...]  # (bridge, cents, keys claimed)
    unexplained: int

    @property
    def variance(self) -> int:
        return self.gl_amount - self.tv_amount

    def to_json(self) -> dict:
        return {
            "period": self.period,
            "company_id": self.company_id,
            "line": self.line,
            "currency": self.currency,
            "gl_amount": decimal_text(self.gl_amount),
            "tv_amount": decimal_text(self.tv_amount),
            "variance": decimal_text(self.variance),
            "bridges": {name: decimal_text(c) for name, c, _ in self.bridges},
            "bridge_keys": {name: k for name, _, k in self.bridges},
            "unexplained": decimal_text(self.unexplained),
        }


def _sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values)
    return out


def _spread(index: np.ndarray, values: np.ndarray, n: int, fill) -> np.ndarray:
    out = np.full(n, fill, dtype=np.asarray(values).dtype)
    out[index] = values
    return out


def key_table(line: str, posted: Posted, tv: TVRows, m: Month) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Keys, their deltas and the claim mask of every bridge of the line's family."""
    _, liability, family = LINES[line]
    sel = posted.day <= m.cutoff
    gk, ga, gi = posted.key[sel], posted.amount[sel], posted.integration[sel]
    keys, inv = np.unique(np.concatenate([gk, tv.key]), return_inverse=True)
    ig, it = inv[: len(gk)], inv[len(gk):]
    n = len(keys)
    g = _sum(ig, ga, n) * (-1 if liability else 1)
    t = _sum(it, np.where(tv.in_tv, tv.measure, 0), n)
    gl_entries = np.bincount(ig, minlength=n)
    rows = np.bincount(it, minlength=n)
    in_tv = np.bincount(it[tv.in_tv], minlength=n)
    delta = g - t
    manual = keys == -1
    real = ~manual
    if family == "generic":
        claims = {
            "MANUAL_ADJUSTMENT": manual,
            "TIMING": real & (rows > 0) & (in_tv == 0),
            "NOT_POSTED": real & (in_tv > 0) & (gl_entries == 0),
            "NOT_IN_TV": real & (rows == 0),
            "AMOUNT_DIFFERENCE": real & (in_tv > 0) & (gl_entries > 0),
        }
    else:
        x = tv.extra or {}
        debit = gi & (ga > 0)
        usage = _sum(ig[debit], ga[debit], n)
        used = _spread(it, x["used"], n, 0)
        expired = _spread(it, x["is_expired"], n, False)
        active = _spread(it, x["active"], n, True)
        reason = _spread(it, x["reason"], n, 0)
        has, live = rows > 0, in_tv > 0
        context = has & ~live & ~expired & ~active
        claims = {
            "MANUAL_ADJUSTMENT": manual,
            "TIMING_USAGE": has & live & (usage < used),
            "EXPIRED_NOT_WRITTEN_OFF": has & ~live & expired,
            "VTC_NOT_BOOKED": context & (reason == 1),
            "CANCELLED_NOT_BOOKED": context & (reason == 2),
        }
    nonzero = delta != 0
    claims = {name: c & nonzero for name, c in claims.items()}
    overlap = np.sum(np.stack(list(claims.values())), axis=0) > 1
    if overlap.any():
        raise AssertionError(f"{line}: bridge rules overlap on keys {keys[overlap][:5].tolist()}")
    return keys, delta, {"g": g, "t": t, **claims}


def line_truth(line: str, posted: Posted, tv: TVRows, m: Month, company_id: str, currency: str) -> LineTruth:
    _, _, family = LINES[line]
    _, delta, parts = key_table(line, posted, tv, m)
    bridges = tuple((name, int(delta[parts[name]].sum()), int(parts[name].sum())) for name in FAMILIES[family])
    gl, tv_amount = int(parts["g"].sum()), int(parts["t"].sum())
    unexplained = gl - tv_amount - sum(b[1] for b in bridges)
    return LineTruth(str(m.period), company_id, currency, line, gl, tv_amount, bridges, unexplained)
