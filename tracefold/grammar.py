"""Lark grammars as the single description of each format's line shapes.

Every reader owns one ``.lark`` file in ``tracefold/grammars/``. From that one file we get:

* a Lark Earley parser (``LineGrammar.parse``) that handles the rare line shapes (headers,
  banners, markers …) and produces precise error messages for lines no rule accepts, and
* fast regular expressions (``LineGrammar.regex``) derived mechanically from the grammar's
  rules and terminals.  They run over whole chunks of lines at once with pyarrow's RE2 engine
  (``pyarrow.compute.extract_regex``), which is how the hot path reaches tens of MB/s.

No reader contains a hand-written pattern for a line shape: it asks the grammar for the
regex of a rule.  Capturing groups are named after the grammar's named rules and terminals,
so the fast path and the Lark path report the same field names (``tests/test_grammar.py``
checks on the whole corpus that both agree line by line).

Translation rules (EBNF → regex):
  rule alternatives ``a | b``  → ``(?:a|b)``;  ``x?`` / ``[x]`` → ``(?:x)?``; ``x*``, ``x+``,
  ``x ~ n``, ``x ~ n..m`` → the same quantifiers;  ``"lit"`` → escaped literal;
  ``/re/flags`` → ``(?flags:re)``;  ``"a".."z"`` → ``[a-z]``.
  A reference to a named rule or terminal (name not starting with ``_``) becomes a named group
  ``(?P<name>…)`` (lower-cased; repeated names get ``__2``, ``__3`` …  and are coalesced by
  :func:`canonical`).  Rules listed as *opaque* compile to ``(?P<name>.*)``: the caller matches
  their text with that rule's own regex in a second, cheaper pass.
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput
from lark.load_grammar import GrammarBuilder

GRAMMAR_DIR = Path(__file__).resolve().parent / "grammars"


def canonical(group: str) -> str:
    """Name of the grammar symbol behind a regex group (``pid__2`` → ``pid``)."""
    return group.split("__", 1)[0]


class GrammarError(Exception):
    pass


class _NoSplit(Exception):
    """The rule has a separator inside an optional part or alternative: no split form."""


class LineGrammar:
    """One ``.lark`` file: Lark parser for rare lines, regexes for the hot path."""

    def __init__(self, name: str, text: str | None = None):
        self.name = name
        self.path = GRAMMAR_DIR / f"{name}.lark"
        self.text = self.path.read_text() if text is None else text
        rule_defs, term_defs = _built(self.text, str(self.path))
        self._rules = {str(r[0]): r for r in rule_defs}
        self._terms = {str(t[0]): t[1][0] for t in term_defs}
        self._parser = None

    def variant(self, rule: str, definition: str) -> "LineGrammar":
        """The same grammar with one (single-line) rule defined differently, e.g. uftrace's
        ``columns`` in the order a file's header gives. Cached."""
        return _variant(self, rule, definition)

    # ---------------------------------------------------------------- Lark side
    @property
    def parser(self) -> Lark:
        if self._parser is None:
            # The Earley "dynamic_complete" lexer tries every length a terminal can match, so
            # lazy quantifiers (used in the grammar to keep RE2 fast) only hide lengths from it.
            # Turning them greedy keeps each terminal's language unchanged.
            self._parser = Lark(
                _greedy(self.text),
                parser="earley",
                lexer="dynamic_complete",
                start="line",
                ambiguity="resolve",
                propagate_positions=True,
                import_paths=[_greedy_loader],
            )
        return self._parser

    def parse(self, line: str):
        """Parse one line with Lark.

        Returns ``(rule, fields)`` where ``rule`` is the alternative of ``line`` that matched and
        ``fields`` maps every named rule/terminal in the tree to its text (first occurrence),
        or raises :class:`UnexpectedInput` with Lark's position information.
        """
        tree = self.parser.parse(line)
        top = tree.children[0] if tree.children and isinstance(tree.children[0], Tree) else tree
        fields: dict[str, str] = {}
        _collect(top, line, fields)
        return strip_ns(str(top.data)), fields

    def explain(self, line: str, error: Exception | None = None) -> str:
        """Short human reason why no rule of the grammar accepts ``line`` (from the ``error``
        a parse of it raised, when the caller has it)."""
        try:
            if error is not None:
                raise error
            self.parse(line)
            return "accepted by the grammar but not by the reader"
        except UnexpectedInput as e:  # pragma: no branch
            col = getattr(e, "column", None)
            return f"no rule matches at column {col}" if col is not None and col > 0 \
                else "no rule matches the whole line"
        except LarkError as e:
            return f"no rule matches ({type(e).__name__})"

    def alternatives(self, start: str = "line") -> list[str]:
        """Names of the rules listed as alternatives of ``start`` (the line shapes)."""
        out = []
        for exp in self._rules[start][2].children:
            sym = exp.children[0].children[0] if len(exp.children) == 1 else None
            if sym is None or not hasattr(sym, "name"):
                raise GrammarError(f"{self.name}: each alternative of {start} must be one rule")
            out.append(strip_ns(str(sym.name)))
        return out

    @functools.lru_cache(maxsize=None)  # noqa: B019 - grammars live as long as the process (load)
    def subrules(self, rule: str) -> tuple[str, ...]:
        """Named rules (not ``_x``) used by ``rule``, directly or not, in order of first use:
        the rules Lark reports as fields of a line of that shape."""
        out: dict[str, None] = {}

        def walk(t, stack):
            if isinstance(t, Tree):
                for c in t.children:
                    walk(c, stack)
                return
            sym = getattr(t, "name", None)
            if sym is None or type(t).__name__ == "Terminal" or sym in stack:
                return
            if not strip_ns(sym).startswith("_"):
                out.setdefault(strip_ns(sym))
            walk(self._rules[sym][2], stack + (sym,))

        walk(self._rules[rule][2], (rule,))
        return tuple(out)

    def priority(self, rule: str) -> int:
        """The rule's Lark priority (``rule.2: …``), 0 when not given."""
        opts = self._rules[rule][3] if rule in self._rules else None
        return (getattr(opts, "priority", None) or 0) if opts is not None else 0

    # ---------------------------------------------------------------- regex side
    @functools.lru_cache(maxsize=None)  # noqa: B019 - grammars live as long as the process (load)
    def regex(self, rule: str, opaque: tuple[str, ...] = (), anchor: bool = True,
              capture: tuple[str, ...] = (), absent: tuple[str, ...] = (),
              skip: tuple[str, ...] = ()) -> str:
        """Regex (RE2- and Python-compatible) for one rule of the grammar.

        Named terminals and the ``opaque`` rules become named groups; other rules only when
        listed in ``capture`` (every group costs RE2 time on the hot path).
        ``absent`` names symbols a file is known not to contain (e.g. columns its header does
        not list): optional parts and alternatives that use them are left out, which gives a
        smaller regex whose language is a subset of the rule's.
        """
        counts: dict[str, int] = {}
        self._capture = frozenset(capture) | frozenset(opaque)
        self._absent = frozenset(absent)
        self._skip = frozenset(x.lower() for x in skip)     # terminals matched, not captured
        self._present = frozenset()
        body = self._rule_re(rule, frozenset(opaque), counts, (), top=True)
        return f"^{body}$" if anchor else body

    @functools.lru_cache(maxsize=None)  # noqa: B019 - grammars live as long as the process (load)
    def pieces(self, rule: str, seps: tuple[str, ...], opaque: tuple[str, ...] = (),
               capture: tuple[str, ...] = (), absent: tuple[str, ...] = (),
               present: tuple[str, ...] = (), skip: tuple[str, ...] = ()):
        """The rule cut at its separators, for the split fast path; None when it cannot be cut.

        ``seps`` names the separators: string literals (``'"]"'``) or terminals whose pattern
        ends with one literal character (``_BAR: /[ \\t]*\\|/``: the ``[ \\t]*`` stays with the
        piece before). With ``absent`` / ``present`` (what a file's header says about its
        columns) optional parts that hold a separator are left out or made required; any other
        optional part or alternative holding a separator makes the rule uncuttable.

        Returns ``(chars, regexes, names)``: the separator characters in line order, one
        anchored regex per piece (``len(chars) + 1``) with the same named groups as
        :meth:`regex`, and per separator the field name of a named separator terminal (its
        group ends the piece before; the caller appends the character) or None.
        A line split at the first occurrence of each character in turn, whose pieces each
        match their regex, matches the rule's regex with the same fields (or the line is
        ambiguous under the grammar, where both readings are valid: tests compare the two
        paths on the corpus)."""
        self._capture = frozenset(capture) | frozenset(opaque)
        self._absent = frozenset(absent)
        self._skip = frozenset(x.lower() for x in skip)
        self._present = frozenset(present)
        sepmap = {}
        for s in seps:
            if s.startswith('"'):
                sepmap[("lit", ast.literal_eval(s))] = (ast.literal_eval(s), "", None)
            else:
                toks = list(self._terms[s].scan_values(lambda x: isinstance(x, Token)))
                if len(toks) != 1:
                    raise GrammarError(f"{self.name}.lark: separator {s} must be one literal")
                v = str(toks[0])
                body = v[1:v.rindex("/")] if v.startswith("/") else re.escape(ast.literal_eval(v))
                for ch in "|]):[(":
                    if body.endswith(re.escape(ch)):
                        name = None if s.startswith("_") else s.lower()
                        sepmap[("term", s)] = (ch, body[: -len(re.escape(ch))], name)
                        break
                else:
                    raise GrammarError(f"{self.name}.lark: separator {s} must end with one "
                                       "character")
        self._sepmap = sepmap
        try:
            items = self._flat(self._rules[rule][2], (rule,))
        except _NoSplit:
            return None
        chars, regexes, named, cur = [], [], [], []
        counts: dict[str, int] = {}
        op = frozenset(opaque)
        for it in items:
            if it[0] == "sep":
                _, ch, prefix, name = it
                chars.append(ch)
                named.append(name)
                if name:                    # a named separator: its text is a field too
                    prefix = self._group(name, prefix, counts)[:-1] + ")"
                elif prefix:
                    prefix = f"(?:{prefix})"
                regexes.append("^" + "".join(cur) + prefix + "$")
                cur = []
            else:
                cur.append(self._tree_re(it[1], op, counts, (rule,), in_term=False))
        regexes.append("^" + "".join(cur) + "$")
        return (tuple(chars), tuple(regexes), tuple(named)) if chars else None

    def _sep_of(self, t):
        if isinstance(t, Tree):
            if t.data == "literal" and t.children[0].type == "STRING":
                v = str(t.children[0])
                if v.endswith('"'):
                    return self._sepmap.get(("lit", ast.literal_eval(v)))
            return None
        if type(t).__name__ == "Terminal":
            return self._sepmap.get(("term", t.name))
        return None

    def _has_sep(self, t, stack=()) -> bool:
        if self._sep_of(t) is not None:
            return True
        if isinstance(t, Tree):
            return any(self._has_sep(c, stack) for c in t.children)
        if type(t).__name__ == "NonTerminal" and t.name not in stack:
            if strip_ns(t.name) in self._capture:
                return False
            return self._has_sep(self._rules[t.name][2], stack + (t.name,))
        return False

    def _mentions(self, t, names, stack=()) -> bool:
        if isinstance(t, Tree):
            return any(self._mentions(c, names, stack) for c in t.children)
        name = getattr(t, "name", None)
        if name is None:
            return False
        if strip_ns(name) in names or strip_ns(name).lower() in names:
            return True
        if type(t).__name__ == "NonTerminal" and name not in stack:
            return self._mentions(self._rules[name][2], names, stack + (name,))
        return False

    def _flat(self, t, stack):
        """The rule as a flat list of ("sep", char, prefix_re) and ("re", node) items."""
        sep = self._sep_of(t)
        if sep is not None:
            return [("sep",) + sep]
        if not self._has_sep(t, stack):
            return [("re", t)]
        if isinstance(t, Tree):
            d = t.data
            if d == "expansions":
                # as in _tree_re: alternatives using an absent symbol are left out (the first
                # stays when all do)
                kids = [c for c in t.children if not self._uses_absent(c)] or t.children[:1]
                if len(kids) != 1:
                    raise _NoSplit
                return self._flat(kids[0], stack)
            if d == "expansion":
                return [it for c in t.children for it in self._flat(c, stack)]
            if d == "value":
                return self._flat(t.children[0], stack)
            if d == "maybe" or (d == "expr" and t.children[1] == "?"):
                if self._uses_absent(t.children[0]):
                    return []
                if self._mentions(t.children[0], self._present):
                    return self._flat(t.children[0], stack)
            raise _NoSplit
        # a rule holding a separator: inline it (its own group, if any, is lost: refuse)
        if strip_ns(t.name).startswith("_") or strip_ns(t.name) not in self._capture:
            return self._flat(self._rules[t.name][2], stack + (t.name,))
        raise _NoSplit

    def _uses_absent(self, tree) -> bool:
        """True when every way of matching ``tree`` needs a symbol listed as absent."""
        absent = getattr(self, "_absent", frozenset())
        if not absent:
            return False
        return self._requires(tree, absent)

    def _requires(self, t, absent) -> bool:
        if isinstance(t, Tree):
            d = t.data
            if d == "expansions":
                return all(self._requires(c, absent) for c in t.children)
            if d == "expansion":
                return any(self._requires(c, absent) for c in t.children)
            if d == "value":
                return self._requires(t.children[0], absent)
            if d == "maybe":
                return self._requires(t.children[0], absent)
            if d == "expr":
                return self._requires(t.children[0], absent)
            return False
        name = getattr(t, "name", None)
        return name is not None and (strip_ns(name) in absent or strip_ns(name).lower() in absent)

    def _group(self, name: str, inner: str, counts: dict) -> str:
        g = strip_ns(name).lower()
        n = counts.get(g, 0) + 1
        counts[g] = n
        gname = g if n == 1 else f"{g}__{n}"
        return f"(?P<{gname}>{inner})"

    def _rule_re(self, name, opaque, counts, stack, top=False):
        if name in stack:
            raise GrammarError(f"{self.name}.lark: rule {name} is recursive; it has no regex form")
        if name not in self._rules:
            raise GrammarError(f"{self.name}.lark: no rule {name}")
        tree = self._rules[name][2]
        if strip_ns(name) in opaque and not top:
            return ".*"
        return self._tree_re(tree, opaque, counts, stack + (name,), in_term=False)

    def _term_re(self, name, stack=()):
        if name in stack:
            raise GrammarError(f"{self.name}.lark: terminal {name} is recursive")
        return self._tree_re(self._terms[name], frozenset(), {}, stack + (name,), in_term=True)

    def _tree_re(self, t, opaque, counts, stack, in_term):
        rec = functools.partial(self._tree_re, opaque=opaque, counts=counts, stack=stack,
                                in_term=in_term)
        if isinstance(t, Tree):
            d = t.data
            if d == "expansions":
                kids = [c for c in t.children if not self._uses_absent(c)] or t.children[:1]
                alts = [rec(c) for c in kids]
                return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
            if d == "expansion":
                return "".join(rec(c) for c in t.children)
            if d == "value":
                return rec(t.children[0])
            if d == "maybe" or (d == "expr" and t.children[1] == "?"):
                if self._uses_absent(t.children[0]):
                    return ""
                if self._present and self._mentions(t.children[0], self._present):
                    return f"(?:{rec(t.children[0])})"
                return f"(?:{rec(t.children[0])})?"
            if d == "expr":
                op = t.children[1]
                if op in ("?", "*") and self._uses_absent(t.children[0]):
                    return ""
                inner = rec(t.children[0])
                if op == "~":
                    lo = int(t.children[2])
                    hi = int(t.children[3]) if len(t.children) > 3 else lo
                    return f"(?:{inner}){{{lo},{hi}}}"
                return f"(?:{inner}){op}"
            if d == "literal":
                return _literal_re(t.children[0])
            if d == "range":
                a, b = (ast.literal_eval(str(x)) for x in t.children)
                return f"[{re.escape(a)}-{re.escape(b)}]"
            raise GrammarError(f"{self.name}.lark: unsupported construct {d}")
        return self._symbol_re(t, opaque, counts, stack, in_term)

    def _symbol_re(self, t, opaque, counts, stack, in_term):
        """Regex of a reference to a rule or terminal: a named group where it is captured."""
        sym = getattr(t, "name", None)
        if sym is None:
            raise GrammarError(f"{self.name}.lark: unexpected {t!r}")
        is_term = type(t).__name__ == "Terminal"
        if is_term:
            inner = self._term_re(sym)
            if in_term or sym.startswith("_") or sym.startswith("__") or \
                    strip_ns(sym).lower() in getattr(self, "_skip", ()):
                return f"(?:{inner})"
            return self._group(sym, inner, counts)
        inner = self._rule_re(sym, opaque, counts, stack)
        if strip_ns(sym).startswith("_") or strip_ns(sym) not in self._capture:
            return f"(?:{inner})"
        return self._group(sym, inner, counts)


