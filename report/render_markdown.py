"""The report as Markdown (CommonMark with GitHub tables), for mail and the intranet wiki.

Every text from the view is escaped: a reference such as `<script>` must stay visible text,
and a `|` in a name must not split a table cell. The timeline is only in the HTML version.
"""

from __future__ import annotations

import re
from itertools import groupby

from report.dutch import enumerate_nl
from report.view import ReportView, TrajectorySection

# Backslash escapes for the characters that start markup inline; CommonMark turns `\<` into a
# literal `<`, so no HTML tag can come through.
_MARKUP = re.compile(r"([\\`*_\[\]<>|~#])")


def md(text: str) -> str:
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Cells are escaped by the caller (some carry bold markup on purpose)."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def render_markdown(view: ReportView) -> str:
    lines = [f"# {md(view.title)}", ""]
    for paragraph in view.intro:
        lines += [md(paragraph), ""]
    lines += ["## Overzicht", ""]
    lines += _table(
        (
            "Samenwerkingsverband",
            "Vorm",
            "Fase",
            "AV-datum",
            "Ingangsdatum",
            "Openstaande beslissingen",
            "Volgende termijn",
            "Achterstand",
        ),
        [
            (
                md(r.name),
                md(r.kind),
                md(r.phase),
                md(r.av_date),
                md(r.effective_date),
                md(r.pending),
                md(r.next_deadline),
                "**ja**" if r.overdue else "nee",
            )
            for r in view.summary
        ],
    )
    for section in view.sections:
        lines += _section(section, view.events_note)
    lines += ["---", "", f"*{md(view.footer)}*", ""]
    return "\n".join(lines)


def _section(s: TrajectorySection, events_note: str) -> list[str]:
    lines = [f"## {md(s.name)}", "", md(s.lead), ""]
    if s.source_note:
        lines += [f"*{md(s.source_note)}*", ""]
    if s.overdue:
        lines += ["> **Achterstand**", ">"]
        for item in s.overdue:
            waiting = (
                f"; wacht op {md(enumerate_nl(list(item.waiting_for)))}" if item.waiting_for else ""
            )
            lines.append(
                f"> - **{md(item.title)}** ({md(item.lane)}): termijn {md(item.due)}, "
                f"{md(item.late)} over tijd{waiting}"
            )
        lines.append("")
    lines += [f"- **{md(label)}:** {md(value)}" for label, value in s.facts]
    lines.append("")
    if s.decisions:
        lines += ["### Ontvangen beslissingen", ""]
        for step, group in groupby(s.decisions, key=lambda d: d.step):
            lines += [f"**{md(step)}**", ""]
            lines += _table(
                ("Bestuur", "Beslissing", "Zitting", "Referentie", "Stemming"),
                [
                    (
                        md(d.authority),
                        md(d.outcome + (f" ({d.round_label})" if d.round_label else "")),
                        md(d.session),
                        md(d.reference),
                        md(d.votes or "—"),
                    )
                    for d in group
                ],
            )
    if s.pending:
        lines += ["### Nog te beslissen", ""]
        for p in s.pending:
            lines.append(
                f"- **{md(p.step)}** (termijn {md(p.due)}): {md(enumerate_nl(list(p.waiting_for)))}"
            )
        lines.append("")
    if s.open_steps:
        lines += ["### Lopende stappen", ""]
        lines += _table(
            ("Stap", "Spoor", "Sinds", "Termijn"),
            [
                (
                    md(o.title),
                    md(o.lane),
                    md(o.since),
                    md(o.due) + (" — **over tijd**" if o.overdue else ""),
                )
                for o in s.open_steps
            ],
        )
    lines += ["### Sinds het vorige verslag", "", f"*{md(events_note)}*", ""]
    if s.events:
        lines += [f"- {md(e.on)}: {md(e.text)}" for e in s.events]
    else:
        lines.append("Geen nieuwe gebeurtenissen.")
    lines.append("")
    return lines
