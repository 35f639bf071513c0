"""The report as one self-contained HTML file: inline CSS, inline SVG, no script, nothing
fetched, so it can be mailed, archived and printed as it is.

Every text from the view passes through `escape` (names, references and reasons are typed by
people); only the timeline SVG is inserted as markup, and it escapes its own text.
"""

from __future__ import annotations

from itertools import groupby

from report.dutch import enumerate_nl
from report.timeline_svg import escape
from report.view import ReportView, TrajectorySection

_CSS = """
:root { --ink: #1d1d1b; --muted: #5f6368; --accent: #004f7c; --late: #c0392b; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
  max-width: 1000px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; font-size: 11pt; }
h1 { font-size: 1.55rem; color: var(--accent); border-bottom: 3px solid var(--accent);
  padding-bottom: .3rem; }
h2 { font-size: 1.3rem; color: var(--accent); margin-top: 2.4rem;
  border-bottom: 1px solid #c9d3dd; }
h3 { font-size: 1.05rem; margin: 1.3rem 0 .4rem; }
h4 { font-size: .95rem; margin: .8rem 0 .2rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 1rem; font-size: .92em; }
th, td { border: 1px solid #cfd4da; padding: .3rem .45rem; text-align: left;
  vertical-align: top; }
th { background: #eef2f6; }
tr.late td { background: #fdecea; }
.late-flag { color: #fff; background: var(--late); border-radius: 3px; padding: 0 .35em;
  font-weight: bold; white-space: nowrap; }
.alert { border-left: 5px solid var(--late); background: #fdecea; padding: .5rem .9rem;
  margin: .8rem 0; }
.alert h3 { margin-top: .2rem; color: var(--late); }
dl.facts { display: grid; grid-template-columns: 15rem 1fr; gap: .15rem 1rem; margin: .7rem 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
.lead { font-size: 1.02rem; }
.note { color: var(--muted); font-style: italic; }
figure.timeline { margin: .8rem 0; }
figure.timeline svg { max-width: 100%; height: auto; }
figure.timeline figcaption { color: var(--muted); font-size: .85em; }
ul.events { list-style: none; padding-left: 0; }
ul.events li { display: grid; grid-template-columns: 9.5rem 1fr; gap: 0 .5rem;
  padding: .15rem 0; border-bottom: 1px dotted #d5d5d5; }
ul.events .date { color: var(--muted); }
td.date { white-space: nowrap; }
section.summary table { font-size: .86em; }
.outcome-approve { color: #2e7d32; font-weight: 600; }
.outcome-reject { color: #8b0000; font-weight: 600; }
.outcome-postpone { color: #9a6200; font-weight: 600; }
.outcome-abstain { color: #555; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85em;
  border-top: 1px solid #ccc; padding-top: .4rem; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section.trajectory { break-before: page; }
  h2, h3, h4 { break-after: avoid; }
  tr, .alert, figure, dl.facts { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  td.date { white-space: normal; }
}
"""


def render_html(view: ReportView) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="nl">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(view.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(view.title)}</h1>",
        *(f"<p>{escape(p)}</p>" for p in view.intro),
        "</header>",
        *_summary(view),
        *(line for s in view.sections for line in _section(s, view.events_note)),
        f"<footer>{escape(view.footer)}</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)


def _cells(tag: str, cells: list[str]) -> str:
    """Cells already escaped or built from escaped parts."""
    return "".join(f"<{tag}>{c}</{tag}>" for c in cells)


def _summary(view: ReportView) -> list[str]:
    headers = [
        "Samenwerkingsverband",
        "Vorm",
        "Fase",
        "AV-datum",
        "Ingangsdatum",
        "Openstaande beslissingen",
        "Volgende termijn",
        "Achterstand",
    ]
    out = ['<section class="summary">', "<h2>Overzicht</h2>", "<table>"]
    out.append(f"<thead><tr>{_cells('th', headers)}</tr></thead><tbody>")
    for r in view.summary:
        late = '<span class="late-flag">ja</span>' if r.overdue else "nee"
        css = ' class="late"' if r.overdue else ""
        out.append(
            f'<tr{css}><td><a href="#{escape(r.anchor)}">{escape(r.name)}</a></td>'
            f"<td>{escape(r.kind)}</td><td>{escape(r.phase)}</td>"
            f'<td class="date">{escape(r.av_date)}</td>'
            f'<td class="date">{escape(r.effective_date)}</td><td>{escape(r.pending)}</td>'
            f'<td class="date">{escape(r.next_deadline)}</td><td>{late}</td></tr>'
        )
    out += ["</tbody></table>", "</section>"]
    return out


