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
from dataclasses import dataclass

from ..analysis.folded import FoldOptions
from ..errors import UsageError
from .folded import FoldedWriter

WIDTH = 1200
FRAME_H = 16
FONT = 12
CHAR_W = 0.59               # Verdana-ish average glyph width, per unit of font size
PAD_X = 10

KIND_SUFFIX = {"_[k]": "kernel", "_[j]": "jit", "_[i]": "inlined"}
FS_COLORS = {"syscall": "#a6cee3", "vfs": "#1f78b4", "security": "#b2df8a", "path": "#33a02c",
             "pagecache": "#fb9a99", "block": "#fdbf6f", "driver": "#ff7f00",
             "irq": "#6a3d9a", "sched": "#b15928", "other": "#cab2d6", "unknown": "#dddddd",
             "fs": "#e31a1c"}
# flamegraph.pl's palettes (--colors), plus auto (by frame kind) and fs (file-system layers)
PALETTES = ("auto", "hot", "mem", "io", "wakeup", "chain", "java", "js", "perl", "red", "green",
            "blue", "aqua", "yellow", "purple", "orange", "fs")


@dataclass
class SvgOptions(FoldOptions):
    """flamegraph.pl's options, same names and meanings (its defaults, but ``colors``: auto
    colours frames by kind — kernel, JIT, inlined — which hot does not)."""
    title: str | None = None        # default: Flame Graph / Icicle Graph / Flame Chart
    subtitle: str | None = None     # default: the input's name, format and unit
    width: int = WIDTH              # image width, pixels
    height: int = FRAME_H           # frame height, pixels
    fontsize: float = FONT
    minwidth: str | float = 0.1     # frames narrower are merged or left out: pixels, or "N%"
    colors: str = "auto"            # a name of PALETTES
    hash: bool = False              # colours from the name (tracefold always does: no random)
    countname: str | None = None    # the unit of the counts (default: from the input)
    reverse: bool = False           # stacks reversed: leaf first (merges the callers)
    inverted: bool = False          # icicle graph: roots on top
    negate: bool = False            # differential: red = shrank, blue = grew

    def __post_init__(self):
        super().__post_init__()
        if self.colors not in PALETTES:
            raise UsageError(f"--colors: one of {', '.join(PALETTES)}, not {self.colors!r}")
        text = str(self.minwidth).strip()
        try:
            self.minwidth_value = float(text.rstrip("%"))
        except ValueError:
            raise UsageError(f"--minwidth: pixels or a percentage (0.1, 0.5%), not {text!r}") \
                from None
        self.minwidth_pct = text.endswith("%")
        for name in ("width", "height", "fontsize"):
            if not getattr(self, name) > 0:
                raise UsageError(f"--{name} must be positive")
        if self.minwidth_value < 0:
            raise UsageError("--minwidth must not be negative")

    def minwidth_px(self) -> float:
        if self.minwidth_pct:
            return (self.width - 2 * PAD_X) * self.minwidth_value / 100
        return self.minwidth_value


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


def build_tree(lines, flamechart=False, diff=False, reverse=False):
    """Folded lines ("a;b;c w" or "a;b;c base new") → a tree of Nodes (root = "all");
    ``reverse``: each stack leaf first."""
    root = Node("all")
    for ln in lines:
        if diff:
            stack, b, n = ln.rsplit(" ", 2)
            w, wb = int(n), int(b)
        else:
            stack, _, w = ln.rpartition(" ")
            w, wb = int(w), 0
        frames = stack.split(";") if stack else []
        if reverse:
            frames.reverse()
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
        if flamechart and frames and w:
            # the line's own weight, in time order among the frame's callees
            last = node.order[-1] if node.order else None
            if last is None or last.name is not None:
                last = Node(None)
                node.order.append(last)
            last.value += w
    return root


def _split_kind(name):
    for suf, kind in KIND_SUFFIX.items():
        if name.endswith(suf):
            return name[: -len(suf)], kind
    return name, "user"


