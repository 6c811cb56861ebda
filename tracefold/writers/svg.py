"""Interactive SVG flame graphs drawn by tracefold: normal, icicle (--inverted), flame chart
(--flamechart: time order, nothing merged) and differential (tracefold diff -o x.svg).

Self-contained: one SVG file with its own small script (tooltip details, click to zoom, reset,
search with highlight and matched share), no external resources.

Size is bounded: a frame narrower than ``minwidth`` pixels is not drawn on its own — the
narrow siblings of a parent are merged into one "(N narrow frames)" frame when together they
reach ``minwidth``, else left out (their weight stays in the parent's width). So each row of
the graph has at most width / minwidth frames, and the SVG at most depth × width / minwidth
frames (about 200 bytes each).
"""
from __future__ import annotations

import hashlib
import html

from .folded import FoldedWriter

WIDTH = 1200
FRAME_H = 16
FONT = 12
CHAR_W = 0.59 * FONT        # Verdana-ish average glyph width
PAD_TOP = 52
PAD_BOTTOM = 36
PAD_X = 10

KIND_SUFFIX = {"_[k]": "kernel", "_[j]": "jit", "_[i]": "inlined"}
FS_COLORS = {"syscall": "#a6cee3", "vfs": "#1f78b4", "security": "#b2df8a", "path": "#33a02c",
             "pagecache": "#fb9a99", "block": "#fdbf6f", "driver": "#ff7f00",
             "irq": "#6a3d9a", "sched": "#b15928", "other": "#cab2d6", "unknown": "#dddddd",
             "fs": "#e31a1c"}


class Node:
    __slots__ = ("name", "value", "children", "delta", "base", "kind", "merged", "order")

    def __init__(self, name):
        self.name = name
        self.value = 0          # inclusive weight (new run for diffs)
        self.base = 0           # diffs: inclusive base weight
        self.delta = 0
        self.children = {}
        self.kind = "user"
        self.merged = 0
        self.order = []         # flame charts: children in time order


def build_tree(lines, flamechart=False, diff=False):
    """Folded lines ("a;b;c w" or "a;b;c base new") → a tree of Nodes (root = "all")."""
    root = Node("all")
    for ln in lines:
        if diff:
            stack, b, n = ln.rsplit(" ", 2)
            w, wb = int(n), int(b)
        else:
            stack, _, w = ln.rpartition(" ")
            w, wb = int(w), 0
        frames = stack.split(";") if stack else []
        root.value += w
        root.base += wb
        node = root
        for f in frames:
            if flamechart:
                # time order: extend the last child only if it is the same frame
                last = node.order[-1] if node.order else None
                if last is not None and last.name == f:
                    child = last
                else:
                    child = Node(f)
                    node.order.append(child)
            else:
                child = node.children.get(f)
                if child is None:
                    child = node.children[f] = Node(f)
            child.value += w
            child.base += wb
            node = child
    return root


def _split_kind(name):
    for suf, kind in KIND_SUFFIX.items():
        if name.endswith(suf):
            return name[: -len(suf)], kind
    return name, "user"


