"""The .lark grammars are the single description of line shapes: the fast-path regexes are
derived from them, and on real lines the derived regexes and Lark's own parser agree."""
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import ROOT, SAMPLES, manifest, need_shared
from tracefold.grammar import GrammarError, LineGrammar, canonical, load
from tracefold.readers import READERS


def test_every_fast_rule_compiles_for_python_and_re2():
    for r in READERS.values():
        g = load(r.grammar)
        for rule in r().order:
            inner = r.INNER.get(rule)
            rx = g.regex(rule, (inner,) if inner else ())
            re.compile(rx)
            pc.extract_regex(pa.array(["x"]), rx)      # RE2 accepts it (named groups only)
            if inner:
                re.compile(g.regex(inner))


def test_every_grammar_builds_a_lark_parser():
    for r in READERS.values():
        g = load(r.grammar)
        assert g.parser is not None
        assert g.parse("")[0] == "blank"


def test_regex_translation_constructs(tmp_path, monkeypatch):
    import tracefold.grammar as G
    (tmp_path / "t.lark").write_text(
        'line: a\n'
        'a: WORD ("," WORD)* _SP? [NUM] b?\n'
        'b: "x" ~ 2 | ("a".."c")+\n'
        'WORD: /[a-z]+/\nNUM: /\\d+/i\n_SP: / +/\n')
    monkeypatch.setattr(G, "GRAMMAR_DIR", tmp_path)
    g = LineGrammar("t")
    rx = re.compile(g.regex("a", capture=("b",)))
    m = rx.match("foo,bar 12xx")
    assert m and m.group("word") == "foo" and m.group("word__2") == "bar"
    assert m.group("num") == "12" and m.group("b") == "xx"
    assert rx.match("foo") and not rx.match("foo,")
    assert canonical("word__2") == "word"
    assert g.parse("foo,bar 12xx")[0] == "a"


def test_unnamed_group_in_terminal_is_refused(tmp_path, monkeypatch):
    import tracefold.grammar as G
    (tmp_path / "u.lark").write_text('line: T\nT: /(a|b)+/\n')
    monkeypatch.setattr(G, "GRAMMAR_DIR", tmp_path)
    with pytest.raises(GrammarError):
        LineGrammar("u").regex("line")


