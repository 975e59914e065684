"""The dashboard's replay controls (``dashboard --control URL``): a panel, its script, a proxy to ``play --control``.

The page talks only to the dashboard server (``/control/...``), which forwards to the replay's endpoint: the page
needs no cross-origin rights, and the replay's endpoint stays on loopback. The proxy takes a POST only as JSON
from the page's own origin, so another site open in the browser cannot drive the replay through it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus

SCRIPT_PATH = "/control.js"
PREFIX = "/control/"
ACTIONS = ("status", "pause", "resume", "step", "seek", "speed")
SPEEDS = ("1x", "10x", "60x", "600x", "max")
TIMEOUT_S = 5.0


def check_url(url: str) -> str:
    """``play --control``'s URL, as it printed it; a ValueError saying what is wrong otherwise."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"{url!r}: give the URL play --control printed, e.g. http://127.0.0.1:8765/")
    return f"http://{parts.netloc}/"


def forward(base: str, action: str, body: bytes | None) -> tuple[int, bytes]:
    """One call to the replay's endpoint: (status, JSON body); a 502 with the reason when it cannot be reached."""
    request = urllib.request.Request(base + action, data=body, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        payload = {"error": f"no replay answers at {base} ({reason}): is play --control running?"}
        return HTTPStatus.BAD_GATEWAY, json.dumps(payload).encode()


REFUSED = b'{"error": "only the dashboard page itself drives the replay"}'


def same_origin(headers) -> bool:
    """A POST the page itself sent: JSON (another site's would need a preflight) and, if said, from this host."""
    origin = headers.get("Origin")
    from_here = origin is None or origin == f"http://{headers.get('Host')}"
    return headers.get_content_type() == "application/json" and from_here


PANEL = """
<section id="replay-control" aria-label="replay control">
<b>Replay</b> <span id="control-state">-</span>
<button type="button" id="control-resume">play</button>
<button type="button" id="control-pause">pause</button>
<button type="button" id="control-step">step</button>
<label>speed <select id="control-speed">__SPEEDS__</select></label>
<label>feed time <input type="range" id="control-seek" min="0" max="0" step="1" value="0"></label>
<b id="control-feed-time">-</b> <span id="control-sent"></span> <span id="control-error"></span>
</section>"""

STYLE = """
#replay-control { background: #eef3fb; border: 1px solid #9ab; padding: .5em .8em; margin: .5em 0; }
#replay-control button, #replay-control select { margin: 0 .2em; }
#control-seek { width: 22em; vertical-align: middle; }
#control-error { color: #a00; }
"""

SCRIPT = """
"use strict";
// Replay controls: every value shown is set as text; the replay is driven through the dashboard's /control/ proxy.
(() => {
  const $ = id => document.getElementById(id);
  const seconds = iso => Date.parse(iso) / 1000;
  let dragging = false;
  function show(status) {
    $("control-error").textContent = "";
    $("control-state").textContent = status.finished ? "finished" : status.paused ? "paused" : "playing";
    $("control-feed-time").textContent = status.feed_time || "none sent yet";
    $("control-sent").textContent = `${status.snapshots_sent} snapshots, ${status.messages_sent} messages sent`;
    const speed = $("control-speed");
    if (![...speed.options].some(option => option.value === status.speed)) speed.append(new Option(status.speed));
    if (document.activeElement !== speed) speed.value = status.speed;
    const slider = $("control-seek");
    slider.min = seconds(status.first_feed_time);
    slider.max = seconds(status.last_feed_time);
    if (!dragging) slider.value = seconds(status.next_feed_time || status.feed_time || status.first_feed_time);
  }
  async function call(action, body) {
    const options = body === undefined ? {} :
      {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    try {
      const answer = await fetch(`control/${action}`, options);
      const payload = await answer.json();
      if (answer.ok) show(payload); else $("control-error").textContent = payload.error;
    } catch (error) {
      $("control-error").textContent = `the dashboard server does not answer (${error})`;
    }
  }
  $("control-resume").addEventListener("click", () => call("resume", {}));
  $("control-pause").addEventListener("click", () => call("pause", {}));
  $("control-step").addEventListener("click", () => call("step", {snapshots: 1}));
  $("control-speed").addEventListener("change", e => call("speed", {speed: e.target.value}));
  const slider = $("control-seek");
  slider.addEventListener("input", () => { dragging = true;
    $("control-feed-time").textContent = new Date(slider.value * 1000).toISOString().replace(".000Z", "Z"); });
  slider.addEventListener("change", () => { dragging = false;
    call("seek", {to: new Date(slider.value * 1000).toISOString()}); });
  call("status");
  setInterval(() => call("status"), 1000);
})();
"""


def panel() -> str:
    """The controls' markup: fixed text only (what the replay says is set by the script, as text)."""
    options = "".join(f'<option value="{speed}">{speed}</option>' for speed in SPEEDS)
    return PANEL.replace("__SPEEDS__", options)
