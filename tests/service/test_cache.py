"""The answer cache of completed runs (service/cache.py) and the token fast path (security.py):
cached bytes are the uncached bytes, ETag and 304, a new run is never answered from an older
run's entry, sign-off state and the audit log are read afresh, argon2 runs once per token and a
revocation made elsewhere still refuses the next request."""

from __future__ import annotations

import hashlib

import argon2
from servicekit import PERIOD, client_for

from soxauto.auth import LocalUsers
from soxauto.close.store import RunStore
from soxauto.service import create_app
from soxauto.service.cache import ResponseCache, make

RESULTS = f"/api/results/{PERIOD}?entity=HF_SN&line=VOUCHERS"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def test_the_cache_keeps_the_most_recently_used_answers_within_its_bounds():
    by_count = ResponseCache(max_entries=2, max_bytes=800)
    by_count.put(("r1", "/a", ()), make(b"a" * 60, "text/plain"))
    by_count.put(("r1", "/b", ()), make(b"b" * 60, "text/plain"))
    assert by_count.get(("r1", "/a", ())).body == b"a" * 60  # /a is now the most recent
    by_count.put(("r1", "/c", ()), make(b"c" * 60, "text/plain"))
    assert (by_count.get(("r1", "/b", ())), len(by_count)) == (None, 2)
    assert by_count.get(("r1", "/c", ())).etag == etag_of(b"c" * 60)

    by_bytes = ResponseCache(max_entries=100, max_bytes=160)  # one answer may take 160 // 8 = 20 bytes
    for n in range(9):
        by_bytes.put(("r1", f"/{n}", ()), make(b"x" * 20, "text/plain"))
    assert len(by_bytes) == 8 and by_bytes.get(("r1", "/0", ())) is None  # 9 x 20 > 160: the oldest went
    by_bytes.put(("r1", "/big", ()), make(b"x" * 21, "text/plain"))
    assert by_bytes.get(("r1", "/big", ())) is None and len(by_bytes) == 8


def test_a_cached_answer_is_the_uncached_answer_with_an_etag_and_a_304(world):
    with client_for(create_app(world.config())) as c:
        first = c.get(RESULTS, headers=world.bearer("audrey"))
        again = c.get(RESULTS, headers=world.bearer("rita"))
        assert (c.app.state.answers.misses, c.app.state.answers.hits) == (1, 1)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and first.headers["content-type"] == "application/json"
    doc = first.json()
    assert (doc["run_id"], doc["total"], doc["rows"][0]["unexplained_lcy"]) == (world.run_id, 1, "20899.11")
    assert first.headers["etag"] == again.headers["etag"] == etag_of(first.content)
    assert first.headers["cache-control"] == "private, no-cache"

    with client_for(create_app(world.config())) as c:
        tag = first.headers["etag"]
        same = c.get(RESULTS, headers={**world.bearer("audrey"), "If-None-Match": tag})
        weak = c.get(RESULTS, headers={**world.bearer("audrey"), "If-None-Match": f'"other", W/{tag}'})
        other = c.get(f"/api/results/{PERIOD}?entity=JM_EG", headers={**world.bearer("audrey"), "If-None-Match": tag})
        nobody = c.get(RESULTS, headers={"If-None-Match": tag})
        csv_text = c.get(f"/api/results/{PERIOD}/HF_SN/VOUCHERS/items.csv?bridge=UNEXPLAINED",
                         headers=world.bearer("audrey"))
    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", tag)
    assert weak.status_code == 304
    assert other.status_code == 200 and other.json()["total"] == 7 and other.headers["etag"] != tag
    assert nobody.status_code == 401  # the caller is checked before the cache is asked
    assert csv_text.headers["content-disposition"] == f'attachment; filename="items-{world.run_id}-HF_SN-VOUCHERS.csv"'
    assert csv_text.headers["etag"] == etag_of(csv_text.content)


def test_a_new_run_is_answered_at_once_not_the_cached_older_one(fresh_client):
    c, pat = fresh_client, fresh_client.world.bearer("pat")
    old = c.get(f"/api/results/{PERIOD}", headers=pat)
    assert (old.json()["run_id"], old.json()["total"]) == (c.world.run_id, 14)
    r = c.post("/api/runs", json={"period": PERIOD, "entities": ["HF_SN"]}, headers=pat)
    assert r.status_code == 202 and c.app.state.runner.wait(r.json()["run_id"], 120)
    new = c.get(f"/api/results/{PERIOD}", headers={**pat, "If-None-Match": old.headers["etag"]})
    assert new.status_code == 200 and (new.json()["run_id"], new.json()["total"]) == (r.json()["run_id"], 7)
    pinned = c.get(f"/api/results/{PERIOD}?run_id={c.world.run_id}", headers=pat)
    assert (pinned.json()["run_id"], pinned.json()["total"]) == (c.world.run_id, 14)  # the old run by its id


def test_sign_off_state_and_the_audit_log_show_a_change_on_the_next_read(fresh_client):
    c, audrey = fresh_client, fresh_client.world.bearer("audrey")

    def voucher_state() -> str:
        lines = c.get(f"/api/signoffs/{PERIOD}?entity=HF_SN", headers=audrey).json()["lines"]
        return next(s["state"] for s in lines if s["line"] == "VOUCHERS")

    assert c.get(RESULTS, headers=audrey).status_code == 200  # the line's results are now cached
    assert voucher_state() == "unsigned"
    assert c.post(f"/api/signoffs/{PERIOD}/HF_SN/VOUCHERS/prepare", json={"comment": "tied out"},
                  headers=c.world.bearer("pat")).status_code == 200
    assert voucher_state() == "prepared"
    assert c.get("/api/audit?limit=1", headers=audrey).json()["entries"][0]["action"] == "signoff.prepare"
    assert c.post(f"/api/signoffs/{PERIOD}/HF_SN/VOUCHERS/approve", json={"comment": "agreed"},
                  headers=c.world.bearer("rita")).status_code == 200
    assert voucher_state() in ("approved", "approved_with_exception")  # the latter for an INVESTIGATE line
    assert c.get("/api/audit?limit=1", headers=audrey).json()["entries"][0]["action"] == "signoff.approve"


def test_argon2_runs_once_per_token_and_a_revocation_elsewhere_refuses_the_next_request(fresh, monkeypatch):
    calls = []
    verify = argon2.PasswordHasher.verify

    def counted(self, stored, given):
        calls.append(given[:16])
        return verify(self, stored, given)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    with client_for(create_app(fresh.config())) as c:
        for _ in range(5):
            assert c.get(RESULTS, headers=fresh.bearer("rita")).status_code == 200
        assert calls == [fresh.tokens["rita"][:16]]
        runs = RunStore(fresh.config().run_store)  # as 'soxauto users revoke' would, from another process
        LocalUsers(runs, actor="adam").revoke_token(fresh.tokens["rita"])
        runs.close()
        refused = c.get(RESULTS, headers=fresh.bearer("rita"))
    assert refused.status_code == 401 and "was revoked at" in refused.json()["detail"]
    assert len(calls) == 1
