"""The dashboard over HTTP: login with a session cookie, CSRF on every form, the pages showing
the close's figures formatted from their decimal strings."""

from __future__ import annotations

import re
from decimal import Decimal

from servicekit import PERIOD, client_for, csrf_of, login

from soxauto.service import create_app
from soxauto.service.pages import money


def get_lines(c, world) -> list[dict]:
    """Every line of the period, whole, as the API gives it."""
    rows = c.get(f"/api/results/{PERIOD}?per_page=100", headers=world.bearer("audrey")).json()["rows"]
    return [c.get(f"/api/results/{PERIOD}/{r['entity']}/{r['line']}", headers=world.bearer("audrey")).json()["line"]
            for r in rows]


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
        lines = get_lines(c, world)
        for ln in lines:  # the figures the reconciliation stored, formatted from their decimal strings
            assert (f"unresolved {money(ln['unresolved_lcy'])} {ln['currency']} · {money(ln['unresolved_usd'])} USD"
                    in grid), ln["line"]
            assert f"resolved {money(ln['resolved_lcy'])} {ln['currency']}" in grid
        assert grid.count("auto-certified NO_OPEN_ITEMS") == sum(1 for x in lines if x["auto_certification"] == "NO_OPEN_ITEMS") > 0
        assert grid.count('class="cell-link"') == 14
        # a line with open items and timing items: its figures, bridges with their nature, item states and ageing
        pre = next(x for x in lines if x["entity"] == "HF_SN" and Decimal(x["unresolved_lcy"]) != 0 and
                   any(v["nature"] == "timing" and v["item_count"] for v in x["bridges"].values()))
        name = pre["line"]
        line = c.get(f"/periods/{PERIOD}/HF_SN/{name}").text
        assert f"{money(pre['gl_amount'])} XOF" in line and f"{money(pre['tv_amount'])} XOF" in line
        for b, v in pre["bridges"].items():
            n = v["item_count"]
            assert f"{b} <small>({n} item{'' if n == 1 else 's'} · {v['nature']})</small></th><td class=\"num\">" \
                   f"{money(v['amount_lcy'])} XOF" in line
        assert f"<th>Resolved (explained)</th><td class=\"num\">{money(pre['resolved_lcy'])} XOF" in line
        assert f"{money(pre['unresolved_lcy'])} XOF<br><small>{money(pre['unresolved_usd'])} USD</small>" in line
        ri = pre["reconciling_items"]
        assert (f"{ri['items']} items: {ri['open']} open ({ri['resolved']} resolved, {ri['unresolved']} unresolved), "
                f"{ri['cleared']} cleared, {ri['pending']} pending, {ri['uncleared']} uncleared") in line
        assert "<svg" in line and "http://" not in line.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
            "http://www.w3.org", "")  # inline chart, no external reference
        assert "CR_04_HF_SN_202509" in line and "$company_id" in line  # the SQL behind the GL figure
        assert "Your role may read but not sign off." in line
        timing_id = next(b for b, v in pre["bridges"].items() if v["nature"] == "timing" and v["item_count"])
        timing = pre["bridges"][timing_id]["item_count"]
        filtered = c.get(f"/periods/{PERIOD}/HF_SN/{name}?bridge={timing_id}").text
        assert filtered.count(f"<td>{timing_id}</td>") == timing and f"{timing} item{'' if timing == 1 else 's'}." in filtered
        assert filtered.count('<td>timing</td><td><span class="badge ') == timing  # each with its state
        # the ageing is of the line's open items whatever the filter shows: buckets by age, the manual key apart
        items = c.get(f"/api/results/{PERIOD}/HF_SN/{name}/items", headers=world.bearer("audrey")).json()["rows"]
        open_items = [i for i in items if Decimal(i["open_lcy"]) != 0]
        assert len(open_items) == ri["open"] > 0
        want = {label: [i for i in open_items if i["age_days"] is not None and low <= i["age_days"] <= high]
                for label, low, high in (("0–30", 0, 30), ("31–60", 31, 60), ("61–90", 61, 90), ("over 90", 91, 10**6))}
        want["no age"] = [i for i in open_items if i["age_days"] is None]
        ageing = filtered.split('id="ageing"', 1)[1].split("</table>", 1)[0]
        cells = re.findall(r'<td class="num">([^<]*)</td>', ageing)
        assert cells[:5] == [str(len(v)) for v in want.values()]
        assert cells[5:10] == [money(sum((Decimal(i["open_lcy"]) for i in v), Decimal(0))) for v in want.values()]
        csv_text = c.get(f"/periods/{PERIOD}/HF_SN/{name}/items.csv?bridge={timing_id}").text
        assert csv_text.splitlines()[0] == ("entity,period,line,bridge,key,amount_lcy,currency,material,nature,state,"
                                            "movement_lcy,cleared_lcy,open_lcy,first_cutoff,window_end,age_days,"
                                            "disposition,disposition_id,disposition_period")
        assert len(csv_text.splitlines()) == timing + 1
        booked = next(x for x in lines if x["proposed_journals"])  # a line with a booking to propose
        page = c.get(f"/periods/{PERIOD}/{booked['entity']}/{booked['line']}").text
        journals = page.split('id="journals"', 1)[1].split("</section>", 1)[0]
        for j in booked["proposed_journals"]:
            assert (f'<tr class="journal"><td>{j["bridge"]}</td><td>{j["source"]}</td><td>{j["debit"]}</td><td>{j["credit"]}'
                    f'</td><td class="num">{money(j["amount_lcy"])}</td><td>{j["description"]}</td>'
                    f'<td class="num">{len(j["items"])}</td></tr>') in journals
        home = c.get("/").text
        statuses = [x["status"] for x in lines]
        unresolved_items = sum(x["reconciling_items"]["unresolved"] for x in lines)
        assert f"{statuses.count('RECONCILED')} reconciled" in home and f"{statuses.count('INVESTIGATE')} to investigate" in home
        assert f"{unresolved_items} open item{'' if unresolved_items == 1 else 's'} without a disposition" in home
        for url, needle in (("/", f'href="/periods/{PERIOD}"'), ("/evidence?entity=HF_SN", "IPE_07_HF_SN_202509"),
                            ("/evidence/IPE_07_HF_SN_202509", "query.sql"), (f"/periods/{PERIOD}/validation", "IPE_07.tie_out"),
                            ("/audit", "run.finish"), ("/catalog", "Customer balances at cutoff"),
                            ("/catalog/IPE_07", ":company_id"), (f"/periods/{PERIOD}/history", "prepare (auto-certified NO_OPEN_ITEMS)"),
                            (f"/periods/{PERIOD}/HF_SN", 'href="/periods/2025-09/HF_SN/VOUCHERS"'),
                            ("/audit?refused=1", "refused actions and failed logins")):
            r = c.get(url)
            assert r.status_code == 200 and needle in r.text, url
        verified = c.post("/evidence/IPE_07_HF_SN_202509/verify", data={"csrf": csrf_of(c.get("/evidence").text)})
        assert verified.status_code == 200 and ">valid<" in verified.text and verified.text.count(">ok</span>") >= 13
        assert c.get("/static/style.css").headers["content-type"].startswith("text/css")


