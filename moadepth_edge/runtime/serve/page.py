"""The live view's page: the MJPEG stream (frame | depth, FPS and latency drawn on it) and a
status line from /stats.json. Plain HTML and a few lines of script; no external resources."""
from __future__ import annotations

import html
import json

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>moadepth-edge live view</title>
<style>
 body {{ margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }}
 header {{ padding: 8px 12px; display: flex; gap: 18px; align-items: baseline; }}
 header b {{ color: #fff; }}
 #view {{ display: block; max-width: 100vw; max-height: calc(100vh - 40px); margin: 0 auto; background: #000; }}
 a {{ color: #8cf; }}
</style></head>
<body>
<header><b>moadepth-edge</b><span>{label}</span><span id="status">waiting for the first frame...</span>
<span><a href="frame.jpg{q}">frame.jpg</a> <a href="depth.png{q}">depth.png</a> <a href="stats.json{q}">stats.json</a></span></header>
<img id="view" alt="frame | depth" src="stream.mjpg{q}">
<script>
const query = {q_json};
const view = document.getElementById("view");
const statusLine = document.getElementById("status");
view.onerror = () => setTimeout(() => {{ view.src = "stream.mjpg" + query + (query ? "&" : "?") + "t=" + Date.now(); }}, 1000);
async function poll() {{
  try {{
    const s = await (await fetch("stats.json" + query, {{cache: "no-store"}})).json();
    statusLine.textContent = s.closed ? "the run has ended" : s.frames === 0 ? "waiting for the first frame..."
      : `${{s.fps.toFixed(1)}} FPS, latency ${{s.latency_ms.toFixed(0)}} ms, ${{s.width}}x${{s.height}}, ` +
        `frame ${{s.frames}}, ${{s.viewers}} viewer(s)`;
  }} catch (e) {{ statusLine.textContent = "the run has ended"; }}
  setTimeout(poll, 1000);
}}
poll();
</script>
</body></html>
"""


def page(label: str, query: str) -> bytes:
    """The page; `query` ("" or "?token=...", already URL-encoded) is appended to every link."""
    return _PAGE.format(label=html.escape(label), q=html.escape(query, quote=True),
                        q_json=json.dumps(query).replace("<", "\\u003c")).encode("utf-8")
