"""An SVG timeline of one trajectory: a band per lane, steps as bars, decisions and deadlines
as markers, vertical lines for the general assembly, the effective date and today.

Pure string building (no drawing library, nothing fetched), so the HTML report stays one
self-contained file. Every piece of text goes through `escape`: step titles and authority
names come from templates and people, and one unescaped `<` would break the whole document.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from report.dutch import (
    LANE_LABELS,
    LANE_ORDER,
    MONTHS_SHORT,
    OUTCOME_LABELS,
    STEP_STATUS_LABELS,
    format_date,
)
from schemas.common import Lane, Outcome
from schemas.trajectory import StepStatus, StepView, TrajectoryStatus

WIDTH = 960
PLOT_X0 = 110.0  # left of it: the lane labels
PLOT_X1 = 944.0
TOP = 30.0  # room for the labels of the vertical lines
TRACK_H = 16.0
BAR_H = 10.0
LANE_PAD = 5.0
AXIS_H = 22.0
LEGEND_H = 22.0
MIN_SPAN_DAYS = 30
MARK_SPACING = 9.0  # px between decision markers of one step on one day

COLORS = {
    "done": "#3b6ea5",
    "open": "#a9cbea",
    "overdue": "#c0392b",
    "rejected": "#e67e22",
    "stopped": "#b5b5b5",
    "deadline": "#222222",
    "today": "#d35400",
    "line": "#666666",
    "grid": "#e6e6e6",
    "band": "#f5f5f5",
}
OUTCOME_COLORS = {
    Outcome.APPROVE: "#2e7d32",
    Outcome.REJECT: "#8b0000",
    Outcome.POSTPONE: "#e69f00",
    Outcome.ABSTAIN: "#7f7f7f",
}

# Characters XML 1.0 forbids even when escaped; register text is not guaranteed free of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """Text safe inside an XML/HTML element or a double- or single-quoted attribute."""
    return html.escape(_NOT_XML.sub("", text), quote=True)


@dataclass(frozen=True)
class DecisionMark:
    step_id: str
    on: date
    outcome: Outcome
    label: str  # tooltip: who decided what, on which step


@dataclass(frozen=True)
class _Bar:
    steps: tuple[StepView, ...]  # several when finished steps share their days (see _merge)
    start: date
    end: date  # inclusive: a bar covers whole days
    kind: str  # key of COLORS

    @property
    def lane(self) -> Lane:
        return self.steps[0].lane


class _Scale:
    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.days = max((last - first).days + 1, MIN_SPAN_DAYS)

    def x(self, day: date) -> float:
        """Left edge of `day`; the day itself spans to x(day + 1)."""
        return PLOT_X0 + (day - self.first).days / self.days * (PLOT_X1 - PLOT_X0)

    def mid(self, day: date) -> float:
        return (self.x(day) + self.x(day + timedelta(days=1))) / 2


def _f(value: float) -> str:
    return f"{value:.1f}"


def build_timeline_svg(
    status: TrajectoryStatus,
    *,
    as_of: date,
    decisions: Iterable[DecisionMark] = (),
    show_today: bool = True,
    show_assembly: bool = True,
) -> str:
    """`show_assembly`: draw the general assembly's line (False for a trajectory that has no
    assembly, whose planned AV date only anchors a board decision)."""
    marks = list(decisions)
    bars = _bars(status, as_of)
    scale = _scale(status, as_of, bars, marks, show_today, show_assembly)
    tracks = _pack(bars)
    parts, track_y, lane_top, bottom = _lanes(tracks)
    body: list[str] = []
    body += _month_grid(scale, TOP, bottom)
    for lane in LANE_ORDER:
        for track in tracks.get(lane, []):
            for bar in track:
                body.append(_bar(bar, scale, track_y[bar.steps[0].id]))
    body += _deadlines(status, scale, track_y)
    body += _decision_marks(marks, scale, track_y, lane_top)
    body += _vertical_lines(status, scale, as_of, show_today, show_assembly, bottom)
    height = bottom + AXIS_H + LEGEND_H
    title = f"Tijdlijn van het traject {status.cooperation_name}"
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_f(height)}" '
            f'width="{WIDTH}" height="{_f(height)}" role="img" aria-label="{escape(title)}" '
            'font-family="Helvetica, Arial, sans-serif" font-size="11" class="timeline">',
            f"<title>{escape(title)}</title>",
            *parts,
            *body,
            *_legend(bottom + AXIS_H + 14),
            "</svg>",
        ]
    )


# --- layout -------------------------------------------------------------------------------


def _lanes(
    tracks: dict[Lane, list[list[_Bar]]],
) -> tuple[list[str], dict[str, float], dict[Lane, float], float]:
    """Lane bands with their labels, every step's track position, and the bottom edge."""
    parts: list[str] = []
    track_y: dict[str, float] = {}  # step id -> top of its track
    lane_top: dict[Lane, float] = {}
    y = TOP
    for index, lane in enumerate(LANE_ORDER):
        lane_tracks = tracks.get(lane, [[]])  # an empty lane keeps the height of one track
        height = len(lane_tracks) * TRACK_H + 2 * LANE_PAD
        lane_top[lane] = y
        if index % 2 == 0:
            parts.append(_rect(0, y, WIDTH, height, COLORS["band"]))
        parts.append(
            f'<text x="6" y="{_f(y + height / 2 + 4)}" font-weight="bold">'
            f"{escape(LANE_LABELS[lane])}</text>"
        )
        for number, track in enumerate(lane_tracks):
            for bar in track:
                for step in bar.steps:
                    track_y[step.id] = y + LANE_PAD + number * TRACK_H
        y += height
    return parts, track_y, lane_top, y


