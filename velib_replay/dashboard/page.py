"""The dashboard's one page: plotly inlined (offline, like the report), fed by the server's event stream.

The page holds no logic of its own beyond drawing: the server sends the network series and the latest
snapshot per postcode (``state`` events), and how fresh they are (``status`` events, every second).
"""

from __future__ import annotations

import json

from velib_replay.dashboard import control
from velib_replay.report.data import TOTAL_FIELDS
from velib_replay.report.page import LABELS, inline_plotly

_SCRIPT = """
const FIELDS = __FIELDS__, LABELS = __LABELS__;
const cell = (value, field) => `<td${field ? ` data-field="${field}"` : ""}>${value}</td>`;
function drawState(state) {
  document.getElementById("latest-time").textContent = state.latest_time || "none yet";
  document.getElementById("rows").textContent = state.rows;
  document.getElementById("unreadable").textContent = state.unreadable || "";
  const last = state.times.length - 1;
  document.getElementById("latest-totals").querySelector("tbody").innerHTML = last < 0 ? "" :
    "<tr>" + cell("network") + FIELDS.map(f => cell(state.totals[f][last], f)).join("") + "</tr>";
  const postcodes = Object.keys(state.postcodes).sort();
  document.getElementById("latest-postcodes").querySelector("tbody").innerHTML = postcodes.map(pc =>
    `<tr><td data-postcode="${pc}">${pc}</td>` + FIELDS.map(f => cell(state.postcodes[pc][f], f)).join("") + "</tr>"
  ).join("");
  Plotly.react("network", FIELDS.slice(1).map(f => ({x: state.times, y: state.totals[f], name: LABELS[f]})),
    {title: {text: "Whole network over time"}, height: 380, xaxis: {title: {text: "snapshot time (UTC)"}}});
  Plotly.react("postcodes", [{type: "bar", x: postcodes, y: postcodes.map(pc => state.postcodes[pc].bikes_available)}],
    {title: {text: "Bikes available per postcode at " + (state.latest_time || "-")}, height: 380,
     xaxis: {type: "category"}});
}
function drawStatus(status) {
  document.getElementById("age").textContent = status.age || "-";
  document.getElementById("lag").textContent = status.lag || "-";
  const notice = document.getElementById("notice");
  notice.hidden = !status.quiet;
  notice.textContent = status.quiet ? `No indicator arrived for ${status.quiet}: is the job running, ` +
    "and is play or live sending snapshots?" : "";
}
const events = new EventSource("events");
events.addEventListener("state", e => drawState(JSON.parse(e.data)));
events.addEventListener("status", e => drawStatus(JSON.parse(e.data)));
events.onerror = () => { const n = document.getElementById("notice"); n.hidden = false;
  n.textContent = "Lost the connection to the dashboard server: retrying..."; };
"""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .8em; text-align: right; }
td:first-child { text-align: left; } tr:nth-child(even) { background: #f3f3f3; }
#notice { background: #fde2c8; border: 1px solid #d80; padding: .6em; font-weight: bold; }
.facts span { margin-right: 2em; }
"""


def render(indicators_topic: str, status_topic: str, with_control: bool = False) -> str:
    """The page; ``with_control`` adds the replay's controls (``dashboard.control``) above the charts."""
    headers = "".join(f"<th>{LABELS[name]}</th>" for name in TOTAL_FIELDS)
    control_script = f'<script src="{control.SCRIPT_PATH[1:]}"></script>' if with_control else ""
    script = _SCRIPT.replace("__FIELDS__", json.dumps(TOTAL_FIELDS)).replace("__LABELS__", json.dumps(LABELS))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Vélib' dashboard: {indicators_topic}</title><style>{_STYLE}{control.STYLE if with_control else ""}</style>
{inline_plotly()}</head><body>
<h1>Vélib' dashboard: {indicators_topic}</h1>
<div id="notice" hidden></div>
<p class="facts"><span>latest snapshot <b id="latest-time">none yet</b></span>
<span>its age <b id="age">-</b></span>
<span title="how far, in feed time, the newest indicator trails the newest message on {status_topic}">
job lag <b id="lag">-</b></span><span><b id="rows">0</b> indicator rows</span> <span id="unreadable"></span></p>
{control.panel() if with_control else ""}
<table id="latest-totals"><thead><tr><th></th>{headers}</tr></thead><tbody></tbody></table>
<div id="network"></div><div id="postcodes"></div>
<details><summary>latest snapshot per postcode</summary>
<table id="latest-postcodes"><thead><tr><th>postcode</th>{headers}</tr></thead><tbody></tbody></table></details>
<script>{script}</script>{control_script}</body></html>"""
