"""A requirement checklist an applicant can keep: hints for what is missing, and the checklist as
Markdown and CSV, each row with the guide's wording, its clause, and the description's evidence."""

from __future__ import annotations

import csv
import io

from pilotkg.matching.base import ATTENTION, CoverageReport, RequirementCheck

STATUS_ZH = {"violated": "不满足", "missing": "未体现", "uncertain": "待确认", "addressed": "已体现"}
STATUS_MARK = {"violated": "⚠", "missing": "✗", "uncertain": "?", "addressed": "✓"}
KIND_ZH = {"capability": "能力", "means": "技术手段", "threshold": "指标"}
CSV_COLUMNS = (
    "状态 status",
    "要求 requirement",
    "指南原文 guide wording",
    "出处 clause",
    "编号 id",
    "类型 kind",
    "要求值 required",
    "陈述值 stated",
    "描述中的依据 evidence",
    "建议 hint",
    "置信度 confidence",
)


def hint_for(r: RequirementCheck) -> str:
    """What evidence would satisfy a requirement the description does not (clearly) show."""
    shown = r.display or r.text
    if r.status == "violated":
        return f"所述数值不满足要求（{r.required}）：请核实，或说明如何达到要求。"
    if r.status == "addressed":
        return ""
    if r.kind == "threshold":
        return f"写明项目的实测或设计数值，并与“{r.required or shown}”对照。"
    if r.kind == "means":
        return f"说明采用了所列技术中的哪些（{'、'.join(r.means_listed)}），各用在哪个环节。"
    if r.status == "uncertain":
        return f"描述与“{shown}”相关但不够明确：写明具体做法和达到的效果。"
    return f"用一两句话写明项目如何做到“{shown}”：用什么装备或系统、部署在哪里、达到什么效果。"


def _evidence(r: RequirementCheck) -> str:
    return " / ".join(e.text for e in r.evidence)


def checklist_markdown(report: CoverageReport, source: str = "") -> str:
    """The checklist as Markdown, in order of attention; ``source`` names the guide."""
    lines = [f"# 要求核对清单：{report.direction}. {report.direction_name}", ""]
    if source:
        lines += [f"依据：{source}", ""]
    lines += [f"**小结：{report.summary_zh}**", ""]
    for status in ATTENTION:
        rows = [r for r in report.requirements if r.status == status]
        if not rows:
            continue
        lines += [f"## {STATUS_MARK[status]} {STATUS_ZH[status]}（{len(rows)}）", ""]
        for r in rows:
            lines.append(f"- **{r.display or r.text}**")
            lines.append(f"  - 指南原文：“{r.text}”（{r.clause or r.section}，{r.id}）")
            if r.kind == "threshold" and (r.required or r.stated):
                lines.append(f"  - 要求：{r.required or '—'}；描述中：{r.stated or '未说明'}")
            if r.kind == "means" and r.means_listed:
                used = set(r.means_used)
                lines.append("  - 所列技术：" + "、".join(f"**{m}**" if m in used else m for m in r.means_listed))
            if r.evidence:
                lines.append(f"  - 描述中的依据：“{_evidence(r)}”")
            hint = r.hint_zh or hint_for(r)
            if hint:
                lines.append(f"  - 建议：{hint}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def checklist_csv(report: CoverageReport) -> str:
    """The checklist as CSV (one row per requirement, in order of attention)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    rank = {s: i for i, s in enumerate(ATTENTION)}
    for r in sorted(report.requirements, key=lambda x: rank[x.status]):
        w.writerow(
            [
                STATUS_ZH[r.status],
                r.display or r.text,
                r.text,
                r.clause or r.section,
                r.id,
                KIND_ZH.get(r.kind, r.kind),
                r.required or "",
                r.stated or "",
                _evidence(r),
                r.hint_zh or hint_for(r),
                f"{r.confidence:.2f}",
            ]
        )
    return buf.getvalue()