def auditor():
    from soxauto.auth import Principal

    return Principal("audrey", frozenset({"auditor"}), "password")


def render_page(name: str, **context) -> str:
    """A dashboard template rendered on its own, from hand-made line dicts (tests/reports/handmade.py)."""
    from soxauto.service.pages import templates

    return templates.env.get_template(name).render(who=auditor(), csrf="x" * 43, **context)


def test_line_page_names_every_reason_nature_state_ageing_and_journal():
    from reports import handmade

    from soxauto.reports.ageing import ageing
    from soxauto.signoff.gate import offer

    line = handmade.vouchers()
    items = [r | {"amount_lcy": str(r["amount_lcy"])} for r in handmade.items_rows() if r["line"] == "VOUCHERS"]
    page = render_page("line.html", period="2025-09", run={"id": handmade.RUN_ID}, line=line, chart="", narrative="n",
                       items=items, items_error=None, bridge="", material="", ageing=ageing(items),
                       bridges=[*line["bridges"], "UNEXPLAINED"], sources=[], state=None, history=[], locked=None,
                       csv_query="", offer=offer(auditor(), line, None, False))
    flat = re.sub(r"\s+", " ", page)
    assert "<th>Status</th><td>INVESTIGATE · UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED</td>" in flat
    assert "EXPIRED_NOT_WRITTEN_OFF <small>(2 items · booking)</small>" in flat
    assert ("<th>Unresolved <small>(tie-out difference 1,000.00 included)</small></th><td class=\"num\">2,026,000.00 NGN"
            "<br><small>1,227.88 USD</small>") in flat
    assert "<th>Resolved (explained)</th><td class=\"num\">1,210,000.00 NGN" in flat
    rows = {m[0]: m[1:] for m in re.findall(
        r"<tr><td>[A-Z_]+</td><td><code>([^<]+)</code></td><td class=\"num\">[^<]*</td><td>[^<]*</td><td>([a-z]*)</td>"
        r"<td>(?:<span class=\"badge \w+\">)?([a-z]*)(?:</span>)?</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td>"
        r"<td>([^<]*)</td><td class=\"num\">([^<]*)</td><td>([^<]*)", flat)}
    assert rows["V-003"] == ("timing", "uncleared", "15,000.00", "25,000.00", "2025-10-15", "30", "")
    assert rows["V-002"] == ("timing", "pending", "10,000.00", "0.00", "2025-11-14", "0", "")
    assert rows["V-010"] == ("booking", "uncleared", "0.00", "0.00", "2025-11-14", "0", "")
    assert rows["V-021"] == ("exception", "", "", "-5,000.00", "", "61", "adjust")
    assert rows["manual"] == ("exception", "", "", "120,000.00", "", "", "explained")
    ageing_table = flat.split('id="ageing"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', ageing_table) == [
        "1", "0", "1", "1", "1", "25,000.00", "0.00", "-5,000.00", "2,000,000.00", "120,000.00",
        "25,000.00", "0.00", "0.00", "2,000,000.00", "0.00"]
    journals = re.findall(r'<tr class="journal"><td>([A-Z_]+)</td><td>(\w+)(?: <small>([^<]*)</small>)?</td><td>(\d+)</td>'
                          r'<td>(\d+)</td><td class="num">([^<]*)</td><td>([^<]*)</td><td class="num">(\d+)</td>', flat)
    assert journals == [
        ("EXPIRED_NOT_WRITTEN_OFF", "booking", "", "18412", "71050", "900,000.00", "Write off expired vouchers to breakage income", "1"),
        ("UNEXPLAINED", "adjust", "d-21", "18412", "13011", "5,000.00", "Reverse duplicate refund", "1")]
    assert sum(Decimal(r["open_lcy"]) for r in items if not r["disposition"]) + Decimal(line["tie_out_difference_lcy"]) == \
        Decimal(line["unresolved_lcy"])


