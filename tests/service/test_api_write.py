"""Acting through the REST API on a private copy of the closed world: sign-off by role, the lock
of an approved period and its unlock, a close started over HTTP, a tampered package's verdict."""

from __future__ import annotations

from servicekit import ENTITIES, PERIOD

from soxauto.auth import Principal
from soxauto.close.store import RunStore
from soxauto.signoff import SignOffs

LINES = ("CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS", "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED")


def act(c, user, entity, line, action, comment=""):
    return c.post(f"/api/signoffs/{PERIOD}/{entity}/{line}/{action}", json={"comment": comment},
                  headers=c.world.bearer(user))


def test_roles_decide_who_signs_off_and_a_preparer_never_approves_their_own_line(fresh_client):
    c = fresh_client
    r = act(c, "audrey", "HF_SN", "VOUCHERS", "prepare")
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith("audrey (auditor) may not")
    assert act(c, "pat", "HF_SN", "VOUCHERS", "approve").status_code == 403  # preparer role only
    assert act(c, "duo", "HF_SN", "VOUCHERS", "prepare", "tied out").status_code == 200
    own = act(c, "duo", "HF_SN", "VOUCHERS", "approve")
    assert own.status_code == 403 and "duo" in own.json()["detail"]  # holds reviewer, but prepared this line
    assert act(c, "rita", "HF_SN", "VOUCHERS", "reject").status_code == 400  # a rejection needs a comment
    ok = act(c, "rita", "HF_SN", "VOUCHERS", "approve", "agreed")
    assert ok.status_code == 200
    state = next(s for s in c.get(f"/api/signoffs/{PERIOD}?entity=HF_SN", headers=c.world.bearer("audrey")).json()["lines"]
                 if s["line"] == "VOUCHERS")
    assert (state["state"], state["prepared_by"], state["reviewed_by"], state["run_id"]) == \
        ("approved", "duo", "rita", c.world.run_id)
    assert "IPE_08_HF_SN_202509" in state["evidence"]
    history = c.get(f"/api/signoffs/{PERIOD}/history?entity=HF_SN&line=VOUCHERS", headers=c.world.bearer("pat")).json()
    assert [(h["action"], h["user"], h["comment"]) for h in history] == [("prepare", "duo", "tied out"),
                                                                         ("approve", "rita", "agreed")]
    assert act(c, "pat", "HF_SN", "NO_SUCH_LINE", "prepare").status_code == 404
    audit = c.get("/api/audit?limit=5", headers=c.world.bearer("audrey")).json()["entries"]
    assert [(e["user"], e["action"]) for e in audit] == [  # newest first; the refusals too (the 404 never got that far)
        ("rita", "signoff.approve"), ("rita", "signoff.reject.refused"), ("duo", "signoff.approve.refused"),
        ("duo", "signoff.prepare"), ("pat", "signoff.approve.refused")]
    assert audit[1]["detail"]["why"] == f"{PERIOD} HF_SN VOUCHERS: a rejection needs a comment saying what to fix"


def test_an_approved_period_locks_refuses_a_close_and_an_admin_unlocks_it(fresh_client):
    c = fresh_client
    runs = RunStore(c.world.config().run_store)
    signs = SignOffs(runs)
    pat, rita = Principal("pat", frozenset({"preparer"}), "token"), Principal("rita", frozenset({"reviewer"}), "token")
    for entity in ENTITIES:
        for line in LINES:  # comments: an INVESTIGATE line needs them
            signs.prepare(pat, PERIOD, entity, line, "tied out")
            if (entity, line) != ("JM_EG", "SC_ACCRUED"):
                signs.approve(rita, PERIOD, entity, line, "agreed")
    runs.close()
    assert c.get(f"/api/signoffs/{PERIOD}", headers=c.world.bearer("audrey")).json()["locked"] is None
    assert act(c, "rita", "JM_EG", "SC_ACCRUED", "approve", "last one").status_code == 200
    lock = c.get(f"/api/signoffs/{PERIOD}", headers=c.world.bearer("audrey")).json()["locked"]
    assert lock["approvers"] == ["rita"]
    refused = c.post("/api/runs", json={"period": PERIOD, "entities": ["HF_SN"]}, headers=c.world.bearer("pat"))
    assert refused.status_code == 409 and f"period {PERIOD} is locked since" in refused.json()["detail"]
    assert c.post(f"/api/periods/{PERIOD}/unlock", json={"reason": "restatement"},
                  headers=c.world.bearer("rita")).status_code == 403
    assert c.post(f"/api/periods/{PERIOD}/unlock", json={}, headers=c.world.bearer("adam")).status_code == 422
    assert c.post(f"/api/periods/{PERIOD}/unlock", json={"reason": "restatement"},
                  headers=c.world.bearer("adam")).status_code == 200
    assert c.get(f"/api/signoffs/{PERIOD}", headers=c.world.bearer("audrey")).json()["locked"] is None


def test_a_close_started_over_http_runs_in_the_background(fresh_client):
    c = fresh_client
    assert c.post("/api/runs", json={"period": PERIOD}, headers=c.world.bearer("audrey")).status_code == 403
    r = c.post("/api/runs", json={"period": PERIOD, "entities": ["HF_SN"]}, headers=c.world.bearer("pat"))
    assert r.status_code == 202
    run_id = r.json()["run_id"]
    assert run_id.startswith("202509-") and r.json()["progress"] == f"/api/runs/{run_id}/progress"
    assert c.app.state.runner.wait(run_id, 120)
    progress = c.get(f"/api/runs/{run_id}/progress", headers=c.world.bearer("pat")).json()
    assert (progress["status"], progress["steps"], progress["done"]) == ("completed", 14, 14)  # 13 evidence steps (CR_06 among them) and the reconciliation
    run = c.get(f"/api/runs/{run_id}", headers=c.world.bearer("pat")).json()
    assert run["user"] == "pat" and run["previous_run"] == c.world.run_id and run["entities"] == ["HF_SN"]
    latest = c.get(f"/api/results/{PERIOD}", headers=c.world.bearer("pat")).json()
    assert latest["run_id"] == run_id and latest["total"] == 7  # the latest completed run now answers
    bad = c.post("/api/runs", json={"period": PERIOD, "entities": ["XX_YY"]}, headers=c.world.bearer("pat"))
    assert bad.status_code == 400 and "XX_YY" in bad.json()["detail"]


def test_verify_names_the_altered_artifact(fresh_client):
    c = fresh_client
    csv_path = c.world.home / "evidence" / "IPE_07_HF_SN_202509" / "data.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b",", b";", 1))
    r = c.post("/api/evidence/IPE_07_HF_SN_202509/verify", headers=c.world.bearer("audrey"))
    assert r.status_code == 200  # a failed verification is a result, not an HTTP error
    report = r.json()
    assert report["ok"] is False
    assert {a["path"]: a["status"] for a in report["artifacts"] if a["status"] != "ok"} == {"data.csv": "altered"}
    assert report["fingerprints"]["data.csv"] == "unreadable"  # the header lost a separator