def _hash01(s: str, salt: str = "") -> float:
    return int(hashlib.md5((salt + s).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


# flamegraph.pl's single-hue palettes: per channel (base, span, which of the two name hashes)
_HUES = {
    "hot": ((205, 50, 1), (0, 230, 0), (0, 55, 1)),
    "mem": ((0, 0, 0), (190, 50, 1), (0, 210, 0)),
    "io": ((80, 60, 0), (80, 60, 0), (190, 55, 1)),
    "red": ((200, 55, 0), (50, 80, 0), (50, 80, 0)),
    "green": ((50, 60, 0), (200, 55, 0), (50, 60, 0)),
    "blue": ((80, 60, 0), (80, 60, 0), (205, 50, 0)),
    "yellow": ((175, 55, 0), (175, 55, 0), (50, 20, 0)),
    "purple": ((190, 65, 0), (80, 60, 0), (190, 65, 0)),
    "aqua": ((50, 60, 0), (165, 55, 0), (165, 55, 0)),
    "orange": ((190, 65, 0), (90, 65, 0), (0, 0, 0)),
}


def _hue(family, v):
    return "rgb({},{},{})".format(*(base + int(span * v[k]) for base, span, k in _HUES[family]))


def _family(name, kind, palette):
    """The hue family of a frame under a palette that colours by what the frame is."""
    if palette == "wakeup":
        return "aqua"
    if palette == "chain":
        return "blue" if name == "--" else "aqua"
    if kind == "kernel":
        return "orange"
    if kind == "jit":
        return "green"
    if kind == "inlined":
        return "aqua"
    if palette == "java" and ("/" in name or "." in name.split("(", 1)[0]):
        return "green"                          # Java methods: package/Class.method
    if palette in ("java", "perl") and "::" in name:
        return "yellow"                         # C++ / Perl package names
    if palette == "perl" and ".pl" in name:
        return "green"
    if palette == "js" and ("/" in name or ".js" in name):
        return "green"
    return "red" if palette in ("java", "js", "perl") else "hot"


def color(name, kind, palette):
    """Deterministic colours from the name (a frame keeps its colour between graphs)."""
    v1, v2 = _hash01(name), _hash01(name, "2")
    if palette == "fs":
        base = name.split()[0]
        return FS_COLORS.get(base, FS_COLORS["fs"])
    if palette in _HUES:
        return _hue(palette, (v1, v2))
    if palette != "auto":
        return _hue(_family(name, kind, palette), (v1, v2))
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
    """Frames as (depth, x, w, node) with narrow siblings merged; x and w in pixels, laid out
    as flamegraph.pl does (same frames at the same places where it draws them)."""
    frames = []
    scale = (width - 2 * PAD_X) / root.value if root.value else 0
    stack = [(root, 0, PAD_X)]
    while stack:
        node, depth, x = stack.pop()
        w = node.value * scale
        frames.append((depth, x, w, node))
        if flamechart:
            kids = node.order
            cx = x
        else:
            # a frame's own weight comes first, then its callees by name (as flamegraph.pl
            # lays out its sorted lines: "a;b 5" sorts before "a;b;c 3")
            kids = sorted(node.children.values(), key=lambda n: n.name)
            cx = x + (node.value - sum(k.value for k in kids)) * scale
        narrow, nx = [], None
        for k in kids:
            kw = k.value * scale
            if k.name is None:              # flame chart: the frame's own weight
                if narrow:
                    _flush_narrow(narrow, nx, depth + 1, scale, minwidth, frames)
                    narrow, nx = [], None
            elif kw < minwidth:
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


def render(lines, o: SvgOptions | None = None, *, title=None, subtitle="", diff=False,
           unit="samples", **fields) -> str:
    """The SVG of folded ``lines`` ("stack w", or "stack base new" with ``diff``). ``o`` (or
    SvgOptions ``fields``) as flamegraph.pl's options; its title / countname win over the
    ``title`` / ``unit`` given here as defaults."""
    o = o or SvgOptions(**fields)
    unit = o.countname or unit
    title = o.title or title or ("Flame Chart" if o.flamechart else
                                 "Icicle Graph" if o.inverted else "Flame Graph")
    if o.subtitle is not None:
        subtitle = o.subtitle
    width, fh, font = o.width, o.height, o.fontsize
    pad_top, pad_bottom = round(font * 13 / 3), round(font * 3)
    root = build_tree(lines, flamechart=o.flamechart, diff=diff, reverse=o.reverse)
    frames = layout(root, width, o.minwidth_px(), o.flamechart)
    depth = max((d for d, *_ in frames), default=0) + 1
    height = pad_top + depth * fh + pad_bottom
    total = root.value or 1
    dscale = 0
    if diff:
        for _, _, _, n in frames:
            n.delta = n.value - n.base
        dscale = max((abs(n.delta) for _, _, _, n in frames if n is not root), default=0)
    f2 = f"{font:g}"
    out = [f'<?xml version="1.0" standalone="no"?>\n'
           f'<svg version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'data-total="{total}" data-unit="{html.escape(unit)}" data-font="{f2}" '
           f'data-inverted="{int(o.inverted)}" data-diff="{int(diff)}">',
           f"<style>{_css(font)}</style>",
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f8f8"/>',
           f'<text id="title" x="{width / 2}" y="{font * 5 / 3:g}" text-anchor="middle" '
           f'font-size="{font + 5:g}">{html.escape(title)}</text>',
           f'<text id="subtitle" x="{width / 2}" y="{font * 19 / 6:g}" text-anchor="middle" '
           f'font-size="{f2}" fill="#555">{html.escape(subtitle)}</text>',
           f'<text id="unzoom" class="hide" x="{PAD_X}" y="{font * 5 / 3:g}">Reset Zoom</text>',
           f'<text id="search" x="{width - PAD_X}" y="{font * 5 / 3:g}" '
           f'text-anchor="end">Search</text>',
           f'<text id="matched" x="{width - PAD_X}" y="{height - font:g}" '
           f'text-anchor="end"></text>',
           f'<text id="details" x="{PAD_X}" y="{height - font:g}"> </text>',
           '<g id="frames">']
    sign = -1 if o.negate else 1
    for d, x, w, n in frames:
        name, kind = _split_kind(n.name)
        if n is root:
            name, kind = "all", "user"
        y = (pad_top + d * fh) if o.inverted else (height - pad_bottom - (d + 1) * fh)
        pct = 100.0 * n.value / total
        if diff:
            fill = diff_color(sign * n.delta, dscale)
            tip = (f"{name} ({n.value:,} {unit}, {pct:.2f}%; base {n.base:,}, "
                   f"change {n.delta:+,})")
        else:
            pal = "hot" if o.colors == "auto" and n is root else o.colors
            fill = "rgb(250,250,250)" if n.merged else color(name, kind, pal)
            tip = f"{name} ({n.value:,} {unit}, {pct:.2f}%)"
            if kind != "user":
                tip += f" [{kind}]"
        label = _fit(name, w, font)
        out.append(f'<g class="f" data-d="{d}" data-x="{x:.2f}" data-w="{w:.2f}" '
                   f'data-v="{n.value}" data-n="{html.escape(name, quote=True)}">'
                   f"<title>{html.escape(tip)}</title>"
                   f'<rect x="{x:.2f}" y="{y}" width="{max(w, 0.0):.2f}" height="{fh - 1}" '
                   f'fill="{fill}" rx="2" ry="2"/>'
                   f'<text x="{x + 3:.2f}" y="{y + fh - (fh - font) / 2 - 2.5:g}">'
                   f'{html.escape(label)}</text></g>')
    out.append("</g>")
    out.append(f"<script><![CDATA[{_JS}]]></script>")
    out.append("</svg>\n")
    return "\n".join(out)


def _fit(name, w, font=FONT):
    n = int((w - 6) / (CHAR_W * font))
    if n < 3:
        return ""
    return name if len(name) <= n else name[: n - 2] + ".."


def _css(font):
    return _CSS.replace("12px", f"{font:g}px").replace("17px", f"{font + 5:g}px")


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
  var W = +svg.getAttribute('width'), PAD = 10,
      CHAR = 0.59 * +(svg.getAttribute('data-font') || 12);
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
    Options = SvgOptions

    def fold_options(self):
        # frame kinds for the palette: annotate kernel / JIT frames (the colour shows it; the
        # tooltip names the kind)
        o = FoldOptions(**{k: getattr(self.o, k) for k in FoldOptions.__dataclass_fields__})
        o.kernel = o.jit = True
        return o

    def end(self):
        lines = self.folded_lines()
        unit = self.folder.unit()
        src = (self.info.get("source") or "").rsplit("/", 1)[-1]
        diff = self.base is not None
        subtitle = f"{src} — {self.info.get('format', '')}, weight: {unit}"
        if diff:
            subtitle += "; width = new, red = grew, blue = shrank"
        svg = render(lines, self.o, subtitle=subtitle, unit=unit, diff=diff,
                     title="Differential Flame Graph" if diff else None)
        with self.open_text() as f:
            f.write(svg)


def write_svg(lines, output: str, options: SvgOptions | None = None, **render_args):
    """The flame graph of folded lines (diff, fs layers) to ``output`` atomically."""
    from .atomic import write_text
    write_text(output, render(lines, options, **render_args))