def test_period_grid_names_reasons_and_leaves_usd_empty_in_error():
    from reports import handmade

    lines = [handmade.customer_ar(), handmade.vouchers(), handmade.packages()]
    page = render_page("period.html", period="2025-09", run={"id": handmade.RUN_ID, "user": "closer", "status": "completed",
                                                             "started_at": "t0", "finished_at": "t1"},
                       entities=["EC_NG"], names=[ln["line"] for ln in lines], grid={("EC_NG", ln["line"]): ln for ln in lines},
                       states={}, locked=None, progress={"failed": []},
                       summary={"RECONCILED": 1, "INVESTIGATE": 1, "ERROR": 1})
    cells = {m[0]: re.sub(r"\s+", " ", m[1]) for m in re.findall(r'href="/periods/2025-09/EC_NG/(\w+)" class="cell-link">(.*?)</a>',
                                                                   page, re.S)}
    assert "unresolved 2,026,000.00 NGN · 1,227.88 USD" in cells["VOUCHERS"]
    assert "UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED" in cells["VOUCHERS"]
    assert "unresolved 300.00 NGN · — USD" in cells["PACKAGES"] and "INPUT_TEST_FAILED" in cells["PACKAGES"]
    assert "auto-certified NO_OPEN_ITEMS" in cells["CUSTOMER_AR"] and "resolved 7,500.00 NGN" in cells["CUSTOMER_AR"]
