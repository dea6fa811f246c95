"""The read-only HTML page of one job: state, recap, deliverability, and a live log.

Server-rendered: the state, the timestamps, the recap per host and the deliverability table
of each domain (from the job's summary) are in the HTML; the log below them is fed by the job's
own event stream (``/v1/jobs/{id}/events`` with the page's URL token) through EventSource. No
secret is on the page: the spec is not shown, the summary holds none.
"""

from __future__ import annotations

import html
import json
import secrets as random

LOGGED = ("playbook_on_start", "playbook_on_play_start", "playbook_on_task_start", "runner_on_ok", "runner_on_failed",
          "runner_on_unreachable", "runner_on_skipped", "playbook_on_stats", "job_finished")
RECAP = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")

SCRIPT = """
(function () {
  var log = document.getElementById("log"), state = document.getElementById("state");
  var source = new EventSource(%(events)s);
  function line(event) {
    var data = JSON.parse(event.data), item = document.createElement("li");
    item.dataset.id = event.lastEventId;
    item.dataset.event = event.type;
    item.textContent = "#" + event.lastEventId + " " + event.type +
      (data.host ? " [" + data.host + "]" : "") + (data.task ? " " + data.task : data.play ? " " + data.play : "") +
      (event.type === "runner_on_ok" ? (data.changed ? " changed" : " ok") : "") +
      (data.msg ? ": " + data.msg : "") + (event.type === "job_finished" ? " " + data.state : "");
    log.appendChild(item);
    if (event.type === "job_finished") {
      state.textContent = data.state;
      source.close();
    }
  }
  %(names)s.forEach(function (name) { source.addEventListener(name, line); });
})();
"""

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: left; }
#log { font-family: monospace; font-size: 90%; list-style: none; padding: 0; }
.pass { color: #060; } .fail { color: #a00; }
"""


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(str(item))}</th>" for item in headers)
    body = "".join("<tr>" + "".join(cell for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<td{klass}>{html.escape('' if value is None else str(value))}</td>"


def render(job: dict, events_url: str, last_event: int) -> tuple[str, str]:
    """(HTML, the script nonce for the Content-Security-Policy)."""
    nonce = random.token_urlsafe(16)
    title = f"coldrig job {job['id']}"
    recap_rows = [[_cell(host)] + [_cell(counts.get(name, 0)) for name in RECAP]
                  for host, counts in sorted((job.get("recap") or {}).items())]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<p>state <strong id=\"state\">" + html.escape(job["state"]) + "</strong>"
        f" &middot; nodes {html.escape(', '.join(job['nodes']))} &middot; created {html.escape(str(job['created']))}"
        f" &middot; started {html.escape(str(job['started'] or '-'))} &middot; finished"
        f" {html.escape(str(job['finished'] or '-'))}</p>",
    ]
    if job.get("explanation"):
        parts.append(f"<p id=\"explanation\">{html.escape(job['explanation'])}</p>")
    recap = _table(["host", *RECAP], recap_rows) if recap_rows else \
        "<p id=\"recap\">not yet: the recap comes when the run ends</p>"
    parts.append("<h2>Recap</h2>" + recap)
    parts.append("<h2>Deliverability</h2>")
    nodes = ((job.get("summary") or {}).get("nodes") or {})
    rows = []
    for node, data in sorted(nodes.items()):
        for run in data.get("deliverability") or []:
            for check in run.get("checks") or []:
                result = str(check.get("result", ""))
                rows.append([_cell(node), _cell(run.get("domain")), _cell(check.get("check")),
                             _cell(result, "pass" if result == "pass" else "fail" if result == "fail" else ""),
                             _cell("yes" if check.get("required") else "no"), _cell(check.get("detail"))])
    parts.append(_table(["node", "domain", "check", "result", "required", "detail"], rows) if rows
                 else "<p id=\"deliverability\">not yet: the table comes with the onboarding's summary</p>")
    parts.append(f"<h2>Log</h2><ol id=\"log\" data-rendered-after=\"{int(last_event)}\"></ol>")
    # A finished job's stream replays its events and ends with job_finished: the same script serves both.
    script = SCRIPT % {"events": json.dumps(events_url), "names": json.dumps(list(LOGGED))}
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"referrer\" content=\"no-referrer\"><title>{html.escape(title)}</title>"
            f"<style nonce=\"{nonce}\">{STYLE}</style></head><body>{''.join(parts)}"
            f"<script nonce=\"{nonce}\">{script}</script></body></html>")
    return page, nonce
