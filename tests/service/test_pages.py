"""The dashboard over HTTP: login with a session cookie, CSRF on every form, the pages showing
the close's figures formatted from their decimal strings."""

from __future__ import annotations

from servicekit import PERIOD, client_for, csrf_of, login

from soxauto.service import create_app


def test_pages_need_a_login_and_a_wrong_password_is_refused(world):
    with client_for(create_app(world.config())) as c:
        r = c.get(f"/periods/{PERIOD}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next=/periods/{PERIOD}"
        token = csrf_of(c.get("/login").text)
        bad = c.post("/login", data={"username": "pat", "password": "nope", "csrf": token}, follow_redirects=False)
        assert bad.status_code == 401 and "Unknown user or wrong password." in bad.text
        no_csrf = c.post("/login", data={"username": "pat", "password": "pw-pat"}, headers={"accept": "text/html"})
        assert no_csrf.status_code == 403 and "no valid CSRF token" in no_csrf.text
        ok = login(c, "pat")
        assert ok.status_code == 303 and ok.headers["location"] == f"/periods/{PERIOD}"
        assert "soxauto_session" in c.cookies


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(fresh):
    with client_for(create_app(fresh.config())) as c:
        login(c, "pat")
        url = f"/periods/{PERIOD}/HF_SN/VOUCHERS/signoff"
        assert c.post(url, data={"action": "prepare"}, headers={"accept": "text/html"}).status_code == 403
        assert c.post(url, data={"action": "prepare", "csrf": "x" * 43}).status_code == 403
        assert c.post("/logout", data={}).status_code == 403
        done = c.post(url, data={"action": "prepare", "csrf": csrf_of(c.get("/").text)}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == f"/periods/{PERIOD}/HF_SN/VOUCHERS#signoff"
        page = c.get(f"/periods/{PERIOD}/HF_SN/VOUCHERS").text
        assert "Prepared by <strong>pat</strong>" in page


def test_period_and_line_pages_show_the_exact_figures(world):
    with client_for(create_app(world.config())) as c:
        login(c, "audrey")
        grid = c.get(f"/periods/{PERIOD}").text
        assert "20,899.11 <small>XOF</small>" in grid and "37.32 USD" in grid  # HF_SN VOUCHERS unexplained
        assert grid.count('class="cell-link"') == 14
        line = c.get(f"/periods/{PERIOD}/HF_SN/CUSTOMER_AR").text
        assert "19,625,727.90 XOF" in line and "19,397,317.31 XOF" in line and "-3,746.86 XOF" in line
        assert "<svg" in line and "http://" not in line.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
            "http://www.w3.org", "")  # inline chart, no external reference
        assert "CR_04_HF_SN_202509" in line and "$company_id" in line  # the SQL behind the GL figure
        assert "Your role may read but not sign off." in line
        filtered = c.get(f"/periods/{PERIOD}/HF_SN/CUSTOMER_AR?bridge=NOT_IN_TV").text
        assert filtered.count("<td>NOT_IN_TV</td>") == 2 and "2 items." in filtered
        csv_text = c.get(f"/periods/{PERIOD}/HF_SN/CUSTOMER_AR/items.csv?bridge=NOT_IN_TV").text
        assert csv_text.splitlines()[0] == "entity,period,line,bridge,key,amount_lcy,currency,material"
        assert len(csv_text.splitlines()) == 3
        for url, needle in (("/", f'href="/periods/{PERIOD}"'), ("/evidence?entity=HF_SN", "IPE_07_HF_SN_202509"),
                            ("/evidence/IPE_07_HF_SN_202509", "query.sql"), (f"/periods/{PERIOD}/validation", "IPE_07.tie_out"),
                            ("/audit", "run.finish"), ("/catalog", "Customer balances at cutoff"),
                            ("/catalog/IPE_07", ":company_id"), (f"/periods/{PERIOD}/history", "nothing signed yet")):
            r = c.get(url)
            assert r.status_code == 200 and needle in r.text, url
        verified = c.post("/evidence/IPE_07_HF_SN_202509/verify", data={"csrf": csrf_of(c.get("/evidence").text)})
        assert verified.status_code == 200 and ">valid<" in verified.text and verified.text.count(">ok</span>") >= 13
        assert c.get("/static/style.css").headers["content-type"].startswith("text/css")
