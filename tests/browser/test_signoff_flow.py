"""The dashboard in a real browser: Playwright driving Debian's Chromium against the app served by
uvicorn on loopback. A preparer logs in, opens the period, drills into a line and prepares it; a
reviewer logs in and approves it; the sign-off, and the lock of the now fully approved period,
show. Screenshots of the main pages go to tests/artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "service"))
from servicekit import ENTITIES, PERIOD, build_world  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent.parent / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LINES = ("CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS", "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED")
LAST = ("HF_SN", "VOUCHERS")  # the line the browser signs off; every other line is approved beforehand


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from soxauto.auth import Principal
    from soxauto.close.store import RunStore
    from soxauto.service import create_app
    from soxauto.signoff import SignOffs

    world = build_world(tmp_path_factory.mktemp("browser-world"))
    runs = RunStore(world.config().run_store)
    signs = SignOffs(runs)
    pat, rita = Principal("pat", frozenset({"preparer"}), "cli"), Principal("rita", frozenset({"reviewer"}), "cli")
    for entity in ENTITIES:
        for line in LINES:
            if (entity, line) != LAST:
                signs.prepare(pat, PERIOD, entity, line, "prepared in setup")
                signs.approve(rita, PERIOD, entity, line, "approved in setup")
    runs.close()
    # The socket is bound here and handed to uvicorn: no window in which a parallel test worker
    # could take a port found free.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(world.config()), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start within 30 s"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test-deps.sh to install Debian's Chromium for the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(browser, base: str, user: str):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{base}/periods/{PERIOD}")
    assert page.url.startswith(f"{base}/login?next=")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", f"pw-{user}")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base}/periods/{PERIOD}")
    return page


def test_prepare_then_approve_locks_the_period(server, browser):
    entity, line = LAST
    pat = log_in(browser, server, "pat")
    assert pat.locator("header .who span").inner_text().startswith("pat")
    cell = pat.locator(f"a[href='/periods/{PERIOD}/{entity}/{line}']")
    assert "20,899.11" in cell.inner_text() and "unsigned" in cell.inner_text()
    shot(pat, "period")
    cell.click()
    pat.wait_for_url(f"{server}/periods/{PERIOD}/{entity}/{line}")
    assert pat.locator("table.figures").inner_text().count("XOF") >= 4
    assert pat.locator(".chart svg").count() == 1
    shot(pat, "line")
    pat.fill("#signoff input[name=comment]", "bridges agreed to the voucher ledger")
    pat.click("#signoff button[value=prepare]")
    pat.wait_for_url(f"{server}/periods/{PERIOD}/{entity}/{line}#signoff")
    assert "prepared" in pat.locator("#signoff h2").inner_text()
    assert pat.locator("#signoff button[value=approve]").count() == 0  # a preparer is offered no approval
    pat.context.close()

    rita = log_in(browser, server, "rita")
    rita.goto(f"{server}/periods/{PERIOD}/{entity}/{line}")
    rita.fill("#signoff input[name=comment]", "reviewed")
    rita.click("#signoff button[value=approve]")
    rita.wait_for_url(f"{server}/periods/{PERIOD}/{entity}/{line}#signoff")
    heading = rita.locator("#signoff h2").inner_text()
    assert "approved" in heading and "period locked" in heading
    meta = rita.locator("#signoff p.meta").inner_text()
    assert "Prepared by pat" in meta and "Reviewed by rita" in meta
    history = rita.locator("#signoff table").inner_text()
    assert "prepare\tpat\tbridges agreed to the voucher ledger" in history and "approve\trita\treviewed" in history
    shot(rita, "line-approved")
    rita.goto(f"{server}/periods/{PERIOD}")
    assert "locked" in rita.locator("h1").inner_text()
    assert "every line of every entity is approved" in rita.locator(".lockpanel").inner_text()
    assert rita.locator("td.cell .badge:has-text('approved')").count() == 14
    shot(rita, "period-locked")
    for path, name in (("/evidence?entity=HF_SN", "evidence"), ("/audit", "audit"), ("/catalog/IPE_08", "catalog-item"),
                       (f"/periods/{PERIOD}/validation", "validation"), (f"/periods/{PERIOD}/HF_SN", "entity")):
        rita.goto(server + path)
        shot(rita, name)
    rita.goto(f"{server}/evidence/IPE_08_HF_SN_202509")
    rita.click("button:has-text('Verify')")
    rita.wait_for_load_state()
    assert "valid" in rita.locator("h1 .badge").inner_text()
    shot(rita, "evidence-verified")
    rita.context.close()
