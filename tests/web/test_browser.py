"""The dashboard in headless Chromium (Debian's package, driven by Playwright): sign-in and
sign-out, every page without console errors or outside requests, the full flow from import to
audit, isolation by URL, keyboard use and tablet width. With CTIP_UPDATE_SCREENSHOTS=1 the
screenshots go to docs/images/ for the user guide."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ctip.hub.runtime import Hub
from ctip.web import workspaces
from tests.hub.conftest import PASSWORD, World
from tests.web.conftest import ROOT, add_records, many_people, person

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
SHOTS = os.environ.get("CTIP_UPDATE_SCREENSHOTS") == "1"


@dataclass
class Tab:
    page: Any
    context: Any
    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return response

    def shot(self, name: str, tmp: Path, locator: str | None = None) -> None:
        target = ROOT / "docs" / "images" if SHOTS else tmp
        target.mkdir(parents=True, exist_ok=True)
        path = str(target / f"dashboard-{name}.png")
        if locator:
            self.page.locator(locator).first.screenshot(path=path)
        else:
            self.page.screenshot(path=path, full_page=False)


@pytest.fixture(scope="module")
def scene(
    web_world: World, web_client: TestClient, web_hub: Hub, web_workspace_path: Path
) -> dict[str, Any]:
    """Agency A imports records through the API and has a workspace; B has a few records."""
    a, b = web_world.a, web_world.b
    ids = add_records(web_client, a["admin"].token, many_people(400), collection="intake-2031")
    flagged = add_records(
        web_client,
        a["admin"].token,
        [
            person(
                external_id="CASE-SHARE-1",
                first_name="Ayodele",
                last_name="Example",
                email="ayodele@example.org",
            )
        ],
    )
    add_records(web_client, b["admin"].token, many_people(15, seed=9))
    workspaces.attach(web_hub, a.name, web_workspace_path)
    return {"ids": ids, "share_me": flagged[0]}


@pytest.fixture
def tabs(browser: Any, live_server: str) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(width: int = 1280, height: int = 900) -> Tab:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        tab = Tab(page, context, live_server)
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: tab.errors.append(str(e)))
        page.on(
            "request",
            lambda r: tab.outside.append(r.url) if not r.url.startswith(live_server) else None,
        )
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.context.close()


def wait_until(page: Any, condition: Any, timeout: float = 30.0) -> None:
    """Poll from Python (the pages' CSP rightly forbids the eval that wait_for_function
    uses); waiting through Playwright lets it process the page's events meanwhile."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        page.wait_for_timeout(100)


def sign_in(tab: Tab, email: str, password: str = PASSWORD) -> None:
    tab.go("/login")
    tab.page.fill("#email", email)
    tab.page.fill("#password", password)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_load_state("load")
    assert "/login" not in tab.page.url, tab.page.content()[:2000]


def test_sign_in_and_sign_out(
    scene: dict[str, Any], web_world: World, tabs: Any, tmp_path: Path
) -> None:
    tab = tabs()
    tab.go("/cases")
    assert "/login?next=/cases" in tab.page.url
    tab.shot("sign-in", tmp_path)
    # keyboard only: the email field has focus; type, tab to the password, press Enter
    tab.page.keyboard.type(web_world.a["admin"].email)
    tab.page.keyboard.press("Tab")
    tab.page.keyboard.type(PASSWORD)
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url(re.compile(r".*/cases$"))
    assert web_world.a.name in tab.page.inner_text("header")
    tab.page.click("[data-testid=sign-out]")
    tab.page.wait_for_url(re.compile(r".*/login\?signed_out=1"))
    assert "You are signed out" in tab.page.inner_text("main")
    tab.go("/overview")
    assert "/login" in tab.page.url
    assert tab.errors == [] and tab.outside == []


PAGES = {
    "overview": "/overview",
    "trends": "/trends?by=exploitation",
    "routes": "/routes",
    "cases": "/cases",
    "sharing": "/sharing",
    "linkage": "/linkage",
    "audit": "/audit",
    "admin": "/admin",
    "ads": "/ads",
    "ads-clusters": "/ads/clusters",
    "account": "/account",
}


def test_every_page_renders_without_console_errors(
    scene: dict[str, Any], web_world: World, tabs: Any, tmp_path: Path
) -> None:
    tab = tabs()
    sign_in(tab, web_world.a["admin"].email)
    for name, path in PAGES.items():
        response = tab.go(path)
        assert response.status == 200, (path, response.status)
        assert tab.page.locator("h1").count() == 1
        tab.shot(name, tmp_path)
    tab.go(f"/cases/{scene['ids'][0]}")
    tab.shot("case", tmp_path)
    # the map: the choropleth at once, the hotspots after the background job (the page reloads)
    tab.go("/map")
    assert tab.page.locator("#world-map svg.map").count() == 1
    tab.page.wait_for_selector("#hotspot-map svg", timeout=120_000)
    assert tab.page.locator("#forecast-map svg").count() == 1
    tab.shot("map", tmp_path)
    tab.shot("map-hotspots", tmp_path, "section[aria-labelledby=m-hot]")
    slider = tab.page.locator("#m-year")
    slider.focus()
    tab.page.keyboard.press("ArrowLeft")
    wait_until(tab.page, lambda: "year=" in tab.page.url)
    title = tab.page.locator("#world-map svg").first.get_attribute("aria-label") or ""
    assert re.search(r", 20\d\d$", title), title
    # the network graph: drawn on the canvas, hover and select work
    tab.go("/ads/networks")
    tab.page.wait_for_selector(".graph[data-ready=true]", timeout=60_000)
    nodes = tab.page.evaluate("window.ctipGraph.nodes")
    assert nodes > 20
    canvas = tab.page.locator(".graph canvas")
    canvas.scroll_into_view_if_needed()
    position = tab.page.evaluate("window.ctipGraph.position(0)")
    box = canvas.bounding_box()
    tab.page.mouse.click(box["x"] + position[0], box["y"] + position[1])
    tab.page.wait_for_selector(".graph-info strong")
    assert "linked to" in tab.page.inner_text(".graph-info")
    tab.page.locator(".graph canvas").focus()
    tab.page.keyboard.press("+")
    tab.page.keyboard.press("ArrowLeft")
    tab.shot("ads-networks", tmp_path, "section[aria-labelledby=g-title]")
    assert tab.errors == [], tab.errors
    assert tab.outside == [], tab.outside