def _bars(status: TrajectoryStatus, as_of: date) -> list[_Bar]:
    stop = status.finished_on or as_of
    bars = []
    for step in status.steps:
        if step.opened_on is None:
            continue  # never started: nothing to draw yet
        if step.status is StepStatus.DONE:
            end, kind = step.completed_on or step.opened_on, "done"
        elif step.status is StepStatus.OPEN:
            late = step.due is not None and as_of > step.due
            end, kind = as_of, "overdue" if late else "open"
        elif step.status is StepStatus.REJECTED:
            end, kind = step.completed_on or stop, "rejected"
        else:  # cancelled by an abort, or compensated after it
            end, kind = step.completed_on or stop, "stopped"
        bars.append(_Bar((step,), step.opened_on, max(end, step.opened_on), kind))
    return _merge(bars)


def _merge(bars: list[_Bar]) -> list[_Bar]:
    """Finished steps of one lane with the very same days become one bar (one tooltip lists
    them): a chain of steps done on one day would otherwise stack into a column of ticks."""
    result: list[_Bar] = []
    where: dict[tuple[Lane, date, date], int] = {}  # index in result of a finished bar
    for bar in bars:
        key = (bar.lane, bar.start, bar.end)
        if bar.kind == "done" and key in where:
            first = result[where[key]]
            result[where[key]] = _Bar((*first.steps, *bar.steps), bar.start, bar.end, "done")
            continue
        if bar.kind == "done":
            where[key] = len(result)
        result.append(bar)
    return result


def _scale(
    status: TrajectoryStatus,
    as_of: date,
    bars: list[_Bar],
    marks: list[DecisionMark],
    show_today: bool,
    show_assembly: bool,
) -> _Scale:
    days = [status.started_on, status.effective_date]
    if show_assembly and status.planned_av_date is not None:
        days.append(status.planned_av_date)
    days += [b.start for b in bars] + [b.end for b in bars] + [m.on for m in marks]
    days += [s.due for s in status.steps if s.status is StepStatus.OPEN and s.due is not None]
    if status.finished_on is not None:
        days.append(status.finished_on)
    if show_today:
        days.append(as_of)
    return _Scale(min(days) - timedelta(days=3), max(days) + timedelta(days=7))


def _pack(bars: list[_Bar]) -> dict[Lane, list[list[_Bar]]]:
    """Bars of one lane that overlap in time go on separate tracks (first fit)."""
    lanes: dict[Lane, list[list[_Bar]]] = {}
    for bar in sorted(bars, key=lambda b: b.start):  # stable: template order within a day
        tracks = lanes.setdefault(bar.lane, [])
        for track in tracks:
            if track[-1].end < bar.start:
                track.append(bar)
                break
        else:
            tracks.append([bar])
    return lanes