def _hash01(s: str, salt: str = "") -> float:
    return int(hashlib.md5((salt + s).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def color(name, kind, palette):
    """Deterministic colours (a frame keeps its colour between graphs)."""
    v1, v2 = _hash01(name), _hash01(name, "2")
    if palette == "fs":
        base = name.split()[0]
        return FS_COLORS.get(base, FS_COLORS["fs"])
    if kind == "kernel":        # orange
        return f"rgb({200 + int(55 * v1)},{120 + int(60 * v2)},{40 + int(30 * v1)})"
    if kind == "jit":           # green
        return f"rgb({50 + int(60 * v1)},{180 + int(60 * v2)},{50 + int(60 * v1)})"
    if kind == "inlined":       # aqua
        return f"rgb({60 + int(50 * v1)},{190 + int(50 * v2)},{190 + int(50 * v2)})"
    # user: flamegraph.pl's "hot" family
    return f"rgb({205 + int(50 * v2)},{int(230 * v1)},{int(55 * v2)})"


def diff_color(delta, scale):
    """Growth red, shrinkage blue, white for no change; intensity by |delta| / scale."""
    if not scale or not delta:
        return "rgb(250,250,250)"
    x = min(1.0, abs(delta) / scale)
    c = int(250 - 200 * x)
    return f"rgb(250,{c},{c})" if delta > 0 else f"rgb({c},{c},250)"


def layout(root, width, minwidth, flamechart=False):
    """Frames as (depth, x, w, node) with narrow siblings merged; x and w in pixels."""
    frames = []
    scale = (width - 2 * PAD_X) / root.value if root.value else 0
    stack = [(root, 0, PAD_X)]
    while stack:
        node, depth, x = stack.pop()
        w = node.value * scale
        frames.append((depth, x, w, node))
        kids = node.order if flamechart else sorted(node.children.values(), key=lambda n: n.name)
        cx = x
        narrow, nx = [], None
        for k in kids:
            kw = k.value * scale
            if kw < minwidth:
                if nx is None:
                    nx = cx
                narrow.append(k)
            else:
                if narrow:
                    _flush_narrow(narrow, nx, depth + 1, scale, minwidth, frames)
                    narrow, nx = [], None
                stack.append((k, depth + 1, cx))
            cx += kw
        if narrow:
            _flush_narrow(narrow, nx, depth + 1, scale, minwidth, frames)
    return frames


def _flush_narrow(narrow, x, depth, scale, minwidth, frames):
    total = sum(n.value for n in narrow)
    if total * scale < minwidth:
        return
    if len(narrow) == 1:
        frames.append((depth, x, total * scale, narrow[0]))
        return
    m = Node(f"({len(narrow)} narrow frames)")
    m.value = total
    m.base = sum(n.base for n in narrow)
    m.merged = len(narrow)
    frames.append((depth, x, total * scale, m))


def render(lines, title="Flame Graph", subtitle="", inverted=False, flamechart=False,
           minwidth=0.1, palette="auto", diff=False, unit="samples", width=WIDTH) -> str:
    root = build_tree(lines, flamechart=flamechart, diff=diff)
    frames = layout(root, width, minwidth, flamechart)
    depth = max((d for d, *_ in frames), default=0) + 1
    height = PAD_TOP + depth * FRAME_H + PAD_BOTTOM
    total = root.value or 1
    dscale = 0
    if diff:
        for _, _, _, n in frames:
            n.delta = n.value - n.base
        dscale = max((abs(n.delta) for _, _, _, n in frames if n is not root), default=0)
    out = [f'<?xml version="1.0" standalone="no"?>\n'
           f'<svg version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'data-total="{total}" data-unit="{html.escape(unit)}" '
           f'data-inverted="{int(inverted)}" data-diff="{int(diff)}">',
           f"<style>{_CSS}</style>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f8f8"/>',
           f'<text id="title" x="{width / 2}" y="20" text-anchor="middle" '
           f'font-size="17">{html.escape(title)}</text>',
           f'<text id="subtitle" x="{width / 2}" y="38" text-anchor="middle" '
           f'font-size="12" fill="#555">{html.escape(subtitle)}</text>',
           f'<text id="unzoom" class="hide" x="{PAD_X}" y="20">Reset Zoom</text>',
           f'<text id="search" x="{width - PAD_X}" y="20" text-anchor="end">Search</text>',
           f'<text id="matched" x="{width - PAD_X}" y="{height - 12}" text-anchor="end"></text>',
           f'<text id="details" x="{PAD_X}" y="{height - 12}"> </text>',
           '<g id="frames">']
    for d, x, w, n in frames:
        name, kind = _split_kind(n.name)
        if n is root:
            name, kind = "all", "user"
        y = (PAD_TOP + d * FRAME_H) if inverted else (height - PAD_BOTTOM - (d + 1) * FRAME_H)
        pct = 100.0 * n.value / total
        if diff:
            fill = diff_color(n.delta, dscale)
            tip = (f"{name} ({n.value:,} {unit}, {pct:.2f}%; base {n.base:,}, "
                   f"change {n.delta:+,})")
        else:
            pal = palette if palette != "auto" else "hot"
            fill = "rgb(250,250,250)" if n.merged else color(name, kind, pal)
            tip = f"{name} ({n.value:,} {unit}, {pct:.2f}%)"
            if kind != "user":
                tip += f" [{kind}]"
        label = _fit(name, w)
        out.append(f'<g class="f" data-d="{d}" data-x="{x:.2f}" data-w="{w:.2f}" '
                   f'data-v="{n.value}" data-n="{html.escape(name, quote=True)}">'
                   f"<title>{html.escape(tip)}</title>"
                   f'<rect x="{x:.2f}" y="{y}" width="{max(w, 0.0):.2f}" height="{FRAME_H - 1}" '
                   f'fill="{fill}" rx="2" ry="2"/>'
                   f'<text x="{x + 3:.2f}" y="{y + FRAME_H - 4.5}">{html.escape(label)}</text></g>')
    out.append("</g>")
    out.append(f"<script><![CDATA[{_JS}]]></script>")
    out.append("</svg>\n")
    return "\n".join(out)


def _fit(name, w):
    n = int((w - 6) / CHAR_W)
    if n < 3:
        return ""
    return name if len(name) <= n else name[: n - 2] + ".."


_CSS = """
text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }
#title { font-size: 17px; } #subtitle { font-size: 12px; fill: #555; }
#unzoom, #search { cursor: pointer; fill: #1f5fa8; }
.hide { display: none; }
g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
g.f text { pointer-events: none; }
g.f.dim rect { opacity: 0.35; }
"""

_JS = r"""
(function () {
  var svg = document.documentElement;
  var W = +svg.getAttribute('width'), PAD = 10, CHAR = 0.59 * 12;
  var total = +svg.getAttribute('data-total'), unit = svg.getAttribute('data-unit');
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details'), matched = document.getElementById('matched');
  var unzoomBtn = document.getElementById('unzoom'), searchBtn = document.getElementById('search');
  var origFill = new Map();
  frames.forEach(function (g) { origFill.set(g, g.querySelector('rect').getAttribute('fill')); });
  function fit(name, w) {
    var n = Math.floor((w - 6) / CHAR);
    if (n < 3) return '';
    return name.length <= n ? name : name.slice(0, n - 2) + '..';
  }
  function place(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', Math.max(w, 0).toFixed(2));
    t.setAttribute('x', (x + 3).toFixed(2)); t.textContent = fit(g.getAttribute('data-n'), w);
  }
  function zoom(target) {
    var x0 = +target.getAttribute('data-x'), w0 = +target.getAttribute('data-w');
    var d0 = +target.getAttribute('data-d'), k = (W - 2 * PAD) / w0;
    frames.forEach(function (g) {
      var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'),
          d = +g.getAttribute('data-d');
      g.classList.remove('hide'); g.classList.remove('dim');
      if (d < d0 && x <= x0 + 1e-6 && x + w >= x0 + w0 - 1e-6) {
        place(g, PAD, W - 2 * PAD); g.classList.add('dim');           // ancestors
      } else if (d >= d0 && x >= x0 - 1e-6 && x + w <= x0 + w0 + 1e-6) {
        place(g, PAD + (x - x0) * k, w * k);                            // the subtree
      } else {
        g.classList.add('hide');
      }
    });
    unzoomBtn.classList.remove('hide');
  }
  function unzoom() {
    frames.forEach(function (g) {
      g.classList.remove('hide'); g.classList.remove('dim');
      place(g, +g.getAttribute('data-x'), +g.getAttribute('data-w'));
    });
    unzoomBtn.classList.add('hide');
  }
  function search(re) {
    var hit = 0, spans = [];
    frames.forEach(function (g) {
      var r = g.querySelector('rect');
      if (re && re.test(g.getAttribute('data-n'))) {
        r.setAttribute('fill', 'rgb(230,0,230)');
        spans.push([+g.getAttribute('data-x'), +g.getAttribute('data-w'),
                    +g.getAttribute('data-v')]);
      } else {
        r.setAttribute('fill', origFill.get(g));
      }
    });
    // count each matched weight once: drop spans inside an earlier (wider) matched span
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var end = -1;
    spans.forEach(function (s) { if (s[0] >= end - 1e-6) { hit += s[2]; end = s[0] + s[1]; } });
    matched.textContent = re ? 'Matched: ' + (100 * hit / total).toFixed(1) + '%' : '';
    svg.setAttribute('data-matched', re ? (hit / total).toFixed(6) : '');
    return hit;
  }
  frames.forEach(function (g) {
    g.addEventListener('mouseover', function () {
      details.textContent = g.querySelector('title').textContent;
    });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
    g.addEventListener('click', function () { zoom(g); });
  });
  unzoomBtn.addEventListener('click', unzoom);
  searchBtn.addEventListener('click', function () {
    var term = window.prompt('Search (regular expression)', '');
    if (term === null) return;
    try { search(term ? new RegExp(term) : null); } catch (e) { matched.textContent = 'bad regex'; }
  });
  window.tracefold = { zoom: zoom, unzoom: unzoom, search: function (t) {
    return search(t ? new RegExp(t) : null); } };
})();
"""


class SvgWriter(FoldedWriter):
    name = "svg"
    description = "interactive SVG flame graph (zoom, search, tooltips)"

    def fold_options(self):
        # frame kinds for the palette: annotate kernel / JIT frames (the colour shows it; the
        # tooltip names the kind)
        o = super().fold_options()
        o.kernel = o.jit = True
        return o

    def end(self):
        lines = self.folded_lines()
        unit = "ns" if self.folder.mode == "calls" and self.options.get("weight") != "calls" \
            else ("calls" if self.options.get("weight") == "calls" else "samples")
        src = self.info.get("source") or ""
        title = self.options.get("title") or ("Flame Chart" if self.options.get("flamechart")
                                              else ("Icicle Graph" if self.options.get("inverted")
                                                    else "Flame Graph"))
        subtitle = f"{src.rsplit('/', 1)[-1]} — {self.info.get('format', '')}, weight: {unit}"
        svg = render(lines, title=title, subtitle=subtitle,
                     inverted=bool(self.options.get("inverted")),
                     flamechart=bool(self.options.get("flamechart")),
                     minwidth=float(self.options.get("minwidth") or 0.1),
                     palette=self.options.get("palette") or "auto", unit=unit)
        with self.open_text() as f:
            f.write(svg)
