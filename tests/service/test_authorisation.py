"""Who may use which route: every route of the app, API and dashboard, against every kind of caller.

Read it as a table. Each row is one request and the roles it needs (``ANY``: some role, whichever;
``OPEN``: nobody needs one, the route holds no data). The callers are nobody, the four roles and
two principals without a role: an OIDC user whose groups are all about other products
(``finance-team``), and a local user whose row in the user store names no role. What each gets:

    nobody        401 from the API, a redirect to the login page from the dashboard
    no role       403, on every route that is not OPEN (the OIDC one has no dashboard session:
                  a bearer token does not sign in to the dashboard, so it is sent to the login page)
    a role        the row's answer when the role is among the row's needs (admin holds them all), else 403

Writes are chosen to get past the role check and then stop or change nothing that another row
reads: a close of an entity that does not exist (400), a disposition on an item that does not
exist (400), approving a line nobody prepared (409),
unlocking a period that is not locked (409). Only preparing HF_SN VOUCHERS and the bulk approval
of JM_EG (which no other row reads) succeed, on this module's private copy of the world. A route
of the app missing from the table fails the test.
"""

from __future__ import annotations

import pytest
from servicekit import AUDIENCE, ISSUER, PERIOD, client_for, copy_world, csrf_of, login, oidc_token
from sqlalchemy import update
from starlette.routing import Match, Mount

from soxauto.auth import LocalUsers
from soxauto.auth.local import auth_users
from soxauto.close.store import RunStore
from soxauto.service import create_app
from soxauto.signoff import SignOffs

ANY, OPEN = ("any",), ()
CLOSE, PREPARE, REVIEW, ADMIN = ("preparer", "admin"), ("preparer",), ("reviewer",), ("admin",)
ITEMS = f"{PERIOD}/HF_SN/VOUCHERS"
PACKAGE = "IPE_07_HF_SN_202509"

