"""``soxauto signoff`` on a hand-built run: the acting user's roles come from the local users,
an unknown user is refused, and the status and history read as a table."""

from __future__ import annotations

import pytest
from signkit import add_run

from soxauto.auth import LocalUsers
from soxauto.cli import run
from soxauto.close.store import RunStore


@pytest.fixture
def home(isolated_home):
    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    add_run(runs, "r1")
    users = LocalUsers(runs)
    users.add("pat", ["preparer"])
    users.add("rita", ["reviewer"])
    runs.close()
    return isolated_home


def cli(capsys, *argv):
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_status_and_history_as_text(home, capsys):
    code, out, _ = cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "VOUCHERS", "--user", "pat", "--comment", "ok")
    assert code == 0 and out.startswith("prepare 2025-09 HF_SN VOUCHERS by pat at ") and out.endswith(
        " on run r1 (4 evidence packages)\n")
    code, out, _ = cli(capsys, "signoff", "approve", "2025-09", "HF_SN", "VOUCHERS", "--user", "rita")
    assert code == 0 and out.startswith("approve 2025-09 HF_SN VOUCHERS by rita at ")
    code, out, _ = cli(capsys, "signoff", "status", "2025-09", "--user", "pat")
    assert code == 0
    assert out.splitlines() == [
        "HF_SN   CUSTOMER_AR   unsigned   prepared -            reviewed -",
        "HF_SN   VOUCHERS      approved   prepared pat          reviewed rita",
        "2025-09 not locked",
    ]
    code, out, _ = cli(capsys, "signoff", "history", "2025-09", "--user", "rita")
    assert [ln.split()[2:6] for ln in out.splitlines()] == [["prepare", "HF_SN", "VOUCHERS", "pat"],
                                                            ["approve", "HF_SN", "VOUCHERS", "rita"]]


def test_an_unknown_user_or_a_missing_comment_exits_3(home, capsys):
    code, _, err = cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "VOUCHERS", "--user", "patt")
    assert code == 3 and "'patt' is not a local user; did you mean 'pat'" in err
    cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "VOUCHERS", "--user", "pat")
    code, _, _ = cli(capsys, "signoff", "reject", "2025-09", "HF_SN", "VOUCHERS", "--user", "rita")
    assert code == 3  # --comment is required
    code, _, err = cli(capsys, "signoff", "reject", "2025-09", "HF_SN", "VOUCHERS", "--user", "rita", "--comment", "")
    assert code == 3 and "a rejection needs a comment" in err
