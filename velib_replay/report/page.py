"""The report as one HTML file that opens offline: plotly's JavaScript is inlined from the installed package.

Charts are plotly figures (zoom, hover, a dropdown per postcode, a slider for the map); the map is a plain
scatter of longitude and latitude, as a geographic map would fetch its base layer from the internet. The
latest snapshot's numbers are also plain HTML tables, so they can be read (and checked) without JavaScript.
"""

from __future__ import annotations

import html
import math
from functools import cache
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from velib_replay.report.data import (
    TOTAL_FIELDS,
    Health,
    ReportData,
    latest_by_postcode,
    network_totals,
    postcode_label,
    postcode_of,
    shown_fields,
)
from velib_replay.units import format_duration

LABELS = {
    "bikes_available": "bikes",
    "mechanical": "mechanical",
    "ebike": "e-bikes",
    "docks_available": "free docks",
    "stations": "stations",
}
# One colour per count, in the report's charts, its PNGs and the dashboard alike (Okabe-Ito: colour-blind safe).
PALETTE = {
    "bikes_available": "#0072B2",
    "mechanical": "#E69F00",
    "ebike": "#009E73",
    "docks_available": "#CC79A7",
    "stations": "#555555",
}
_CONFIG = {"displaylogo": False, "responsive": True}


@cache
def inline_plotly() -> str:
    """plotly.js as an inline script: the page needs no network (no CDN, no MathJax, no map tiles)."""
    return f"<script>{get_plotlyjs()}</script>"


def _div(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)


def network_figure(data: ReportData) -> go.Figure:
    totals = network_totals(data.rows)
    times = list(totals)
    figure = go.Figure(
        [
            go.Scatter(x=times, y=[t[name] for t in totals.values()], name=LABELS[name], line_color=PALETTE[name])
            for name in TOTAL_FIELDS[1:]
        ]
    )
    return figure.update_layout(title="Whole network over time", xaxis_title="snapshot time (UTC)", height=420)


def postcodes_figure(data: ReportData) -> go.Figure:
    """Bikes available per postcode; the dropdown shows one postcode, or all of them."""
    postcodes = data.postcodes
    series = {postcode: [] for postcode in postcodes}
    timed = [row for row in data.rows if row.get("snapshot_time") is not None]
    for row in sorted(timed, key=lambda row: row["snapshot_time"]):
        series[postcode_of(row)].append((row["snapshot_time"], row.get("bikes_available")))
    figure = go.Figure(  # plotly reads a subset of HTML in names and labels: a postcode is shown as text
        [
            go.Scatter(x=[t for t, _ in points], y=[b for _, b in points], name=html.escape(postcode_label(pc)))
            for pc, points in series.items()
        ]
    )
    buttons = [{"label": "all postcodes", "method": "update", "args": [{"visible": [True] * len(postcodes)}]}]
    buttons += [
        {
            "label": html.escape(postcode_label(pc)),
            "method": "update",
            "args": [{"visible": [other == pc for other in postcodes]}],
        }
        for pc in postcodes
    ]
    return figure.update_layout(
        title="Bikes available per postcode",
        height=480,
        updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}],
    )


def map_figure(data: ReportData) -> go.Figure:
    """One point per station at its latitude and longitude, coloured by bikes available at the slider's time."""
    times = list(data.bikes)
    latest = data.bikes[times[-1]]
    mean_lat = sum(station.lat for station in data.stations) / len(data.stations)
    scale = max((b for values in data.bikes.values() for b in values if b is not None), default=1)
    figure = go.Figure(
        go.Scatter(
            x=[station.lon for station in data.stations],
            y=[station.lat for station in data.stations],
            mode="markers",
            text=[f"{html.escape(station.name)} ({station.code})" for station in data.stations],
            hovertemplate="%{text}<br>%{marker.color} bikes<extra></extra>",
            marker={"color": latest, "colorscale": "Viridis", "cmin": 0, "cmax": scale, "size": 6},
            marker_colorbar_title="bikes",
        )
    )
    steps = [
        {"label": time[11:16], "method": "restyle", "args": [{"marker.color": [values]}, [0]]}
        for time, values in data.bikes.items()
    ]
    return figure.update_layout(
        title=f"Stations coloured by bikes available ({len(data.stations)} stations)",
        height=640,
        xaxis_title="longitude",
        yaxis={"title": "latitude", "scaleanchor": "x", "scaleratio": 1 / math.cos(math.radians(mean_lat))},
        sliders=[{"active": len(steps) - 1, "steps": steps, "currentvalue": {"prefix": "snapshot time (UTC) "}}],
    )