CACHE_FORMAT = "2"


def _built(text: str, path: str):
    """Lark's reading of a grammar (rule and terminal definitions): ~30 ms per grammar, which
    every command pays for format detection, so it is kept in a cache file keyed by the
    grammar's text (with the %imported grammars) and Lark's version. The cache is only a
    speed-up: unreadable or unwritable, the grammar is read again."""
    import hashlib
    import os
    import pickle
    import lark
    # CACHE_FORMAT: bumped when what is checked or kept at build time changes (a grammar is
    # cached only once it passed the checks)
    key = hashlib.sha256("\0".join(
        [CACHE_FORMAT, lark.__version__, text]
        + [p.read_text() for p in sorted(GRAMMAR_DIR.glob("*.lark"))]
    ).encode()).hexdigest()[:32]
    base = os.environ.get("TRACEFOLD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tracefold")
    cache = os.path.join(base, f"grammar-{key}.pickle")
    try:
        with open(cache, "rb") as f:
            return pickle.load(f)
    except Exception:
        pass
    gb = GrammarBuilder(import_paths=[str(GRAMMAR_DIR)])
    gb.load_grammar(text, path)
    built = gb.build()
    _check_terms(built.term_defs)
    out = (built.rule_defs, built.term_defs)
    try:
        os.makedirs(base, exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(out, f)
        os.replace(tmp, cache)
    except OSError:
        pass
    return out


def _greedy(text: str) -> str:
    return text.replace(".*?", ".*").replace(".+?", ".+")


def _greedy_loader(base_path, grammar_path):
    """Lark import loader for %import .other: same files, lazy quantifiers made greedy."""
    p = GRAMMAR_DIR / grammar_path
    if not p.exists():
        raise IOError(grammar_path)
    return str(p), _greedy(p.read_text())


def strip_ns(name: str) -> str:
    # names imported with %import get a "grammar__" namespace prefix in Lark
    return name.rsplit("__", 1)[-1] if "__" in name.strip("_") else name


def _literal_re(tok: Token) -> str:
    v = str(tok)
    if tok.type == "STRING":
        flags = v[v.rindex('"') + 1:]
        s = ast.literal_eval(v[: v.rindex('"') + 1])
        s = re.escape(s)
        return f"(?{flags}:{s})" if flags else s
    # REGEXP /.../flags (checked for capturing groups when the grammar is read: _check_terms)
    end = v.rindex("/")
    body, flags = v[1:end], v[end + 1:]
    return f"(?{flags}:{body})" if flags else f"(?:{body})"


def _check_terms(term_defs):
    """A regex terminal must not capture: its regex goes inside the rule's named groups."""
    for _, (tree, _prio) in term_defs:
        for tok in tree.scan_values(lambda x: isinstance(x, Token) and x.type == "REGEXP"):
            v = str(tok)
            if re.compile(v[1:v.rindex("/")]).groups:
                raise GrammarError(f"regex terminal {v} has an unnamed capturing group; "
                                   "use (?:...)")


def _collect(tree, line, out):
    for c in tree.children:
        if isinstance(c, Tree):
            name = strip_ns(str(c.data))
            if not name.startswith("_") and name not in out and not c.meta.empty:
                out[name] = line[c.meta.start_pos:c.meta.end_pos]
            _collect(c, line, out)
        elif isinstance(c, Token):
            name = strip_ns(c.type)
            if not name.startswith("_") and not name.startswith("ANON"):
                out.setdefault(name.lower(), str(c))


@functools.lru_cache(maxsize=None)
def _variant(g: LineGrammar, rule: str, definition: str) -> LineGrammar:
    pat = re.compile(rf"^{re.escape(rule)}(\.\d+)?:.*$", re.M)
    if len(pat.findall(g.text)) != 1:
        raise GrammarError(f"{g.name}: rule {rule} must be defined on exactly one line")
    return LineGrammar(g.name, pat.sub(lambda m: f"{rule}{m.group(1) or ''}: {definition}",
                                      g.text))


@functools.lru_cache(maxsize=None)
def load(name: str) -> LineGrammar:
    return LineGrammar(name)