# method, path, body, needs, answer when allowed
API = [
    ("GET", "/api/catalog", None, ANY, 200),
    ("GET", "/api/catalog/IPE_07", None, ANY, 200),
    ("GET", "/api/runs", None, ANY, 200),
    ("POST", "/api/runs", {"period": PERIOD, "entities": ["XX_YY"]}, CLOSE, 400),
    ("GET", "/api/runs/{run}", None, ANY, 200),
    ("GET", "/api/runs/{run}/progress", None, ANY, 200),
    ("GET", "/api/evidence", None, ANY, 200),
    ("GET", f"/api/evidence/{PACKAGE}", None, ANY, 200),
    ("GET", f"/api/evidence/{PACKAGE}/zip", None, ANY, 200),
    ("POST", f"/api/evidence/{PACKAGE}/verify", None, ANY, 200),
    ("GET", f"/api/results/{PERIOD}", None, ANY, 200),
    ("GET", f"/api/results/{PERIOD}/lines.csv", None, ANY, 200),
    ("GET", f"/api/results/{ITEMS}", None, ANY, 200),
    ("GET", f"/api/results/{ITEMS}/items", None, ANY, 200),
    ("GET", f"/api/results/{ITEMS}/items.csv", None, ANY, 200),
    ("GET", f"/api/validation/{PERIOD}", None, ANY, 200),
    ("GET", f"/api/signoffs/{PERIOD}", None, ANY, 200),
    ("GET", f"/api/signoffs/{PERIOD}/history", None, ANY, 200),
    ("POST", f"/api/signoffs/{ITEMS}/prepare", {"comment": "matrix"}, PREPARE, 200),
    ("POST", f"/api/signoffs/{PERIOD}/HF_SN/{{unsigned}}/approve", {}, REVIEW, 409),
    ("POST", f"/api/signoffs/{PERIOD}/JM_EG/approve-reconciled", {"comment": "matrix"}, REVIEW, 200),
    ("POST", f"/api/periods/{PERIOD}/unlock", {"reason": "matrix"}, ADMIN, 409),
    ("GET", "/api/audit", None, ANY, 200),
    ("POST", f"/api/periods/{PERIOD}/entities/HF_SN/lines/VOUCHERS/dispositions",  # no such item: refused, nothing changes
     {"kind": "explained", "key": "NO_SUCH_KEY", "bridge": "NOT_IN_TV", "reason": "matrix"}, PREPARE, 400),
    ("GET", f"/api/periods/{PERIOD}/entities/HF_SN/lines/VOUCHERS/dispositions", None, ANY, 200),
    ("GET", f"/api/periods/{PERIOD}/dispositions", None, ANY, 200),
]
PAGES = [
    ("GET", "/", None, ANY, 200),
    ("GET", f"/periods/{PERIOD}", None, ANY, 200),
    ("GET", f"/periods/{ITEMS}", None, ANY, 200),
    ("GET", f"/periods/{ITEMS}/items.csv", None, ANY, 200),
    ("POST", f"/periods/{ITEMS}/signoff", {"action": "prepare"}, PREPARE, 303),
    ("POST", f"/periods/{PERIOD}/HF_SN/{{unsigned}}/signoff", {"action": "approve"}, REVIEW, 409),
    ("POST", f"/periods/{PERIOD}/unlock", {"reason": "matrix"}, ADMIN, 409),
    ("POST", f"/periods/{ITEMS}/disposition", {"item": "NOT_IN_TV:NO_SUCH_KEY", "kind": "explained", "reason": "matrix"},
     PREPARE, 400),
    ("GET", f"/periods/{PERIOD}/validation", None, ANY, 200),
    ("GET", f"/periods/{PERIOD}/history", None, ANY, 200),
    ("GET", f"/periods/{PERIOD}/HF_SN", None, ANY, 200),
    ("POST", f"/periods/{PERIOD}/JM_EG/approve-reconciled", {"comment": "matrix"}, REVIEW, 200),
    ("GET", "/evidence", None, ANY, 200),
    ("GET", f"/evidence/{PACKAGE}", None, ANY, 200),
    ("POST", f"/evidence/{PACKAGE}/verify", None, ANY, 200),
    ("GET", "/audit", None, ANY, 200),
    ("GET", "/catalog", None, ANY, 200),
    ("GET", "/catalog/IPE_07", None, ANY, 200),
]
# No data behind these: the service's health, the API's description, the login form and logging out.
UNGUARDED = [
    ("GET", "/health", None, OPEN, 200),
    ("GET", "/openapi.json", None, OPEN, 200),
    ("GET", "/docs", None, OPEN, 200),
    ("GET", "/docs/oauth2-redirect", None, OPEN, 200),
    ("GET", "/static/style.css", None, OPEN, 200),
    ("GET", "/login", None, OPEN, 200),
]
CALLERS = ("nobody", "audrey", "pat", "rita", "adam", "outsider", "nora")  # after the readers: cached answers too
ROLES = {"audrey": {"auditor"}, "pat": {"preparer"}, "rita": {"reviewer"}, "adam": {"admin"}, "outsider": set(),
         "nora": set()}


@pytest.fixture(scope="module")
def callers(world, idp, tmp_path_factory):
    """One client per caller (its own cookies), each with a CSRF token for the dashboard's forms."""
    key, jwks_url = idp
    mine = copy_world(world, tmp_path_factory.mktemp("authorisation"))
    runs = RunStore(mine.config().run_store)
    users = LocalUsers(runs, actor="setup")
    users.add("nora", ["auditor"], password="pw-nora")
    nora_token = users.issue_token("nora", "tests")
    app = create_app(mine.config(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=jwks_url))
    tokens = mine.tokens | {"nora": nora_token, "outsider": oidc_token(key, groups=["finance-team"])}
    with (client_for(app) as nobody, client_for(app) as audrey, client_for(app) as pat, client_for(app) as rita,
          client_for(app) as adam, client_for(app) as outsider, client_for(app) as nora):
        clients = dict(zip(CALLERS, (nobody, audrey, pat, rita, adam, outsider, nora)))
        for name, c in clients.items():
            if name in ("nobody", "outsider"):
                c.csrf = csrf_of(c.get("/login").text)  # an anonymous session: past the CSRF check, not signed in
            else:
                assert login(c, name).status_code == 303
                c.csrf = csrf_of(c.get("/login").text)
            c.token = tokens.get(name)
        # No command gives a local user no role; a row written by hand or by an older version can.
        with runs.engine.begin() as con:
            con.execute(update(auth_users).where(auth_users.c.name == "nora").values(roles="[]"))
        # A line nobody prepared: the system prepares the auto-certified ones when the close ends.
        states = SignOffs(runs).current(PERIOD, "HF_SN")
        clients["unsigned"] = next(r["line"] for r in states if r["state"] == "unsigned" and r["line"] != "VOUCHERS")
        runs.close()
        clients["run"] = mine.run_id
        yield clients