# --- pieces ---------------------------------------------------------------------------------


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" fill="{fill}"{extra}/>'


def _bar(bar: _Bar, scale: _Scale, top: float) -> str:
    x0 = scale.x(bar.start)
    width = max(scale.x(bar.end + timedelta(days=1)) - x0, 2.0)
    state = "over tijd" if bar.kind == "overdue" else STEP_STATUS_LABELS[bar.steps[0].status]
    titles = "; ".join(step.title for step in bar.steps)
    days = format_date(bar.start)
    if bar.end != bar.start:
        days += f" tot {format_date(bar.end)}"
    tip = f"{titles}: {days} ({state})"
    stroke = ' stroke="#3b6ea5" stroke-width="0.8"' if bar.kind == "open" else ""
    y = top + (TRACK_H - BAR_H) / 2
    return (
        f'<g class="step {bar.kind}">{_rect(x0, y, width, BAR_H, COLORS[bar.kind], stroke)}'
        f"<title>{escape(tip)}</title></g>"
    )


def _deadlines(status: TrajectoryStatus, scale: _Scale, track_y: dict[str, float]) -> list[str]:
    out = []
    for step in status.steps:
        if step.status is not StepStatus.OPEN or step.due is None or step.id not in track_y:
            continue
        x = scale.x(step.due + timedelta(days=1))  # due by the end of that day
        top = track_y[step.id]
        tip = f"Termijn: {step.title} — {format_date(step.due)}"
        out.append(
            f'<g class="deadline"><line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" '
            f'y2="{_f(top + TRACK_H)}" stroke="{COLORS["deadline"]}" stroke-width="2"/>'
            f'<polygon points="{_f(x - 4)},{_f(top)} {_f(x + 4)},{_f(top)} {_f(x)},{_f(top + 5)}" '
            f'fill="{COLORS["deadline"]}"/><title>{escape(tip)}</title></g>'
        )
    return out


def _shape(outcome: Outcome, cx: float, cy: float) -> str:
    fill = OUTCOME_COLORS[outcome]
    edge = 'stroke="#ffffff" stroke-width="1"'
    if outcome is Outcome.APPROVE:
        return f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4.5" fill="{fill}" {edge}/>'
    if outcome is Outcome.REJECT:
        corners = ((cx, cy - 5.5), (cx + 5.5, cy), (cx, cy + 5.5), (cx - 5.5, cy))
        points = " ".join(f"{_f(px)},{_f(py)}" for px, py in corners)
        return f'<polygon points="{points}" fill="{fill}" {edge}/>'
    if outcome is Outcome.POSTPONE:
        points = f"{_f(cx - 5)},{_f(cy + 4.5)} {_f(cx + 5)},{_f(cy + 4.5)} {_f(cx)},{_f(cy - 5)}"
        return f'<polygon points="{points}" fill="{fill}" {edge}/>'
    return _rect(cx - 4, cy - 4, 8, 8, fill, f" {edge}")


def _decision_marks(
    marks: list[DecisionMark],
    scale: _Scale,
    track_y: dict[str, float],
    lane_top: dict[Lane, float],
) -> list[str]:
    # Decisions of one step on one day (councils often meet the same evening) are spread
    # sideways around that day so that none hides another; the tooltip keeps the exact date.
    together: dict[tuple[str, date], int] = {}
    for mark in marks:
        together[(mark.step_id, mark.on)] = together.get((mark.step_id, mark.on), 0) + 1
    placed: dict[tuple[str, date], int] = {}
    out = []
    for mark in marks:
        key = (mark.step_id, mark.on)
        index = placed.get(key, 0)
        placed[key] = index + 1
        shift = (index - (together[key] - 1) / 2) * MARK_SPACING
        top = track_y.get(mark.step_id, lane_top[Lane.APPROVALS] + LANE_PAD)
        shape = _shape(mark.outcome, scale.mid(mark.on) + shift, top + TRACK_H / 2)
        tip = f"{format_date(mark.on)} — {mark.label}"
        out.append(
            f'<g class="decision {OUTCOME_LABELS[mark.outcome]}">{shape}'
            f"<title>{escape(tip)}</title></g>"
        )
    return out


