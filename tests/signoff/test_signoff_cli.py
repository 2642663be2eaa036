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


@pytest.fixture
def gated(isolated_home):
    """HF_SN: CUSTOMER_AR auto-certified (prepared by the system), VOUCHERS INVESTIGATE,
    COLLECTIONS in ERROR, PACKAGES prepared by pat; EC_NG untouched."""
    from signkit import ABOVE_BUCKET, AUTO_NEW, PREPARER, TIE_OUT_FAILED

    from soxauto.signoff import SignOffs

    runs = RunStore(f"sqlite:///{isolated_home / 'runs.sqlite'}")
    lines = {"CUSTOMER_AR": "IPE_07", "COLLECTIONS": "IPE_07", "VOUCHERS": "IPE_08", "PACKAGES": "IPE_08"}
    add_run(runs, "r1", lines=lines, overrides={("HF_SN", "CUSTOMER_AR"): AUTO_NEW, ("HF_SN", "VOUCHERS"): ABOVE_BUCKET,
                                                ("HF_SN", "COLLECTIONS"): TIE_OUT_FAILED})
    signoffs = SignOffs(runs)
    signoffs.after_run("r1")
    signoffs.prepare(PREPARER, "2025-09", "HF_SN", "PACKAGES")
    users = LocalUsers(runs)
    users.add("pat", ["preparer"])
    users.add("rita", ["reviewer"])
    runs.close()
    return isolated_home


def test_an_error_line_exits_3_naming_the_failed_test(gated, capsys):
    code, _, err = cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "COLLECTIONS", "--user", "pat", "--comment", "x")
    assert code == 3 and err == ("error: 2025-09 HF_SN COLLECTIONS is in ERROR (CR_03.tie_out failed) and cannot be "
                                 "prepared; fix the input and run 'soxauto close --period 2025-09' again\n")
    code, _, err = cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "VOUCHERS", "--user", "pat")
    assert code == 3 and "is INVESTIGATE (UNRESOLVED_ABOVE_BUCKET): preparing it needs a comment" in err


def test_bulk_approval_and_an_approval_with_exception_through_the_cli(gated, capsys):
    assert cli(capsys, "signoff", "approve", "2025-09", "HF_SN", "--user", "rita")[0] == 3  # neither LINE nor the flag
    code, _, err = cli(capsys, "signoff", "approve", "2025-09", "HF_SN", "PACKAGES", "--all-reconciled", "--user", "rita")
    assert code == 3 and "give either a LINE or --all-reconciled" in err
    code, out, _ = cli(capsys, "signoff", "approve", "2025-09", "HF_SN", "--all-reconciled", "--user", "rita")
    assert code == 0
    assert out.splitlines() == [
        "approved 2 of 4 lines of 2025-09 HF_SN by rita, skipped 2",
        "  approved CUSTOMER_AR",
        "  approved PACKAGES",
        "  skipped  COLLECTIONS: ERROR (CR_03.tie_out failed): it can be neither prepared nor approved",
        "  skipped  VOUCHERS: INVESTIGATE (UNRESOLVED_ABOVE_BUCKET): approve it on its own with a comment; "
        "it is recorded as approved with exception"]
    cli(capsys, "signoff", "prepare", "2025-09", "HF_SN", "VOUCHERS", "--user", "pat", "--comment", "FIN-112 opened")
    code, out, _ = cli(capsys, "signoff", "approve", "2025-09", "HF_SN", "VOUCHERS", "--user", "rita", "--comment", "accepted")
    assert code == 0 and out.startswith("approve 2025-09 HF_SN VOUCHERS by rita at ")
    assert out.endswith(" with exception, accepting 1 open item (UNEXPLAINED 20,899.11 XOF (3 items))\n")
    code, out, _ = cli(capsys, "signoff", "status", "2025-09", "--entity", "HF_SN", "--user", "pat")
    assert out.splitlines() == [
        "HF_SN   CUSTOMER_AR   approved   prepared soxauto      reviewed rita         "
        "approved in one action with every prepared RECONCILED line of HF_SN",
        "HF_SN   COLLECTIONS   unsigned   prepared -            reviewed -",
        "        ERROR: CR_03.tie_out failed: it can be neither prepared nor approved",
        "HF_SN   VOUCHERS      approved_with_exception prepared pat          reviewed rita         accepted",
        "        approved with exception: INVESTIGATE (UNRESOLVED_ABOVE_BUCKET), accepting 1 open item "
        "(UNEXPLAINED 20,899.11 XOF (3 items))",
        "HF_SN   PACKAGES      approved   prepared pat          reviewed rita         "
        "approved in one action with every prepared RECONCILED line of HF_SN",
        "2025-09 not locked"]
    code, out, _ = cli(capsys, "signoff", "history", "2025-09", "--entity", "HF_SN", "--line", "VOUCHERS", "--user", "pat")
    assert [ln.split()[2:6] for ln in out.splitlines()] == [["prepare", "HF_SN", "VOUCHERS", "pat"],
                                                            ["approve_with_exception", "HF_SN", "VOUCHERS", "rita"]]
