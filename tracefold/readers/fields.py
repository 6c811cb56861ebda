"""Tracepoint payloads → key/value fields.

The payload of a tracepoint is the event's own print format, not a line shape of the trace
format, so it is not in the .lark grammars: the raw text is always kept in the ``text``
column and this module adds the best key/value reading of it in ``fields``.
"""
from __future__ import annotations

import re

_KEY = re.compile(r"(?:^|(?<=[\s,]))([A-Za-z_][\w.\[\]-]*)[=:](?=\S)")
# sched_switch pretty form: "prev_comm:prev_pid [prio] state ==> next_comm:next_pid [prio]"
_SWITCH = re.compile(r"^(?P<prev_comm>.+):(?P<prev_pid>-?\d+) \[(?P<prev_prio>-?\d+)\] "
                     r"(?P<prev_state>\S+) ==> (?P<next_comm>.+):(?P<next_pid>-?\d+) "
                     r"\[(?P<next_prio>-?\d+)\](?: Latency: (?P<latency_us>[\d.]+) usecs)?$")
# sched_wakeup pretty form: "comm:pid [prio] CPU:001" / old "task comm:pid [prio] success=1 [031]"
_WAKEUP = re.compile(r"^(?:task )?(?P<comm>.+):(?P<pid>-?\d+) \[(?P<prio>-?\d+)\]"
                     r"(?: success=(?P<success>\d+))?"
                     r"(?: CPU:(?P<target_cpu>\d+)| \[(?P<cpu>\d+)\])?$")
_RAW_SYS_ENTER = re.compile(r"^NR (?P<id>-?\d+) \((?P<args>[^)]*)\)$")
_RAW_SYS_EXIT = re.compile(r"^NR (?P<id>-?\d+) = (?P<ret>-?\w+)$")
_PROBE = re.compile(r"^\((?P<ip>[^()]*)\)(?: (?P<rest>.*))?$")
_MARK = re.compile(r"^(?P<phase>[BESFC])"
                   r"(?:\|(?P<pid>-?\d+)(?:\|(?P<name>[^|]*)(?:\|(?P<value>.*))?)?)?\s*$")
_SYSCALL_ARG = re.compile(r"(\w+): ([^,]*)")
# block layer: "202,1 W 0 () 12862464 + 8 [supervise]" (rq), "8,0 R 123 + 8 [dd]" (bio)
_BLOCK = re.compile(r"^(?P<dev>\d+,\d+) (?P<rwbs>\S+) (?:(?P<bytes>\d+) \((?P<cmd>[^)]*)\) )?"
                    r"(?P<sector>\d+) \+ (?P<nr_sector>\d+)(?: (?P<extra>[^\[].*?))?"
                    r"(?: \[(?P<comm>[^\]]*)\])?\s*$")
# ext4 / jbd2 style "dev 8,13 ino 5898483 pos 0 len 4096": word, value, word, value …
_PAIRS = re.compile(r"^(?:[a-z_]+ \S+)(?: [a-z_]+ \S+)*\s*$")
_BRACKET_KV = re.compile(r"\[(\w+)=([^\]]*)\]")


def parse_kv(body: str) -> list[tuple[str, str]]:
    """'a=1 b=two words c=3' → [(a,1), (b,'two words'), (c,3)]; '' if no key=value at all."""
    keys = [m for m in _KEY.finditer(body) if body[m.end() - 1] == "="]
    if not keys:
        return []
    out = []
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(body)
        v = body[m.end():end].rstrip(" ,\n\t")
        if v.endswith(" ==>"):          # raw sched_switch: "prev_state=S ==> next_comm=…"
            v = v[:-4]
        out.append((m.group(1), v))
    return out


def _groups(m):
    return [(k, v) for k, v in m.groupdict().items() if v is not None]


def _known_event(name: str, body: str):
    """Fields of the events with a format of their own (scheduler, syscalls, markers, probes,
    block layer); None when none of those forms applies (the generic readings follow)."""
    m = None
    if name == "sched_switch" and "==>" in body and "prev_comm=" not in body:
        m = _SWITCH.match(body)
    elif (name.startswith("sched_wakeup") or name == "sched_waking") and "comm=" not in body:
        m = _WAKEUP.match(body)
    elif name.startswith("sys_enter_"):
        args = parse_syscall_args(body)
        if args:
            return args
    elif name.startswith("sys_exit_"):
        return [("ret", body)]
    elif name in ("sys_enter", "sys_exit"):
        m = _RAW_SYS_ENTER.match(body) or _RAW_SYS_EXIT.match(body)
        if m:
            return list(m.groupdict().items())
    elif name in ("tracing_mark_write", "print") or name.endswith("print"):
        msg = body.split(": ", 1)[1] if body.startswith("0x") and ": " in body else body
        m = _MARK.match(msg)
        return _groups(m) if m else (parse_kv(msg) or [("msg", msg)])
    if m:
        return _groups(m)
    if body.startswith("("):
        m = _PROBE.match(body)
        if m:
            return [("ip", m.group("ip"))] + (parse_kv(m.group("rest")) if m.group("rest")
                                               else [])
    if name.startswith("block_"):
        m = _BLOCK.match(body)
        if m:
            return _groups(m)
    return None


def parse_fields(name: str, body: str) -> list[tuple[str, str]]:
    body = body.strip()
    if not body:
        return []
    known = _known_event(name, body)
    if known is not None:
        return known
    kv = parse_kv(body)
    if kv:
        # "vec=3 [action=NET_RX]": the bracketed pair is a field too
        kv = [(k, _BRACKET_KV.sub("", v).strip()) if "[" in v and "=" in v else (k, v)
              for k, v in kv]
        kv += _BRACKET_KV.findall(body) if "[" in body and not body.startswith("[") else []
        return _dedup(kv)
    if _PAIRS.match(body):
        words = body.split()
        return list(zip(words[0::2], words[1::2]))
    return [("msg", body)]


def _dedup(pairs):
    seen, out = set(), []
    for k, v in pairs:
        if k not in seen:
            seen.add(k)
            out.append((k, v))
    return out


def parse_syscall_args(args: str) -> list[tuple[str, str]]:
    return [(k, v.strip()) for k, v in _SYSCALL_ARG.findall(args or "")]