def corpus_lines(limit_per_file=25, limit_per_format=400):
    out = []
    for fmt, path in manifest():
        if fmt not in READERS:
            continue
        lines = path.read_text(errors="replace").splitlines()
        step = max(1, len(lines) // limit_per_file)
        out += [(fmt, str(path.relative_to(SAMPLES)), i + 1, ln)
                for i, ln in enumerate(lines[::step])][:limit_per_file]
    # spread over the files of each format, at most limit_per_format lines each (Earley is slow)
    by_fmt = {}
    for row in out:
        by_fmt.setdefault(row[0], []).append(row)
    res = []
    for rows in by_fmt.values():
        step = max(1, len(rows) // limit_per_format)
        res += rows[::step]
    return res


def test_fast_path_and_lark_agree_on_real_lines():
    """For every sampled real line the fast path accepts, Lark accepts it with the same rule
    and the same value for every terminal both report."""
    need_shared()
    checked = 0
    for fmt, path, no, text in corpus_lines():
        r = READERS[fmt]
        g = load(r.grammar)
        for rule in r().order:
            inner = r.INNER.get(rule)
            m = re.match(g.regex(rule, (inner,) if inner else ()), text)
            if not m:
                continue
            fast = {canonical(k): v for k, v in m.groupdict().items() if v}
            if inner:
                mi = re.match(g.regex(inner), fast.get(inner, ""))
                if not mi:
                    continue
                fast.update({canonical(k): v for k, v in mi.groupdict().items() if v})
            got_rule, slow = g.parse(text)
            assert got_rule == rule, (path, no, text)
            for k, v in fast.items():
                if k in slow and k != inner:
                    assert slow[k] == v, (path, no, k, v, slow[k], text)
            checked += 1
            break
    assert checked > 600


def test_quick_rules_and_lark_agree_on_real_lines():
    """Rare rules a reader tries with their regex before Lark (QUICK_RULES, header comments)
    give the same rule and fields as Lark on every real line either accepts."""
    need_shared()
    checked = 0
    for fmt, path, no, text in corpus_lines(limit_per_file=400, limit_per_format=4000):
        r = READERS[fmt]()
        if not r.QUICK_RULES:
            continue
        quick = r.quick(text)
        if quick is None and not text.lstrip().startswith("#"):
            continue
        try:
            slow = r.g.parse(text)
        except Exception:
            slow = None
        if quick is None:
            assert slow is None or slow[0] not in r.QUICK_RULES, (path, no, text, slow)
            continue
        assert slow is not None and slow[0] == quick[0], (path, no, text, quick, slow)
        assert {k: v for k, v in slow[1].items() if v} == \
            {k: v for k, v in quick[1].items() if v}, \
            (path, no, text)
        checked += 1
    assert checked > 100


def _split_cases():
    """(reader class, path) of every clean corpus file (and generated trace) of a format whose
    reader has split forms."""
    out = []
    out += [(READERS[fmt], path) for fmt, path in manifest()
            if fmt in READERS and getattr(READERS[fmt], "SPLIT", None)]
    from conftest import GENERATED
    out += [(READERS["ftrace"], p) for p in sorted(GENERATED.glob("vm-ftrace-*/*.txt"))]
    return out


def test_split_path_and_regex_agree_on_the_corpus():
    """The split fast path (``LineGrammar.pieces``: a line cut at its separators, each piece
    matched with its own regex) takes only lines the rule's full regex takes, with the same
    value for every field, on every line of every clean corpus file (both specialized to what
    the file's header says)."""
    need_shared()
    from tracefold.readers.base import Cols  # noqa: F401  (the reader API under test)
    taken = {}
    for cls, path in _split_cases():
        lines = pa.array(path.read_text(errors="replace").splitlines())
        if len(lines) == 0:
            continue
        r = cls()
        r.specialize(lines)
        for rule, seps in r.SPLIT.items():
            inner = r.INNER.get(rule)
            opaque = (inner,) if inner else ()
            res = r.split_fast(lines, rule, seps, opaque, (), r.absent, r.present)
            if res is None:
                continue
            smask, scols = res
            # the regex the reader used before: the rule's, specialized to the same header
            fmask, fcols = r.fast(lines, rule, opaque, (), r.absent)
            assert not (smask & ~fmask).any(), (path, rule, lines[int((smask & ~fmask).argmax())])
            # the full regex's rows at the lines the split path took
            pos = pa.array((pc.cumulative_sum(pa.array(fmask.astype("int64"))).to_numpy()
                            - 1)[smask])
            for k in fcols.names():
                a, b = scols[k], fcols[k].take(pos)
                assert a.equals(b), (path, rule, k, a.to_pylist()[:3], b.to_pylist()[:3])
            taken[cls.format] = taken.get(cls.format, 0) + int(smask.sum())
    # the split form is what makes these readers fast (bench/README.md): it must stay in use
    # for each of them (corpus + generated traces: 17104 ftrace, 16418 trace-cmd, 5651 uftrace)
    assert taken.get("ftrace", 0) > 15000 and taken.get("trace-cmd", 0) > 15000 \
        and taken.get("uftrace", 0) > 5000, taken


def test_lines_no_shape_regex_matches_are_lines_lark_rejects():
    """Reader.rare() skips Lark when no line shape's regex matches (their union is the
    grammar's language): on real lines, every line Lark parses has a matching shape regex."""
    need_shared()
    parsed = 0
    for fmt, path, no, text in corpus_lines(limit_per_file=25, limit_per_format=400):
        r = READERS[fmt]()
        try:
            r.g.parse(text)
        except Exception:
            continue
        assert r.some_shape(text), (path, no, text)
        parsed += 1
    assert parsed > 600


@pytest.mark.parametrize("trace", ["vm-ftrace-graph-hello-abstime-proc-tail/trace.txt",
                                   "vm-ftrace-function-stack/trace-io.txt"])
def test_trace_without_its_header_reads_the_same_and_takes_the_split_path(trace, tmp_path):
    """trace_pipe output has no column legend: the columns are guessed from the first lines,
    so the fast split path still applies, and the rows are those of the file with header."""
    need_shared()
    import tracefold
    from conftest import GENERATED
    from tracefold.readers.ftrace import FtraceReader
    text = (GENERATED / trace).read_text()
    lines = text.splitlines(keepends=True)
    head = sum(1 for ln in lines[:40] if ln.startswith("#"))
    bare = tmp_path / "bare.txt"
    bare.write_text("".join(lines[head:]))
    with_header = tracefold.read_arrow(GENERATED / trace)
    without = tracefold.read_arrow(bare)
    assert with_header.num_rows == without.num_rows
    for c in with_header.column_names:
        a, b = with_header.column(c).combine_chunks(), without.column(c).combine_chunks()
        if c in ("line", "end_line", "parent_line"):
            a = pc.subtract(a, head)
        assert a.equals(b), c

    def split_taken(path, skip):
        arr = pa.array(path.read_text().splitlines()[skip:])
        r = FtraceReader()
        r.specialize(pa.array(path.read_text().splitlines()))
        n = 0
        for rule, seps in r.SPLIT.items():
            res = r.split_fast(arr, rule, seps, (r.INNER[rule],), (), r.absent, r.present)
            n += int(res[0].sum()) if res is not None else 0
        return n
    # the guessed columns give the split path the lines the header's legend gives it
    taken = split_taken(bare, 0)
    assert taken == split_taken(GENERATED / trace, head) and taken > 0.3 * len(lines)


def _rare_corpus_lines():
    """Real lines of every format that no fast rule of its reader takes: the rare shapes
    (banners, markers, headers, comments …), each distinct text once."""
    import gzip
    from tracefold.readers import guess_format
    need_shared()
    files = [(fmt, path) for fmt, path in manifest(("clean", "edited")) if fmt in READERS]
    # the repository's real traces: busy-system banners, interrupts, lost events, drops
    for p in sorted((ROOT / "tests" / "golden").rglob("*.txt*")) + \
            sorted((ROOT / "samples").glob("*.txt")):
        if p.suffix in (".txt", ".gz") and not p.name.endswith((".report.txt", ".folded.txt")):
            try:
                files.append((guess_format(p), p))
            except Exception:
                continue
    big = SAMPLES.parent / "generated" / "vm-big-default" / "ftrace-graph-all-default.txt.gz"
    if big.exists():              # a busy system: context-switch banners of many task pairs
        files.append(("ftrace", big))
    seen = set()
    out = []
    for fmt, path in files:
        r = READERS[fmt]
        g = load(r.grammar)
        fast = [(re.compile(g.regex(rule, (r.INNER[rule],) if r.INNER.get(rule) else ())),
                 r.INNER.get(rule), re.compile(g.regex(r.INNER[rule])) if r.INNER.get(rule)
                 else None) for rule in r().order]

        def taken(t, fast=fast):    # by a fast rule: its regex, then its inner rule's
            for rx, inner, irx in fast:
                m = rx.match(t)
                if m and (inner is None or irx.match(m.group(inner) or "")):
                    return True
            return False

        raw = gzip.open(path).read(4 << 20) if path.suffix == ".gz" else path.read_bytes()
        for no, t in enumerate(raw.decode(errors="replace").splitlines(), 1):
            if (fmt, t) in seen or len(t) > 2000 or taken(t):
                continue
            seen.add((fmt, t))
            out.append((fmt, path.name, no, t))
    return out


def test_rare_lines_read_by_their_shape_regex_as_lark_reads_them():
    """Reader.read_rare reads a rare line with the regex of its only line shape instead of
    Lark (issue 14: no per-line Earley on common shapes). On every distinct real rare line of
    the corpus, that reading is Lark's: the same rule and the same non-empty fields."""
    by_fmt = {}
    for fmt, path, no, text in _rare_corpus_lines():
        by_fmt.setdefault(fmt, []).append((path, no, text))
    checked = 0
    shapes = set()
    for fmt, rows in by_fmt.items():
        r = READERS[fmt]()
        texts = [t for _, _, t in rows]
        r._read_shapes(pa.array(texts, pa.string()))
        for path, no, text in rows:
            if text not in r._rare_cache:
                continue                # several readings, or none: Lark decides
            quick = r._rare_cache[text]
            try:
                slow = r.g.parse(text)
            except Exception:
                slow = None
            assert slow is not None, (fmt, path, no, text, quick)
            assert slow[0] == quick[0], (fmt, path, no, text, quick, slow)
            assert {k: v for k, v in slow[1].items() if v} == quick[1], \
                (fmt, path, no, text, quick, slow)
            shapes.add((fmt, quick[0]))
            checked += 1
    assert checked > 250, checked
    # the shapes that matter on real traces are among them
    for want in [("ftrace", "banner_switch"), ("ftrace", "banner_rule"),
                 ("ftrace", "lost_events"), ("trace-cmd", "dropped_events")]:
        assert want in shapes, (want, sorted(shapes))


@pytest.mark.parametrize("text", [
    # print_graph_irq's markers (kernel/trace/trace_functions_graph.c), with and without the
    # abstime column; no real trace at hand has them (funcgraph-irqs on an irqentry function)
    " 1)   ==========> |", " 0)  <========== |", " 1) ==========>",
    " 1234.567890 |   1)   ==========> |"])
def test_irq_markers_are_read_without_lark(text):
    from tracefold.readers.ftrace import FtraceReader
    r = FtraceReader()
    got = r.read_rare(pa.array([text]), np.arange(1))
    assert got[0][2] is not None and got[0][2][0] == "irq_marker", got
    assert r.stats.lark_lines == 0
    assert r.g.parse(text)[0] == "irq_marker"
    assert {k: v for k, v in r.g.parse(text)[1].items() if v} == got[0][2][1]

