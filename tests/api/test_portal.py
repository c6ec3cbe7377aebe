"""The portal page in a real browser (system Chromium driven by Playwright) against a real server
running the real model (the session's ``built_settings``: graph + index built with multilingual-e5-small).
A screenshot is kept at ``artifacts/portal.png`` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from pilotkg.api.app import create_app
from pilotkg.settings import Settings
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

FIRE = (
    "本项目面向林区火灾源头防控，综合运用卫星遥感、无人机、物联网和图像识别技术，"
    "对森林草原火险因子进行实时采集和分析研判。系统实现火情快速识别和准确定位，"
    "灾情通过5G网络实时传输到指挥中心，报警响应时间45分钟。"
)
OFF_TOPIC = "今天中午食堂的红烧肉很好吃，下午我们去体育馆打篮球，晚上看了一场电影。"


@pytest.fixture(scope="module")
def base_url(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A private copy of the session's data dir: the server opens its own store and index, and must
    # not contend for locks with the session-wide Pilot other tests hold on the original.
    data = tmp_path_factory.mktemp("portal") / "data"
    shutil.copytree(built_settings.data_dir, data)
    settings = built_settings.model_copy(update={"data_dir": data})
    with serve_in_thread(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    problems: list[str] = []
    origin = urlparse(base_url).netloc

    def offsite(req: Request) -> None:
        if urlparse(req.url).netloc not in (origin, ""):
            problems.append(f"request to {req.url}")

    pg.on("request", offsite)
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    # The browser logs every 4xx fetch as a console error; those are tested answers, not faults.
    pg.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text}")
            if m.type == "error" and "responded with a status of 4" not in m.text
            else None
        ),
    )
    pg.set_default_timeout(60_000)
    pg.goto(base_url + "/")
    yield pg
    ctx.close()
    assert problems == []


def test_match_checklist_and_screenshot(page: Page) -> None:
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.fill("#match-text", FIRE)
    page.get_by_role("button", name="匹配").click()

    first = page.locator(".direction-result").first
    first.wait_for()
    assert first.get_attribute("data-number") == "8"
    assert "森林草原火灾监测预警系统" in first.inner_text()
    assert page.locator("#verdict").inner_text().startswith("最可能的方向")
    width = page.locator(".direction-result .bar > span").first.evaluate("e => e.style.width")
    assert re.fullmatch(r"\d+%", width) and int(width[:-1]) > 0

    first.click()
    panel = page.locator("#checklist-panel[data-direction='8']")
    panel.wait_for()
    assert first.get_attribute("aria-pressed") == "true"

    violated = panel.locator(".req-row[data-status='violated']")
    assert violated.count() >= 1
    row = violated.filter(has_text="30分钟")
    assert row.count() == 1
    assert row.locator(".icon").inner_text() == "⚠"
    assert "少于30分钟" in row.locator(".values").inner_text()
    assert "45分钟" in row.locator(".stated").inner_text()

    addressed = panel.locator(".req-row[data-status='addressed']")
    assert addressed.count() >= 1
    assert addressed.first.locator(".icon").inner_text() == "✓"
    marks = addressed.locator("mark.evidence")
    assert marks.count() >= 1
    assert marks.first.inner_text() in FIRE  # the highlight is the user's own sentence
    full = page.locator("#user-text")
    assert full.inner_text() == FIRE  # highlighting never alters the text
    assert full.locator("mark").count() >= 1

    means = panel.locator(".means li.used")
    assert means.count() >= 1 and "卫星遥感" in " ".join(means.all_inner_texts())

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "portal.png"), full_page=True)


def test_out_of_scope_verdict_by_keyboard(page: Page) -> None:
    page.focus("#match-text")
    page.keyboard.type(OFF_TOPIC)
    page.keyboard.press("Control+Enter")
    verdict = page.locator("#verdict")
    verdict.wait_for()
    assert "不属于任何方向" in verdict.inner_text()
    assert page.locator(".direction-result.weak").count() >= 1


def test_empty_text_is_refused_in_the_page(page: Page) -> None:
    page.fill("#match-text", "   ")
    page.get_by_role("button", name="匹配").click()
    assert "请先输入" in page.locator("#match-status").inner_text()
    assert page.locator(".direction-result").count() == 0


def test_browse_directions_by_group_and_articles(page: Page) -> None:
    page.get_by_role("link", name="浏览").click()
    page.locator("#direction-16").wait_for(state="attached")
    assert page.locator("#browse-directions .group-block").count() == 4
    assert page.locator("#browse-directions details[id^='direction-']").count() == 16
    assert page.locator("#browse-articles details[id^='article-']").count() == 19
    d8 = page.locator("#direction-8")
    d8.locator("summary").focus()
    page.keyboard.press("Enter")  # <details> opens from the keyboard
    assert d8.get_attribute("open") is not None
    assert "报警响应时间少于30分钟" in d8.inner_text()


def test_quick_search_links_into_browse(page: Page) -> None:
    page.get_by_role("link", name="快速搜索").click()
    page.fill("#search-q", "报警响应时间")
    page.keyboard.press("Enter")
    hits = page.locator("#search-results li.hit")
    hits.first.wait_for()
    ids = [hits.nth(i).get_attribute("data-id") for i in range(hits.count())]
    assert "requirement/d08-r06" in ids
    hits.first.locator("a").click()
    assert page.url.split("#")[1].startswith("browse/")
    opened = page.locator("details.item[open]")
    opened.first.wait_for()
    assert opened.count() >= 1


def test_sparql_page_runs_an_example_query(page: Page) -> None:
    page.get_by_role("link", name="SPARQL").click()
    examples = page.locator("#query-list button")
    examples.first.wait_for()
    assert examples.count() >= 1
    page.locator("#query-list button[data-name='directions-per-group.rq']").click()
    table = page.locator("#sparql-results table.results")
    table.wait_for()
    assert table.locator("tbody tr").count() == 4
    assert "行" in page.locator("#sparql-status").inner_text()
    # A malformed query shows the parser's message, in the page, without breaking it.
    page.fill("#sparql-text", "SELECT ?x WHERE { ?x ?y }")
    page.get_by_role("button", name="运行").click()
    status = page.locator("#sparql-status.error")
    status.wait_for()
    assert "SPARQL" in status.inner_text()


def test_scenarios_beside_the_directions_and_the_scenario_note(page: Page) -> None:
    page.click("header nav a[data-view='browse']")
    page.locator("#scenario-10").wait_for()
    assert page.locator("#browse-scenarios details.scenario").count() == 10
    assert page.locator("#browse-scenarios .badge.uncovered").count() == 5
    assert "无2021年方向" in page.locator("#scenario-10 summary").inner_text()
    # the cross-walk from both sides: direction 8 names its scenario, the scenario links its directions
    page.locator("#direction-8 summary").click()
    assert "「森林草原火灾」" in page.locator("#direction-8 .crosswalk-line").inner_text()
    page.locator("#scenario-5 summary").click()
    links = page.locator("#scenario-5 .crosswalk a")
    assert links.first.get_attribute("href") == "#browse/direction/8" and links.count() == 2

    page.click("header nav a[data-view='match']")
    page.fill("#match-text", "输电线路覆冰后，除冰机器人沿导线行走敲除冰层，防止冻雨天气断线倒塔。")
    page.get_by_role("button", name="匹配").click()
    note = page.locator("#scenario-note")
    note.wait_for()
    assert "「冰雪灾害」" in note.inner_text()
    assert note.locator("a").first.get_attribute("href") == "#browse/scenario/4"