def health_figure(health: Health) -> go.Figure:
    figure = go.Figure(
        [
            go.Scatter(x=health.times, y=health.latency_ms, name="latency (ms)"),
            go.Scatter(x=health.times, y=health.feed_age_s, name="feed age (s)", yaxis="y2"),
        ]
    )
    return figure.update_layout(
        title="Polls: latency and feed age",
        height=360,
        yaxis_title="latency (ms)",
        yaxis2={"title": "feed age (s)", "overlaying": "y", "side": "right"},
    )


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: object, name: str | None = None) -> str:
    attribute = f' data-field="{name}"' if name else ""
    return f"<td{attribute}>{html.escape(str(value))}</td>"


def latest_tables(data: ReportData) -> str:
    """The latest snapshot: network totals, then one row per postcode (``data-field`` names each number); the
    rows' own counts when they are not the contract's (the original consumer's)."""
    time, by_postcode = latest_by_postcode(data.rows)
    fields = shown_fields(data.rows)
    total = network_totals(by_postcode.values()).get(time, {}) if time else {}
    headers = ["", *(LABELS.get(name, name) for name in fields)]
    totals = _table(headers, [[_cell("network"), *(_cell(total.get(n, "-"), n) for n in fields)]], "latest-totals")
    postcode_rows = [
        [
            f'<td data-postcode="{html.escape(pc)}">{html.escape(postcode_label(pc))}</td>',
            *(_cell(row.get(n, "-"), n) for n in fields),
        ]
        for pc, row in sorted(by_postcode.items())
    ]
    postcodes = _table(["postcode", *headers[1:]], postcode_rows, "latest-postcodes")
    when = html.escape(time or "no snapshot_time in these rows")
    heading = f'<h2>Latest snapshot: <span id="latest-time">{when}</span></h2>'
    return f"{heading}{totals}<details><summary>per postcode</summary>{postcodes}</details>"


def health_section(health: Health) -> str:
    info = health.info
    gap = info.longest_gap
    longest = f", longest {gap.polls} polls ({gap.seconds:.0f} s from {gap.start})" if gap.polls else ""
    facts = [
        ("polls", f"{info.polls} = {info.snapshots} snapshots + {info.gaps} gaps + {info.invalid} invalid"),
        ("time span", f"{info.first} → {info.last} ({format_duration(info.span_s)})"),
        ("gaps", f"{info.gaps}{longest}"),
        ("invalid bodies", str(info.invalid) + "".join(f"; {r} x{n}" for r, n in info.invalid_reasons.items())),
        ("latency (ms)", health.summary(health.latency_ms)),
        ("feed age", health.summary(health.feed_age_s, format_duration)),
        ("stations per snapshot", f"{info.stations.min_per_snapshot} to {info.stations.max_per_snapshot}"),
    ]
    table = _table(["", ""], [[_cell(name), _cell(value, name)] for name, value in facts], "health")
    return f"<h2>Recording health</h2>{table}{_div(health_figure(health), 'health-chart')}"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .8em; text-align: right; }
td:first-child { text-align: left; } tr:nth-child(even) { background: #f3f3f3; } .note { color: #a40; }
"""


def render(data: ReportData) -> str:
    """The whole page: latest numbers, network, postcodes, map, health."""
    parts = [latest_tables(data), _div(network_figure(data), "network"), _div(postcodes_figure(data), "postcodes")]
    if data.stations:
        parts.append(_div(map_figure(data), "map"))
    if data.health:
        parts.append(health_section(data.health))
    notes = "".join(f'<p class="note">{html.escape(note)}</p>' for note in data.notes)
    title = html.escape(f"Vélib' report: {data.title}")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style>{inline_plotly()}</head><body><h1>{title}</h1>"
        f"<p>{len(data.times)} snapshots, {len(data.postcodes)} postcodes; from the {html.escape(data.source)}.</p>"
        f"{notes}{''.join(parts)}</body></html>"
    )


def write_page(data: ReportData, path: Path) -> int:
    """Write the page; returns its size in bytes."""
    text = render(data).encode()
    path.write_bytes(text)
    return len(text)