def send(c, method: str, path: str, body, *, api: bool):
    if api:
        headers = {"Authorization": f"Bearer {c.token}"} if c.token else {}
        return c.request(method, path, json=body if method == "POST" else None, headers=headers, follow_redirects=False)
    form = {**(body or {}), "csrf": c.csrf} if method == "POST" else None
    headers = {"Authorization": f"Bearer {c.token}"} if c.token else {}  # ignored by the dashboard
    return c.request(method, path, data=form, headers=headers, follow_redirects=False)


def expected(caller: str, needs: tuple, allowed: int, *, api: bool) -> int:
    if not needs:
        return allowed
    if caller == "nobody" or (caller == "outsider" and not api):
        return 401 if api else 303
    roles = ROLES[caller]
    if not roles:
        return 403
    return allowed if needs == ANY or "admin" in roles or roles & set(needs) else 403


@pytest.mark.parametrize(("method", "path", "body", "needs", "allowed"), API + PAGES + UNGUARDED,
                         ids=[f"{m} {p}" for m, p, *_ in API + PAGES + UNGUARDED])
def test_every_route_answers_each_caller_as_its_roles_allow(callers, method, path, body, needs, allowed):
    api = path.startswith("/api/")
    path = path.replace("{run}", callers["run"]).replace("{unsigned}", callers["unsigned"])
    got = {who: send(callers[who], method, path, body, api=api) for who in CALLERS}
    assert {who: r.status_code for who, r in got.items()} == \
        {who: expected(who, needs, allowed, api=api) for who in CALLERS}
    for who, r in got.items():
        if r.status_code == 303 and who in ("nobody", "outsider"):
            assert r.headers["location"].startswith("/login?next=")
        if r.status_code == 403 and not ROLES.get(who, True):
            assert "holds no SOXauto role" in r.json()["detail"], (who, r.text)


def test_the_table_names_every_route_of_the_app(callers):
    routes = served_routes(callers["nobody"].app)
    served = set()
    for route in routes:
        if isinstance(route, Mount):
            served.add(("GET", route.path + "/style.css"))
        else:
            served |= {(m, route.path) for m in route.methods - {"HEAD"}}
    listed = {(method, template_of(routes, method, path.replace("{run}", "RUN").replace("{unsigned}", "LINE")))
              for method, path, *_ in API + PAGES + UNGUARDED}
    # Logging in and out, open to anyone, are driven by test_pages and test_sessions: here they
    # would sign the callers out of the sessions the other rows use.
    assert served - {("POST", "/login"), ("POST", "/logout")} == listed


def test_a_user_without_a_role_is_shown_the_refusal_and_no_figures(callers):
    page = callers["nora"].get(f"/periods/{PERIOD}", headers={"accept": "text/html"})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "nora holds no SOXauto role" in page.text and "soxauto users roles nora --role auditor" in page.text
    assert "20,899.11" not in page.text and "VOUCHERS" not in page.text


def served_routes(app) -> list:
    """The app's routes, those of included routers among them (FastAPI may keep an included
    router as one entry that holds it)."""
    out = []
    for route in app.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += inner.routes  # the routers are included without a prefix of their own
        elif isinstance(route, Mount) or getattr(route, "methods", None):
            out.append(route)
        else:
            raise AssertionError(f"a route of a kind this test does not know: {route!r}")
    return out


def template_of(routes: list, method: str, path: str) -> str:
    """The route template a concrete path matches (``/api/runs/RUN`` -> ``/api/runs/{run_id}``)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in routes:
        if isinstance(route, Mount):
            if path.startswith(route.path + "/"):
                return route.path + "/style.css"
        elif route.matches(scope)[0] == Match.FULL:
            return route.path
    raise AssertionError(f"{method} {path} matches no route of the app")
