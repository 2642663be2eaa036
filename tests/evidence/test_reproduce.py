"""``verify --reproduce`` re-runs the recorded query and compares fingerprints."""

from __future__ import annotations

import json

from evkit import BALANCES, extract_args, make_lake
from lakekit import D

from soxauto.cli import run



def test_the_same_lake_matches_and_a_changed_cent_differs(home, tmp_path, capsys):
    lake = make_lake(tmp_path / "lake")
    assert run(extract_args(lake, tmp_path / "out")) == 0
    folder = home / "evidence" / "CR_04_EC_NG_202509"
    capsys.readouterr()

    assert run(["evidence", "verify", str(folder), "--reproduce", "--lake", str(lake), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reproduce"] == "match"

    changed = [dict(BALANCES[0], balance_lcy=D("-1500.01"))] + BALANCES[1:]
    other = make_lake(tmp_path / "lake2", balances=changed)
    assert run(["evidence", "verify", str(folder), "--reproduce", "--lake", str(other), "--json"]) == 5
    out = json.loads(capsys.readouterr().out)
    assert out["reproduce"] == "differ"
    assert all(a["status"] == "ok" for a in out["artifacts"])  # the package itself is intact


def test_reproduce_needs_a_lake_or_binding(home, tmp_path, capsys):
    lake = make_lake(tmp_path / "lake")
    assert run(extract_args(lake, tmp_path / "out")) == 0

    assert run(["evidence", "verify", "--all", "--reproduce"]) == 3
    assert "--reproduce needs exactly one of --lake DIR or --binding FILE" in capsys.readouterr().err
