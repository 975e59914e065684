"""The dashboard's one page, its script and plotly's (offline, like the report), fed by the server's event stream.

The page holds no logic of its own beyond drawing: the server sends the network series and the latest
snapshot per postcode (``state`` events), and how fresh they are (``status`` events, every second).
Scripts are separate resources, never inline, so the server's Content-Security-Policy can forbid inline
script and event handlers: markup smuggled in through data could not run even if it reached the DOM.
"""

from __future__ import annotations

import html
import json

from velib_replay.dashboard import control
from velib_replay.report.data import NO_POSTCODE_LABEL, TOTAL_FIELDS
from velib_replay.report.page import LABELS, PALETTE

SCRIPT_PATH, PLOTLY_PATH = "/dashboard.js", "/plotly.js"
# No inline script or handler, nothing fetched from elsewhere; plotly sets inline styles, which cannot run code.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_SCRIPT = """
"use strict";
const FIELDS = __FIELDS__, LABELS = __LABELS__, PALETTE = __PALETTE__;
const NO_POSTCODE = __NO_POSTCODE__;  // the label of the contract's "unknown", the original's null
const label = f => LABELS[f] || f;
const postcodeLabel = pc => pc === "unknown" ? NO_POSTCODE : pc;
// plotly reads a subset of HTML in labels: what comes from the topic is escaped for it.
const escaped = value => String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
// Data from the topic reaches the page as text nodes only, never as markup.
function cell(value, field) {
  const td = document.createElement("td");
  if (field) td.dataset.field = field;
  td.textContent = value ?? "-";
  return td;
}
function row(first, values) {
  const tr = document.createElement("tr");
  tr.append(first, ...values);
  return tr;
}
function heading(first, fields) {
  const th = text => { const h = document.createElement("th"); h.textContent = text; return h; };
  return row(th(first), fields.map(f => th(label(f))));
}
const NO_DATA = {annotations: [{text: "no data yet", showarrow: false, font: {size: 20}}],
                 xaxis: {visible: false}, yaxis: {visible: false}};
function drawState(state) {
  const fields = state.fields;
  document.getElementById("latest-time").textContent = state.latest_time ||
    (state.rows ? "no snapshot_time in these rows" : "none yet");
  document.getElementById("rows").textContent = state.rows;
  document.getElementById("unreadable").textContent = state.unreadable ? `unreadable: ${state.unreadable}` : "";
  const last = state.times.length - 1;
  const totals = document.getElementById("latest-totals");
  totals.querySelector("thead").replaceChildren(heading("", fields));
  totals.querySelector("tbody").replaceChildren(...(last < 0 ? [] :
    [row(cell("network"), fields.map(f => cell(state.totals[f] ? state.totals[f][last] : null, f)))]));
  const postcodes = Object.keys(state.postcodes).sort();
  const table = document.getElementById("latest-postcodes");
  table.querySelector("thead").replaceChildren(heading("postcode", fields));
  table.querySelector("tbody").replaceChildren(...postcodes.map(pc => {
    const name = cell(postcodeLabel(pc));
    name.dataset.postcode = pc;
    return row(name, fields.map(f => cell(state.postcodes[pc][f], f)));
  }));
  const series = FIELDS.slice(1).filter(f => state.totals[f]);
  Plotly.react("network", last < 0 ? [] : series.map(f => ({x: state.times, y: state.totals[f], name: label(f),
                                                        line: {color: PALETTE[f]}})),
    Object.assign({title: {text: "Whole network over time"}, height: 380,
                   xaxis: {title: {text: "snapshot time (UTC)"}}}, last < 0 ? NO_DATA : {}));
  const main = state.main_field;
  const bars = postcodes.length && main ? [{type: "bar", x: postcodes.map(pc => escaped(postcodeLabel(pc))),
                                            y: postcodes.map(pc => state.postcodes[pc][main]),
                                            marker: {color: PALETTE[main] || PALETTE.bikes_available}}] : [];
  const when = state.latest_time ? ` at ${escaped(state.latest_time)}` : "";
  const title = `${label(main || "bikes_available")} per postcode${when}`;
  Plotly.react("postcodes", bars, Object.assign({title: {text: title}, height: 380, xaxis: {type: "category"}},
                                                bars.length ? {} : NO_DATA));
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


def script() -> str:
    """The page's own script, served at ``SCRIPT_PATH``."""
    script = _SCRIPT.replace("__FIELDS__", json.dumps(TOTAL_FIELDS)).replace("__LABELS__", json.dumps(LABELS))
    return script.replace("__NO_POSTCODE__", json.dumps(NO_POSTCODE_LABEL)).replace("__PALETTE__", json.dumps(PALETTE))


def render(indicators_topic: str, status_topic: str, with_control: bool = False) -> str:
    """The page; ``with_control`` adds the replay's controls (``dashboard.control``) above the charts."""
    headers = "".join(f"<th>{html.escape(LABELS[name])}</th>" for name in TOTAL_FIELDS)
    topic, status_topic = html.escape(indicators_topic), html.escape(status_topic)
    control_script = f'<script src="{control.SCRIPT_PATH[1:]}"></script>' if with_control else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Vélib' dashboard: {topic}</title><style>{_STYLE}{control.STYLE if with_control else ""}</style>
<script src="{PLOTLY_PATH[1:]}"></script></head><body>
<h1>Vélib' dashboard: {topic}</h1>
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
<script src="{SCRIPT_PATH[1:]}"></script>{control_script}</body></html>"""
