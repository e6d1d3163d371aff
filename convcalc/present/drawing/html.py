"""A ``Diagram`` as one self-contained HTML page: the SVG, and a small script of its own for
panning (drag), zooming (wheel, or the buttons), details of the box under the pointer and
search by name. Nothing is fetched: no external script, style, font or image."""

from convcalc.present.drawing.model import Diagram
from convcalc.present.drawing.svg import esc, render_svg

STYLE = """
html, body { margin: 0; height: 100%; font: 13px system-ui, 'DejaVu Sans', sans-serif; }
body { display: flex; flex-direction: column; }
header { display: flex; gap: .6em; align-items: center; padding: .4em .8em;
         border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
header h1 { font-size: 14px; margin: 0 1em 0 0; }
header input { width: 18em; padding: .2em .4em; }
header .hint { color: #57606a; }
#view { flex: 1; position: relative; overflow: hidden; cursor: grab; background: #fff; }
#view.dragging { cursor: grabbing; }
#view svg { position: absolute; inset: 0; width: 100%; height: 100%; }
#details { position: absolute; right: .8em; bottom: .8em; max-width: 40em; padding: .5em .8em;
           background: rgba(255,255,255,.95); border: 1px solid #d0d7de; border-radius: 6px;
           font: 12px ui-monospace, 'DejaVu Sans Mono', Menlo, monospace; white-space: pre;
           display: none; pointer-events: none; }
g.node.hit rect { stroke: #cf222e; stroke-width: 3; }
g.node.current rect { stroke: #0969da; stroke-width: 4; }
"""

# Pan and zoom move the viewBox: one unit of the drawing is one pixel at 100%.
SCRIPT = """
(function () {
  "use strict";
  var view = document.getElementById("view");
  var svg = view.querySelector("svg");
  var details = document.getElementById("details");
  var search = document.getElementById("search");
  var count = document.getElementById("count");
  var size = svg.viewBox.baseVal;
  var W = size.width, H = size.height;
  var scale = 1, left = 0, top = 0;
  function draw() {
    var r = view.getBoundingClientRect();
    svg.setAttribute("viewBox", left + " " + top + " " + r.width / scale + " " +
                     r.height / scale);
  }
  function fit() {
    var r = view.getBoundingClientRect();
    scale = Math.min(r.width / W, r.height / H, 1);
    left = (W - r.width / scale) / 2; top = 0; draw();
  }
  function actual() {
    var r = view.getBoundingClientRect();
    scale = 1; left = Math.min(0, (W - r.width) / 2); top = 0; draw();
  }
  function zoom(factor, cx, cy) {
    var next = Math.max(0.02, Math.min(8, scale * factor));
    left += cx / scale - cx / next; top += cy / scale - cy / next;
    scale = next; draw();
  }
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = view.getBoundingClientRect();
    zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, {passive: false});
  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    drag = {x: e.clientX, y: e.clientY}; view.classList.add("dragging");
    view.setPointerCapture(e.pointerId);
  });
  view.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    left -= (e.clientX - drag.x) / scale; top -= (e.clientY - drag.y) / scale;
    drag = {x: e.clientX, y: e.clientY}; draw();
  });
  function stop() { drag = null; view.classList.remove("dragging"); }
  view.addEventListener("pointerup", stop);
  view.addEventListener("pointercancel", stop);
  var nodes = Array.prototype.slice.call(svg.querySelectorAll("g.node"));
  nodes.forEach(function (node) {
    var title = node.querySelector("title");
    var text = title ? title.textContent : "";
    if (title) { node.removeChild(title); }  // the panel replaces the browser's tooltip
    node.addEventListener("pointerenter", function () {
      details.textContent = text; details.style.display = "block";
    });
    node.addEventListener("pointerleave", function () { details.style.display = "none"; });
  });
  var hits = [], at = -1;
  function show(node) {
    var box = node.querySelector("rect").getBBox();
    var r = view.getBoundingClientRect();
    left = box.x + box.width / 2 - r.width / scale / 2;
    top = box.y + box.height / 2 - r.height / scale / 2; draw();
  }
  function find() {
    var q = search.value.trim().toLowerCase();
    hits = [];
    nodes.forEach(function (node) {
      var hit = q !== "" && node.getAttribute("data-name").toLowerCase().indexOf(q) >= 0;
      node.classList.toggle("hit", hit); node.classList.remove("current");
      if (hit) { hits.push(node); }
    });
    at = -1;
    count.textContent = q === "" ? "" : hits.length + (hits.length === 1 ? " match" : " matches");
    next();
  }
  function next() {
    if (!hits.length) { return; }
    if (at >= 0) { hits[at].classList.remove("current"); }
    at = (at + 1) % hits.length;
    hits[at].classList.add("current"); show(hits[at]);
    count.textContent = (at + 1) + " of " + hits.length;
  }
  search.addEventListener("input", find);
  search.addEventListener("keydown", function (e) { if (e.key === "Enter") { next(); } });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("actual").addEventListener("click", actual);
  document.getElementById("in").addEventListener("click", function () {
    var r = view.getBoundingClientRect(); zoom(1.25, r.width / 2, r.height / 2);
  });
  document.getElementById("out").addEventListener("click", function () {
    var r = view.getBoundingClientRect(); zoom(0.8, r.width / 2, r.height / 2);
  });
  window.addEventListener("resize", draw);
  actual();
})();
"""


def render_html(diagram: Diagram) -> str:
    """The diagram on a page of its own, with pan, zoom, details on hover and search."""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(diagram.title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<header><h1>{esc(diagram.title)}</h1>",
        '<input id="search" type="search" placeholder="search layers by name" '
        'aria-label="search layers by name"><span id="count"></span>',
        '<button id="fit" type="button">fit</button>',
        '<button id="actual" type="button">100%</button>',
        '<button id="in" type="button" aria-label="zoom in">+</button>',
        '<button id="out" type="button" aria-label="zoom out">&minus;</button>',
        '<span class="hint">drag to pan, wheel to zoom, Enter for the next match</span>'
        "</header>",
        '<div id="view">', render_svg(diagram), '<div id="details"></div>', "</div>",
        f"<script>{SCRIPT}</script>", "</body>", "</html>", ""])
