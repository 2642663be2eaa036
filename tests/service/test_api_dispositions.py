"""Dispositions over HTTP on a hand-built close (tests/close/dispokit): recorded by a preparer and
shown at once in the line's result; refused with a problem document (and in the audit log)
for everyone and everything else; recorded from the line page's form."""

from __future__ import annotations

import base64
import hashlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from servicekit import client_for, csrf_of, login

sys.path.insert(0, str(Path(__file__).parent.parent / "close"))

from dispokit import ENTITY, close_by_hand  # noqa: E402

from soxauto.auth import LocalUsers  # noqa: E402
from soxauto.close import audit  # noqa: E402
from soxauto.config import load_config  # noqa: E402
from soxauto.service import create_app  # noqa: E402

URL = f"/api/periods/2025-09/entities/{ENTITY}/lines/PACKAGES/dispositions"
GOOD = {"kind": "explained", "key": "P3", "bridge": "NOT_IN_TV", "reason": "seller credit note 118"}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-dispositions")
    world = close_by_hand(root / "home", root)
    users = LocalUsers(world.runs, actor="setup")
    tokens = {name: users.issue_token(name, "tests") for name in ("pat", "rita")}
    world.runs.close()
    return root / "home", tokens


@pytest.fixture
def c(template, isolated_home):
    import shutil

    home, tokens = template
    shutil.copytree(home, isolated_home, dirs_exist_ok=True)
    cfg = replace(load_config({"SOXAUTO_HOME": str(isolated_home), "SOXAUTO_USER": "closer"}), session_secret="s",
                  attachment_max_bytes=64)
    with client_for(create_app(cfg)) as client:
        client.tokens, client.home = tokens, isolated_home
        yield client


def bearer(c, user):
    return {"Authorization": f"Bearer {c.tokens[user]}"}


def refusals(c) -> list[tuple[str, str]]:
    from soxauto.close.store import RunStore

    runs = RunStore(f"sqlite:///{c.home / 'runs.sqlite'}")
    try:
        return [(e.user, e.detail["why"]) for e in audit.entries(runs.engine) if e.action == "disposition.record.refused"]
    finally:
        runs.close()


def test_a_preparer_records_and_the_line_shows_it_at_once(c):
    line_url = f"/api/results/2025-09/{ENTITY}/PACKAGES"
    before = c.get(line_url, headers=bearer(c, "rita")).json()["line"]  # now cached for the run
    assert (before["status"], before["unresolved_lcy"]) == ("INVESTIGATE", "40.00")
    note = b"%PDF credit note"
    r = c.post(URL, json=GOOD | {"attachments": [{"name": "C:\\scans\\note.pdf", "content_base64": base64.b64encode(note).decode()}]},
               headers=bearer(c, "pat"))
    assert r.status_code == 201, r.text
    done = r.json()
    assert (done["revision"], done["line"]["status"], done["line"]["unresolved_lcy"]) == (1, "RECONCILED", "10.00")
    assert done["disposition"]["attachments"] == [{"name": "note.pdf", "sha256": hashlib.sha256(note).hexdigest(), "size": 16}]
    assert (c.home / "attachments" / hashlib.sha256(note).hexdigest()).read_bytes() == note
    after = c.get(line_url, headers=bearer(c, "rita")).json()["line"]
    assert (after["status"], after["unresolved_lcy"], after["revision"]) == ("RECONCILED", "10.00", 1)
    listed = c.get(URL, headers=bearer(c, "rita")).json()["dispositions"]
    assert [(d["key"], d["state"], d["applies"], d["recorded_by"]) for d in listed] == [("P3", "in force", True, "pat")]
    period = c.get("/api/periods/2025-09/dispositions", headers=bearer(c, "rita")).json()
    assert [d["id"] for d in period["dispositions"]] == [done["disposition"]["id"]]


BAD = [
    ("rita", GOOD, 403, "it needs the role preparer"),
    ("pat", GOOD | {"key": "P9"}, 400, "the line has no item with key 'P9'"),
    ("pat", GOOD | {"key": "P1", "bridge": "TIMING"}, 409, "is not open in run r1"),
    ("pat", GOOD | {"reason": ""}, 400, "an explained disposition needs a reason"),
    ("pat", GOOD | {"kind": "adjust", "key": "P4", "amount": "9.99",
                    "journal": {"debit": "60950", "credit": "13005", "description": "write off"}}, 400, "9.99 differs"),
    ("pat", GOOD | {"attachments": [{"name": "big.pdf", "content_base64": base64.b64encode(b"x" * 65).decode()}]}, 400,
     "is larger than 64 bytes"),
    ("pat", GOOD | {"attachments": [{"name": "x.pdf", "content_base64": "not base64!"}]}, 400, "is not base64"),
]


@pytest.mark.parametrize("user,body,status,detail", BAD, ids=[f"{b[0]}-{b[3][:20]}" for b in BAD])
def test_bad_dispositions_are_problems_in_the_audit_log_and_change_nothing(c, user, body, status, detail):
    r = c.post(URL, json=body, headers=bearer(c, user))
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert detail in r.json()["detail"]
    assert refusals(c) == [(user, r.json()["detail"])]
    assert c.get(URL, headers=bearer(c, "rita")).json()["dispositions"] == []
    assert not (c.home / "attachments").exists()
    assert c.get(f"/api/results/2025-09/{ENTITY}/PACKAGES", headers=bearer(c, "rita")).json()["line"]["unresolved_lcy"] == "40.00"


def test_a_locked_period_is_refused(c):
    class Locked:  # the sign-off says the period is locked (every line approved)
        def locked(self, period):
            return {"at": "2025-10-20T09:00:00.000000Z"} if period == "2025-09" else None

    c.app.state.signoffs = Locked
    r = c.post(URL, json=GOOD, headers=bearer(c, "pat"))
    assert r.status_code == 409 and r.json()["detail"].startswith("period 2025-09 is locked")
    assert refusals(c) == [("pat", r.json()["detail"])]


def test_a_line_in_error_and_a_missing_token_are_refused(c):
    r = c.post(f"/api/periods/2025-09/entities/{ENTITY}/lines/VOUCHERS/dispositions", json=GOOD, headers=bearer(c, "pat"))
    assert r.status_code == 409 and "is in ERROR (FX_RATE_MISSING)" in r.json()["detail"]
    assert c.post(URL, json=GOOD).status_code == 401


def test_the_line_page_form_records_a_disposition(c):
    from soxauto.close.store import RunStore

    runs = RunStore(f"sqlite:///{c.home / 'runs.sqlite'}")
    LocalUsers(runs, actor="setup").add("pia", ["preparer"], password="pw-pia")
    runs.close()
    assert login(c, "pia").status_code == 303
    page = c.get(f"/periods/2025-09/{ENTITY}/PACKAGES").text
    assert 'id="disposition"' in page and 'value="NOT_IN_TV:P3"' in page and 'value="TIMING:P1"' not in page  # open items only
    r = c.post(f"/periods/2025-09/{ENTITY}/PACKAGES/disposition", follow_redirects=False,
               data={"csrf": csrf_of(page), "item": "NOT_IN_TV:P3", "kind": "explained", "reason": "credit note"},
               files={"attachment": ("../note.txt", b"note", "text/plain")})
    assert r.status_code == 303, r.text
    (d,) = c.get(URL, headers=bearer(c, "rita")).json()["dispositions"]
    assert (d["recorded_by"], d["reason"], d["attachments"][0]["name"]) == ("pia", "credit note", "note.txt")
    assert "RECONCILED" in c.get(f"/periods/2025-09/{ENTITY}/PACKAGES").text
