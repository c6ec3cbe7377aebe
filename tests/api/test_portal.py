"""The portal page in a real browser (system Chromium driven by Playwright) against a real server
running the real model (the session's ``built_settings``: graph + index built with multilingual-e5-small).
Screenshots are kept in ``artifacts/`` (portal.png, portal-390.png, portal-1280.png, apply-390.png) for a
person to look at.
"""

from __future__ import annotations

import csv
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


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(params=[DESKTOP], ids=["1280"])
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return dict(request.param)


@pytest.fixture
def page(browser: Browser, base_url: str, viewport: dict[str, int]) -> Iterator[Page]:
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)  # type: ignore[arg-type]
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
    assert "少于30分钟" in row.locator(".values .required").inner_text()
    assert "45分钟" in row.locator(".stated").inner_text()
    # rows lead with what to fix: every violated row comes before every other row
    statuses = [r.get_attribute("data-status") for r in panel.locator(".req-row").all()]
    assert statuses.index("violated") == 0 and statuses.count("violated") == 1
    assert statuses == sorted(statuses, key=["violated", "missing", "uncertain", "addressed"].index)
    summary = panel.locator("#checklist-summary").inner_text()
    assert re.fullmatch(r"1 处不满足，\d+ 项未体现(，\d+ 项待确认)?，\d+ 项已体现", summary), summary
    # rows read as requirements: the head the clause shares, with the guide's own words beside it
    shared = panel.locator(".req-row[data-id='d08-e06'] .req-text").inner_text()
    assert shared == "有效提高火险预警的科学性、时效性"
    assert panel.locator(".req-row[data-id='d08-e06'] .guide-words").inner_text() == "有效提高火险预警"
    # missing rows say what evidence would satisfy them
    missing = panel.locator(".req-row[data-status='missing']")
    assert missing.count() >= 1 and "建议" in missing.first.locator(".hint-line").inner_text()
    # honest numbers: a percentage, no raw similarity
    cards = page.locator(".direction-result")
    assert all(re.fullmatch(r"把握 \d+%", c.locator(".pct").inner_text()) for c in cards.all())
    assert "相似度" not in page.locator("#match-results").inner_text()

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


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"], indirect=True)
def test_violated_row_is_in_the_first_screen_of_results(page: Page, viewport: dict[str, int]) -> None:
    page.fill("#match-text", FIRE)
    page.get_by_role("button", name="匹配").click()
    row = page.locator("#checklist-panel .req-row[data-status='violated']")
    row.wait_for()
    page.wait_for_timeout(200)  # the scroll to the results
    box = row.bounding_box()
    assert box is not None
    # the whole row is inside the viewport, without the person scrolling
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
    assert page.locator("#verdict").bounding_box()["y"] >= -1  # type: ignore[index]  # sub-pixel rounding
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-{viewport['width']}.png"))


def test_out_of_scope_card_names_the_nearest_domain(page: Page) -> None:
    page.focus("#match-text")
    page.keyboard.type(OFF_TOPIC)
    page.keyboard.press("Control+Enter")
    verdict = page.locator("#verdict.out")
    verdict.wait_for()
    assert "不属于本次试点示范的十六个方向" in verdict.inner_text()
    domain = verdict.locator(".domain").inner_text()
    assert len(domain) >= 2 and domain in verdict.inner_text()
    assert page.locator(".direction-result.weak").count() >= 1
    assert page.locator("#checklist-panel").count() == 0  # no checklist for a text out of scope


def test_checklist_downloads_as_markdown_and_csv(page: Page, tmp_path: Path) -> None:
    page.fill("#match-text", FIRE)
    page.get_by_role("button", name="匹配").click()
    page.locator("#checklist-panel[data-direction='8']").wait_for()
    with page.expect_download() as md_info:
        page.locator("#dl-md").click()
    md_path = tmp_path / "checklist.md"
    md_info.value.save_as(md_path)
    md = md_path.read_text(encoding="utf-8")
    assert md_info.value.suggested_filename.endswith(".md")
    assert md.index("不满足") < md.index("未体现") < md.index("已体现")
    assert "报警响应时间少于30分钟" in md and "45分钟" in md
    assert "三、（八）森林草原火灾监测预警系统·示范要求" in md  # the guide's clause
    with page.expect_download() as csv_info:
        page.locator("#dl-csv").click()
    csv_path = tmp_path / "checklist.csv"
    csv_info.value.save_as(csv_path)
    rows = list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0].startswith("状态") and rows[1][0] == "不满足" and rows[1][4] == "d08-r06"
    assert len(rows) == 1 + 14
    # the print view shows the checklist, not the form
    page.emulate_media(media="print")
    assert not page.locator("#match-form").is_visible()
    assert page.locator("#checklist-panel .req-row").first.is_visible()


def test_search_has_a_no_results_state(page: Page) -> None:
    page.get_by_role("link", name="快速搜索").click()
    page.fill("#search-q", "披萨外卖")
    page.keyboard.press("Enter")
    empty = page.locator("#no-results")
    empty.wait_for()
    assert "没有找到" in empty.inner_text()
    assert page.locator("#search-results li.hit").count() == 0


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"], indirect=True)
def test_before_you_apply_and_consortium_precheck(page: Page, viewport: dict[str, int]) -> None:
    page.get_by_role("link", name="申报须知").click()
    deadlines = page.locator("#apply-deadlines")
    deadlines.locator("time").first.wait_for()
    text = deadlines.inner_text()
    for day in ("2021年3月31日", "2021年9月30日", "2021年3月20日", "2021年9月20日"):
        assert day in text
    assert "010-68205374" in page.locator("#apply-contacts").inner_text()
    assert "联合单位不超过8家" in page.locator("#apply-rules").inner_text()
    assert "各地推荐示范工程项目的数量原则上每个方向不超过5个" in page.locator("#apply-rules").inner_text()
    chips = page.locator("#apply-characteristics .chips li").all_inner_texts()
    assert chips == ["技术先进性", "应用实效性", "模式创新性", "示范带动性"]
    # nine partners: refused, citing the clause
    page.fill("#pc-lead", "测试甲装备有限公司")
    page.fill("#pc-region", "四川省")
    page.fill("#pc-partners", "\n".join(f"测试伙伴{i}，服务提供商" for i in range(1, 10)))
    page.get_by_role("button", name="预检").click()
    verdict = page.locator("#precheck-verdict")
    verdict.wait_for()
    assert "不符合" in verdict.inner_text()
    assert "9 家联合单位" in verdict.inner_text()
    assert "三、（一）申报资格「联合单位不超过 8 家」" in verdict.locator(".cite").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"apply-{viewport['width']}.png"), full_page=True)
    # eight are allowed
    page.fill("#pc-partners", "\n".join(f"测试伙伴{i}，服务提供商" for i in range(1, 9)))
    page.get_by_role("button", name="预检").click()
    page.locator("#precheck-verdict.in").wait_for()


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
