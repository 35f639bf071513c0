"""The "Stand van zaken": the Dutch status report of the inkanteling trajectories for the
Midwestoverleg, in Markdown and self-contained HTML (`starter.py report`).

data.py loads the trajectories, their events and decisions from PostgreSQL (live.py adds
live statuses from Temporal when it can); progress.py, decisions.py and events.py interpret
them; view.py turns everything into Dutch sentences and tables; render_markdown.py,
render_html.py and timeline_svg.py only lay that out; generate.py writes and records it.
"""