def _vertical_lines(
    status: TrajectoryStatus,
    scale: _Scale,
    as_of: date,
    show_today: bool,
    show_assembly: bool,
    bottom: float,
) -> list[str]:
    lines: list[tuple[date, str, str, str]] = [
        (status.effective_date, "ingang", COLORS["line"], "4 3"),
    ]
    if show_assembly and status.planned_av_date is not None:
        lines.append((status.planned_av_date, "AV", COLORS["line"], "4 3"))
    if status.finished_on is not None:
        label = "gestopt" if status.abort_reason is not None else "einde"
        lines.append((status.finished_on, label, COLORS["line"], ""))
    if show_today:
        lines.append((as_of, "vandaag", COLORS["today"], ""))
    out = []
    label_rows: list[float] = [-1e9, -1e9]  # right edge of the last label in each row
    for day, label, color, dash in sorted(lines, key=lambda item: item[0]):
        x = scale.mid(day)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        width = len(label) * 6.0 + 4
        row = 0 if label_rows[0] < x - width / 2 else 1  # two rows so close labels never overlap
        label_rows[row] = x + width / 2
        out.append(
            f'<g class="marker"><line x1="{_f(x)}" y1="{_f(TOP - 4)}" x2="{_f(x)}" '
            f'y2="{_f(bottom)}" stroke="{color}" stroke-width="1.5"{dashed}/>'
            f'<text x="{_f(x)}" y="{_f(11 + row * 11)}" text-anchor="middle" fill="{color}">'
            f"{escape(label)}</text><title>{escape(f'{label}: {format_date(day)}')}</title></g>"
        )
    return out


def _month_grid(scale: _Scale, top: float, bottom: float) -> list[str]:
    last = scale.first + timedelta(days=scale.days)
    months = []
    cursor = date(scale.first.year, scale.first.month, 1)
    while cursor <= last:
        if cursor >= scale.first:
            months.append(cursor)
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    step = 1 if len(months) <= 18 else 3 if len(months) <= 48 else 12
    out = [
        f'<line x1="{_f(PLOT_X0)}" y1="{_f(bottom)}" x2="{_f(PLOT_X1)}" y2="{_f(bottom)}" '
        f'stroke="{COLORS["line"]}"/>'
    ]
    for index, month in enumerate(months[::step]):
        x = scale.x(month)
        name = MONTHS_SHORT[month.month - 1]
        label = f"{name} {month.year}" if month.month == 1 or index == 0 else name
        if x + len(label) * 6.2 > WIDTH:  # too close to the right edge to be read whole
            label = ""
        out.append(
            f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(bottom + 4)}" '
            f'stroke="{COLORS["grid"]}"/>'
            f'<text x="{_f(x + 2)}" y="{_f(bottom + 15)}" fill="#444444">{escape(label)}</text>'
        )
    return out


def _legend(y: float) -> list[str]:
    items: list[tuple[str, str]] = [
        (_rect(0, -8, 14, 8, COLORS["done"]), "afgerond"),
        (_rect(0, -8, 14, 8, COLORS["open"], ' stroke="#3b6ea5" stroke-width="0.8"'), "lopend"),
        (_rect(0, -8, 14, 8, COLORS["overdue"]), "over tijd"),
        (_rect(0, -8, 14, 8, COLORS["stopped"]), "stopgezet"),
        (
            f'<line x1="7" y1="-10" x2="7" y2="0" stroke="{COLORS["deadline"]}" stroke-width="2"/>',
            "termijn",
        ),
    ]
    items += [(_shape(outcome, 6, -4), label) for outcome, label in OUTCOME_LABELS.items()]
    out = []
    x = PLOT_X0
    for swatch, label in items:
        out.append(
            f'<g transform="translate({_f(x)},{_f(y)})">{swatch}'
            f'<text x="18" y="0">{escape(label)}</text></g>'
        )
        x += 18 + len(label) * 6.2 + 16
    return out
