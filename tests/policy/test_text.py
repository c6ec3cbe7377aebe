from __future__ import annotations

from pathlib import Path

import jieba

from pilotkg.policy import load_corpus
from pilotkg.policy.text import (
    Tokenizer,
    bm25_doc_vector,
    bm25_query_vector,
    display_text,
    normalize_mapped,
    prepare_query,
    split_clauses,
    split_sentences,
    to_simplified,
)

WRAPPED = "针对矿山企业可能发生的矿压、瓦斯、岩爆（冲击地压）、水害、中毒窒息、尾矿库漫顶与\n\n溃坝、边坡坍塌等灾害。"


def test_wrap_inside_word_is_joined_and_mapped() -> None:
    m = normalize_mapped(WRAPPED)
    assert "尾矿库漫顶与溃坝" in m.text
    s = m.text.index("漫顶与溃坝")
    a, b = m.span(s, s + len("漫顶与溃坝"))
    assert WRAPPED[a:b] == "漫顶与\n\n溃坝"


def test_nfkc_and_spaces() -> None:
    raw = "（一）申报资格：牵头单位 1 家，截止 2021 年 3 月"
    m = normalize_mapped(raw)
    assert m.text == "(一)申报资格:牵头单位1家,截止2021年3月"
    s = m.text.index("1家")
    a, b = m.span(s, s + 2)
    assert raw[a:b] == "1 家"


def test_titles_and_headings_are_not_joined() -> None:
    raw = "一、矿山安全应用试点示范项目\n\n（一）矿山安全生产智能监测预警系统。\n\n附件 2\n\n第一条 为推动……"
    assert normalize_mapped(raw).text.count("\n\n") == 3


def test_ocr_dashes() -> None:
    assert "“天-空-地-井-海”" in normalize_mapped("建立“天一空一地一井一海”等多手段").text
    assert "一一对应" in normalize_mapped("一一对应").text


def test_traditional_to_simplified_keeps_offsets() -> None:
    t = "礦山安全管理數位化平台：以GIS地理資訊系統整合"
    s = to_simplified(t)
    assert len(s) == len(t) and s.startswith("矿山安全管理")
    q = prepare_query(t)
    assert "地理资讯" in q.text or "地理资讯" in s


def test_sentences_and_clauses_offsets() -> None:
    t = "第一句话。第二句，有逗号；第三句！\n最后一句没有句号"
    ss = split_sentences(t)
    assert [s.text for s in ss] == ["第一句话。", "第二句，有逗号；", "第三句！", "最后一句没有句号"]
    assert all(t[s.start : s.end] == s.text for s in ss)
    long = "甲" * 100 + "，" + "乙" * 100
    assert len(split_sentences(long, max_chars=160)) == 2
    assert split_clauses("运用A、B，实现C（含D，E）；F") == [(0, 5), (6, 15), (16, 17)]


def test_tokenizer_is_private_and_uses_domain_terms() -> None:
    before = jieba.lcut("冲击地压监测", HMM=False)
    tok = Tokenizer(["冲击地压"])
    assert "冲击地压" in tok.tokens("冲击地压监测预警")
    assert jieba.lcut("冲击地压监测", HMM=False) == before  # global jieba untouched
    assert "iot" in tok.tokens("基于NB-IoT与5G的监测") or "nb-iot" in tok.tokens("基于NB-IoT与5G的监测")
    assert "的" not in tok.tokens("矿山的安全")


def test_bm25_vectors() -> None:
    ids, vals = bm25_doc_vector(["瓦斯", "瓦斯", "监测"], avg_len=3)
    assert len(ids) == 2 and ids == sorted(ids)
    assert vals[ids.index(min(ids))] > 0
    qi, qv = bm25_query_vector(["瓦斯", "瓦斯"])
    assert len(qi) == 1 and qv == [1.0]


# --- display text: the corpus's own form, PDF wraps repaired ------------------------------------------


def test_display_text_keeps_the_corpus_punctuation_and_paragraphs() -> None:
    corpus = load_corpus(Path(__file__).resolve().parents[2] / "corpus")
    a10 = next(a for a in corpus.articles if a.number == 10)
    assert "，" in a10.display and "（应急）" in a10.display and "," not in a10.display
    assert "," in a10.text  # matching keeps the normalised form
    a12 = next(a for a in corpus.articles if a.number == 12)
    lines = a12.display.split("\n")
    assert len(lines) == 4 and lines[1].startswith("（一）项目遴选") and lines[3].startswith("(三) 评价认定")
    assert "试点应用项目。" in lines[2]  # "试点应\n\n用项目" was a PDF wrap
    d4 = corpus.direction(4)
    assert d4.effect is not None and "\n\n" in d4.effect.text
    assert "尾矿库漫顶与溃坝" in d4.effect.display


def test_display_text_joins_wraps_but_not_paragraphs() -> None:
    wrapped = "一二三四五六七八九十一二三四五六七八九十一二三四五六七，八九十一二三\n\n四五六。"
    assert display_text(wrapped) == "一二三四五六七八九十一二三四五六七八九十一二三四五六七，八九十一二三四五六。"
    assert display_text("第一段结束。\n\n第二段。") == "第一段结束。\n第二段。"
    assert display_text("试点应用 1 年后") == "试点应用1年后"


def test_writeup_headings_title_and_negation() -> None:
    from pilotkg.policy import headings, is_negated, title_end

    text = (
        "项目名称：某县森林火灾监测\n一、项目背景\n人工瞭望为主。\n（二）建设内容：\n部署摄像机。\n"
        "【预期成效】报警提速。"
    )
    assert [h.text for h in headings(text)] == ["项目背景", "建设内容", "预期成效"]
    assert text[headings(text)[0].start :].startswith("一、项目背景")
    assert title_end(text) == len("项目名称：某县森林火灾监测")
    assert title_end("• 微震在线监测\n• 瓦斯实时数据") == 0  # a list item is not a title
    assert title_end("森林草原火灾监测预警系统。") == 0  # one line: no title above a text
    assert is_negated("暂未接入物联网") and is_negated("不与井下监测系统联网") and is_negated("has no GIS")
    assert not is_negated("未来三年推广") and not is_negated("报警时间不超过10分钟")


def test_surrogate_code_points_are_found_and_replaced_one_for_one() -> None:
    from pilotkg.policy import without_surrogates
    from pilotkg.policy.text import to_simplified

    assert without_surrogates("火\ud800灾") == "火\ufffd灾" and without_surrogates("火灾😀") == "火灾😀"
    assert without_surrogates("火\ud800灾\udfff") == "火\ufffd灾\ufffd"
    # OpenCC cannot encode a surrogate: the conversion keeps offsets and no longer raises
    assert to_simplified("森林\ud800監測") == "森林\ufffd监测"