def _section(s: TrajectorySection, events_note: str) -> list[str]:
    out = [
        f'<section class="trajectory {escape(s.state)}" id="{escape(s.anchor)}">',
        f"<h2>{escape(s.name)}</h2>",
        f'<p class="lead">{escape(s.lead)}</p>',
    ]
    if s.source_note:
        out.append(f'<p class="note">{escape(s.source_note)}</p>')
    if s.overdue:
        out += ['<div class="alert">', "<h3>Achterstand</h3>", "<ul>"]
        for item in s.overdue:
            waiting = (
                f"; wacht op {escape(enumerate_nl(list(item.waiting_for)))}"
                if item.waiting_for
                else ""
            )
            out.append(
                f"<li><strong>{escape(item.title)}</strong> ({escape(item.lane)}): termijn "
                f"{escape(item.due)}, {escape(item.late)} over tijd{waiting}</li>"
            )
        out += ["</ul>", "</div>"]
    out.append('<dl class="facts">')
    out += [f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>" for label, value in s.facts]
    out.append("</dl>")
    out += [
        '<figure class="timeline">',
        s.timeline_svg,
        "<figcaption>Tijdlijn per spoor: stappen als balken, beslissingen en termijnen als "
        "markeringen.</figcaption>",
        "</figure>",
    ]
    out += _decisions(s)
    if s.pending:
        out += ["<h3>Nog te beslissen</h3>", "<ul>"]
        out += [
            f"<li><strong>{escape(p.step)}</strong> (termijn {escape(p.due)}): "
            f"{escape(enumerate_nl(list(p.waiting_for)))}</li>"
            for p in s.pending
        ]
        out.append("</ul>")
    if s.open_steps:
        out += ["<h3>Lopende stappen</h3>", "<table>"]
        out.append(f"<thead><tr>{_cells('th', ['Stap', 'Spoor', 'Sinds', 'Termijn'])}</tr></thead>")
        out.append("<tbody>")
        for o in s.open_steps:
            due = escape(o.due)
            if o.overdue:
                due += ' <span class="late-flag">over tijd</span>'
            row = [escape(o.title), escape(o.lane), escape(o.since), due]
            css = ' class="late"' if o.overdue else ""
            out.append(f"<tr{css}>{_cells('td', row)}</tr>")
        out += ["</tbody></table>"]
    out += ["<h3>Sinds het vorige verslag</h3>", f'<p class="note">{escape(events_note)}</p>']
    if s.events:
        out.append('<ul class="events">')
        out += [
            f'<li><span class="date">{escape(e.on)}</span> {escape(e.text)}</li>' for e in s.events
        ]
        out.append("</ul>")
    else:
        out.append("<p>Geen nieuwe gebeurtenissen.</p>")
    out.append("</section>")
    return out


def _decisions(s: TrajectorySection) -> list[str]:
    if not s.decisions:
        return []
    out = ["<h3>Ontvangen beslissingen</h3>"]
    headers = ["Bestuur", "Beslissing", "Zitting", "Referentie", "Stemming"]
    for step, group in groupby(s.decisions, key=lambda d: d.step):
        out += [f"<h4>{escape(step)}</h4>", "<table>"]
        out.append(f"<thead><tr>{_cells('th', headers)}</tr></thead><tbody>")
        for d in group:
            outcome = escape(d.outcome + (f" ({d.round_label})" if d.round_label else ""))
            row = [
                escape(d.authority),
                f'<span class="outcome-{escape(d.outcome_key.value)}">{outcome}</span>',
                escape(d.session),
                escape(d.reference),
                escape(d.votes or "—"),
            ]
            out.append(f"<tr>{_cells('td', row)}</tr>")
        out.append("</tbody></table>")
    return out
