"""The sign-off and local-user tables on PostgreSQL: created on first use beside the run store's,
append-only there too, the four-eyes rule and the lock, and one winner when two reviewers act
on the same preparation at once."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from close.closekit import pg_database
from signkit import ADMIN, PREPARER, REVIEWER, add_run

from soxauto.auth import AuthError, Forbidden, LocalUsers, Principal
from soxauto.close import audit
from soxauto.close.store import RunStore
from soxauto.errors import UsageError
from soxauto.signoff import SignOffs, check_open

P = "2025-09"


def test_signoff_and_users_on_postgresql(pg_url):
    from argon2 import PasswordHasher

    runs = RunStore(pg_database(pg_url, "soxauto_signoff"))
    try:
        users = LocalUsers(runs, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
        users.add("pat", ["preparer"])
        token = users.issue_token("pat", "ci")
        assert users.verify_token(token) == Principal("pat", frozenset({"preparer"}), "token")
        users.revoke_token(token)
        with pytest.raises(AuthError, match="was revoked"):
            users.verify_token(token)
        add_run(runs, "r1")
        s = SignOffs(runs)
        for line in ("VOUCHERS", "CUSTOMER_AR"):
            s.prepare(PREPARER, P, "HF_SN", line)
        with pytest.raises(Forbidden, match="cannot review it"):
            s.approve(Principal("pat", frozenset({"reviewer"}), "token"), P, "HF_SN", "VOUCHERS")
        outcomes = []
        barrier = threading.Barrier(2)

        def approve(name: str) -> None:
            barrier.wait()
            try:
                SignOffs(runs).approve(Principal(name, frozenset({"reviewer"}), "token"), P, "HF_SN", "VOUCHERS")
                outcomes.append("approved")
            except UsageError as e:
                outcomes.append(str(e))

        threads = [threading.Thread(target=approve, args=(n,)) for n in ("r-a", "r-b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["2025-09 HF_SN VOUCHERS is approved; only a prepared line can be approved", "approved"]
        s.approve(REVIEWER, P, "HF_SN", "CUSTOMER_AR")
        with pytest.raises(UsageError, match="period 2025-09 is locked"):
            check_open(runs, P)
        s.unlock(ADMIN, P, "restated")
        check_open(runs, P)
        add_run(runs, "r2", fingerprints={("HF_SN", "CR_05"): "fx-restated"})
        assert sorted(e["line"] for e in s.after_run("r2")) == ["CUSTOMER_AR", "VOUCHERS"]  # both read CR_05
        assert [e["action"] for e in s.history(P)] == ["prepare", "prepare", "approve", "approve", "lock", "unlock",
                                                       "suspend", "suspend"]
        with pytest.raises(sa.exc.DatabaseError, match="signoff_events is append-only"):
            with runs.engine.begin() as con:
                con.execute(sa.text("DELETE FROM signoff_events"))
        assert audit.verify(runs.engine) == []
    finally:
        runs.close()
