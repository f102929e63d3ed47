"""The status page's HTML, built from a `StatusSnapshot` (pure; no I/O).

Every value put in the page is escaped (`html.escape`): obsids, detector
names, destination and worker names and failure reasons come from outside.
The page reloads itself every few seconds (``<meta http-equiv="refresh">``)
and needs no script.
"""

from __future__ import annotations

__all__ = ["render_page"]

import html
import urllib.parse
from collections.abc import Sequence

from ..maps import STATE_COLOURS, DetectorState, ImageStatus
from .snapshot import StatusSnapshot, utc_iso

_STYLE = """
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #bbb; padding: 2px 8px; text-align: left; font-size: 0.9em; }
.maps { display: flex; flex-wrap: wrap; gap: 12px; }
.map { border: 1px solid #bbb; padding: 4px; }
.map img { width: 440px; height: auto; display: block; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #000;
          vertical-align: middle; margin: 0 4px 0 12px; }
.muted { color: #666; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _map_url(obsid: str) -> str:
    return "/map/" + urllib.parse.quote(obsid, safe="") + ".png"


def _image_block(image: ImageStatus) -> str:
    counts = ", ".join(
        f"{_e(state.value)} {image.count(state)}" for state in DetectorState if image.count(state)
    )
    if image.archive_latency is None:
        outcome = "in progress"
    elif image.archive_status == 0:
        outcome = f"archived after {image.archive_latency:.1f} s"
    else:
        outcome = f"incomplete (status {_e(image.archive_status)}) after {image.archive_latency:.1f} s"
    return (
        f'<div class="map"><a href="{_e(_map_url(image.obsid))}">'
        f'<img src="{_e(_map_url(image.obsid))}" alt="focal-plane map of {_e(image.obsid)}"></a>'
        f"<div><b>{_e(image.obsid)}</b>: {outcome}<br>"
        f'<span class="muted">{counts}</span></div></div>'
    )


def _legend() -> str:
    return "".join(
        f'<span class="swatch" style="background:{colour}"></span>{_e(state.value)}'
        for state, colour in STATE_COLOURS.items()
    )


def _table(header: tuple[str, ...], rows: Sequence[tuple[object, ...]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_page(snapshot: StatusSnapshot, *, refresh: float = 5.0) -> str:
    """The status page (HTML5) of a snapshot, reloading every ``refresh`` seconds."""
    s = snapshot
    names = list(s.destinations) + sorted((set(s.queue_depths) | set(s.failed_counts)) - set(s.destinations))
    queues = [(name, s.queue_depths.get(name, 0), s.failed_counts.get(name, 0)) for name in names]
    workers = [
        (w.name, w.role, w.host, w.pid, w.state, w.tasks_done, w.tasks_failed, utc_iso(w.heartbeat_at))
        for w in s.workers
    ]
    failures = [(utc_iso(f.time), f.obsid, f.item, f.where, f.reason) for f in s.failures]
    images = "".join(_image_block(image) for image in s.images)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{max(1, round(refresh))}">'
        f"<title>{_e(s.component)} status</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(s.component)} ({_e(s.camera)})</h1>"
        f'<p class="muted">Read-only status at {_e(utc_iso(s.taken_at))}; refreshes every '
        f'{max(1, round(refresh))} s. Machine-readable: <a href="/status.json">/status.json</a>. '
        f"Images not archived yet: {s.images_pending}.</p>"
        f"<h2>Latest images</h2><p>{_legend()}</p>"
        + (
            f'<div class="maps">{images}</div>'
            if images
            else '<p class="muted">No image in the ledger yet.</p>'
        )
        + "<h2>Queues</h2>"
        + _table(("destination", "to transfer or ingest", "finally failed"), queues, "No destination.")
        + f"<h2>Workers</h2><p>Capture workers alive in the CSC's pool: {s.capture_workers}.</p>"
        + _table(
            ("worker", "role", "host", "pid", "state", "done", "failed", "last heartbeat (UTC)"),
            workers,
            "No worker process heartbeats in the ledger.",
        )
        + "<h2>Recent failures</h2>"
        + _table(("time (UTC)", "image", "item", "where", "reason"), failures, "No failure.")
        + "</body></html>\n"
    )