def test_full_flow_import_map_share_audit(
    scene: dict[str, Any], web_world: World, tabs: Any, tmp_path: Path
) -> None:
    a = tabs()
    sign_in(a, web_world.a["investigator"].email)
    # imported data is there
    a.go("/cases?external_id=CASE-SHARE-1")
    a.page.click("#cases a")
    a.page.wait_for_selector("#share-form")
    # hotspot map of the workspace
    map_tab = tabs()
    sign_in(map_tab, web_world.a["admin"].email)
    map_tab.go("/map?days=180")
    map_tab.page.wait_for_selector("#hotspot-map svg", timeout=120_000)
    assert "hot" in map_tab.page.inner_text("#m-hot + *, section[aria-labelledby=m-hot]")
    # share the record with B, granting names only
    a.page.click("#share-form summary")
    a.page.select_option("#s-recipient", label=web_world.b.name)
    a.page.fill("#s-purpose", "joint investigation 2031/17")
    a.page.fill("#s-expires", "2099-12-31")
    a.page.check("#g-names")
    a.page.click("#share-form button[type=submit]")
    a.page.wait_for_selector(".notice")
    assert "Shared" in a.page.inner_text(".notice")
    assert web_world.b.name in a.page.inner_text("#case-shares")
    a.shot("case-shared", tmp_path, "section[aria-labelledby=share-title]")
    # B sees the record with the granted name and nothing else personal
    b = tabs()
    sign_in(b, web_world.b["investigator"].email)
    b.go("/cases?scope=shared")
    assert "CASE-SHARE-1" in b.page.inner_text("#cases")
    b.page.click("#cases a:text('CASE-SHARE-1')")
    text = b.page.inner_text("main")
    assert "Ayodele" in text and "Example" in text
    assert "ayodele@example.org" not in text
    withheld = b.page.inner_text("section[aria-labelledby=redacted-title]")
    assert "email" in withheld and "identity_number" in withheld
    b.shot("shared-record", tmp_path)
    # the audit log shows both sides
    auditor = tabs()
    sign_in(auditor, web_world.a["auditor"].email)
    auditor.go("/audit")
    log = auditor.page.inner_text("#audit")
    assert "share.offer" in log
    assert "cases.read-personal" in log and web_world.b.name in log
    auditor.shot("audit", tmp_path)
    b_admin = tabs()
    sign_in(b_admin, web_world.b["admin"].email)
    b_admin.go("/audit?action=cases.read")
    assert web_world.a.name in b_admin.page.inner_text("#audit")
    for tab in (a, map_tab, b, auditor, b_admin):
        assert tab.errors == [], tab.errors
        assert tab.outside == []


def test_isolation_by_url(scene: dict[str, Any], web_world: World, tabs: Any) -> None:
    a = tabs()
    sign_in(a, web_world.a["admin"].email)
    a.go("/map?days=90")
    job = a.page.locator("[data-job]")
    job_id = job.get_attribute("data-job") if job.count() else None
    b = tabs()
    sign_in(b, web_world.b["admin"].email)
    secret = scene["ids"][1]
    response = b.go(f"/cases/{secret}")
    assert response.status == 404
    assert "Not found" in b.page.inner_text("main")
    assert "Person" not in b.page.inner_text("main")
    if job_id:
        assert b.go(f"/jobs/{job_id}").status == 404
    b.go("/ads")
    assert "No workspace is attached to your agency" in b.page.inner_text("main")
    b.go("/cases")
    assert secret not in b.page.content()


def test_tablet_width_and_keyboard(
    scene: dict[str, Any], web_world: World, tabs: Any, tmp_path: Path
) -> None:
    tab = tabs(768, 1024)
    sign_in(tab, web_world.a["admin"].email)
    for path in ("/overview", "/cases", "/trends", "/sharing", "/admin"):
        tab.go(path)
        overflow = tab.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, (path, overflow)
    tab.go("/overview")
    tab.shot("overview-tablet", tmp_path)
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.className") == "skip"
    tab.page.keyboard.press("Enter")
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.closest('main') !== null")
    assert focused
    unlabelled = tab.page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length"""
    )
    assert unlabelled == 0
    assert tab.errors == []
