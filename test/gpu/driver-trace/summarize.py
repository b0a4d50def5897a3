#!/usr/bin/env python3
"""Summarise libcuda-trace logs.

  summarize.py LOG                   the summary of one program's log, as text
  summarize.py --row NAME LOG        one tab-separated line: NAME, #procaddr symbols, #called,
                                     #export tables, #processes, destructor-ran (for run-trace.sh)
  summarize.py --uuids LOG           the export-table UUIDs a wrap could apply to (rc 0, a head
                                     that reads as a byte size), one a line, in order
  summarize.py --all NAME=LOG ...    across programs: every symbol requested or called, with the
                                     programs that requested / called it and the total calls; every
                                     export-table UUID with the programs that asked for it

Log lines are "SEQ PID TID t_us=T EVENT key=value ..." (see libcuda-trace.c). A log can hold
several processes (Python starting helpers); counts are summed over them. Where a process ended
without running destructors (no "exit" line), its "count" lines are missing and the set of
called functions comes from its "first-call" lines alone (count shown as "?").
"""
import collections
import re
import sys

KV = re.compile(r'(\w+)=("[^"]*"|\S*)')


def parse(path):
    events = []
    try:
        f = open(path, errors="replace")
    except OSError:
        return events
    with f:
        for line in f:
            parts = line.split(" ", 4)
            if len(parts) < 5 or not parts[0].isdigit():
                continue
            seq, pid, tid, _t, rest = parts
            ev, _, kvs = rest.rstrip("\n").partition(" ")
            d = {k: v.strip('"') for k, v in KV.findall(kvs)}
            d.update(_seq=int(seq), _pid=pid, _tid=tid, _ev=ev)
            events.append(d)
    return events


class Trace:
    def __init__(self, path):
        self.events = parse(path)
        ev = self.events
        self.pids = sorted({e["_pid"] for e in ev})
        self.inits = [e for e in ev if e["_ev"] == "init"]
        self.exited = {e["_pid"] for e in ev if e["_ev"] == "exit"}
        self.gpa = [e for e in ev if e["_ev"] == "gpa"]
        self.exports = [e for e in ev if e["_ev"] == "export"]
        self.first = [e for e in ev if e["_ev"] == "first-call"]
        self.unresolved = [e for e in ev if e["_ev"] == "unresolved-call"]
        self.noslot = [e for e in ev if e["_ev"] == "no-slot"]
        # requested symbols (cuGetProcAddress), found or not
        self.requested = collections.OrderedDict()
        for e in self.gpa:
            key = e.get("sym", "")
            r = self.requested.setdefault(key, {"n": 0, "found": 0, "vers": set(), "flags": set(), "status": set()})
            r["n"] += 1
            r["found"] += e.get("rc") == "0"
            r["vers"].add(e.get("ver", "?"))
            r["flags"].add(e.get("flags", "?"))
            r["status"].add(e.get("status", "?"))
        # calls: symbol -> {"name": n, "procaddr": n}; None where only a first-call is known
        self.calls = collections.defaultdict(lambda: {"name": 0, "procaddr": 0})
        self.proc_calls = collections.defaultdict(int)  # (sym, ver, flags) -> n
        self.export_calls = collections.defaultdict(int)  # (uuid, idx) -> n
        for e in ev:
            if e["_ev"] != "count":
                continue
            n = int(e.get("n", 0))
            via = e.get("via")
            if via == "name":
                self.calls[e["sym"]]["name"] += n
            elif via == "procaddr":
                self.proc_calls[(e["sym"], e["ver"], e["flags"])] += n
                if n:
                    self.calls[e["sym"]]["procaddr"] += n
            elif via == "export":
                self.export_calls[(e["uuid"], e["idx"])] += n
        # processes that never ran their destructor: first-call lines stand in for counts
        self.uncounted = set()
        for e in self.first:
            if e["_pid"] in self.exited:
                continue
            via = e.get("via")
            if via in ("name", "procaddr"):
                self.uncounted.add(e["sym"])
                self.calls[e["sym"]]  # make sure it is listed
            elif via == "export":
                self.export_calls.setdefault((e["uuid"], e["idx"]), 0)

    def uuids(self):
        seen = collections.OrderedDict()
        for e in self.exports:
            u = e.get("uuid", "?")
            s = seen.setdefault(u, {"n": 0, "rc": set(), "head": set(), "code": set(), "head_ptr": set()})
            s["n"] += 1
            s["rc"].add(e.get("rc", e.get("error", "?")))
            s["head"].add(e.get("head", "-"))
            s["code"].add(e.get("code_entries", "-"))
            s["head_ptr"].add(e.get("head_ptr", "-"))
        return seen

    def called(self):
        return sorted(s for s, c in self.calls.items() if c["name"] or c["procaddr"] or s in self.uncounted)

    def row(self, name):
        return "\t".join(str(x) for x in (
            name, len([s for s in self.requested if s]), len(self.called()), len(self.uuids()),
            len(self.pids),
            "-" if not self.pids else "yes" if set(self.pids) <= self.exited else "no"))


def fmt_set(s):
    return ",".join(sorted(s, key=lambda v: (len(v), v)))


def one(path):
    t = Trace(path)
    out = []
    w = out.append
    w(f"log: {path}")
    if not t.inits:
        w("the interposer was never loaded in this program (no init line)")
        return "\n".join(out)
    w(f"processes: {len(t.pids)} ({' '.join(t.pids)}); destructor ran in: {len(t.exited)}")
    for e in t.inits:
        w(f"init pid {e['_pid']}: " + " ".join(f"{k}={v}" for k, v in e.items() if not k.startswith("_")))
    w("")
    found = sum(1 for s, r in t.requested.items() if s and r["found"])
    w(f"cuGetProcAddress: {len(t.gpa)} calls, {len([s for s in t.requested if s])} distinct symbols "
      f"({found} found at least once)")
    apis = collections.Counter(e.get("api") for e in t.gpa)
    w("  by entry point: " + ", ".join(f"{k} {v}" for k, v in apis.items()))
    vers = collections.Counter(e.get("ver") for e in t.gpa)
    w("  cudaVersion: " + ", ".join(f"{k} x{v}" for k, v in sorted(vers.items(), key=lambda kv: -kv[1])))
    flags = collections.Counter(e.get("flags") for e in t.gpa)
    w("  flags: " + ", ".join(f"{k} x{v}" for k, v in flags.items()))
    failed = [(s, r) for s, r in t.requested.items() if not r["found"]]
    if failed:
        w(f"  never found ({len(failed)}): " + " ".join(
            f"{s or '(empty)'}[ver={fmt_set(r['vers'])},status={fmt_set(r['status'])}]" for s, r in failed))
    if t.noslot:
        w(f"  handed out uncounted (trampolines used up): {len(t.noslot)}")
    w("")
    w(f"export tables: {len(t.uuids())}")
    for u, s in t.uuids().items():
        if s["head_ptr"] - {"-"}:  # the head is a pointer: where it points says more
            head = "pointer to " + fmt_set(s["head_ptr"])
        else:
            head = fmt_set(s["head"])
        w(f"  {u} requested {s['n']}x rc={fmt_set(s['rc'])} head={head} "
          f"code_entries={fmt_set(s['code'])}")
    if t.export_calls:
        w("  entries called (VGPU_TRACE_WRAP_EXPORT=1):")
        for (u, i), n in sorted(t.export_calls.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            w(f"    {u}[{i}] n={n if n else '?'}")
    w("")
    called = t.called()
    w(f"called: {len(called)} distinct functions (calls by name + through cuGetProcAddress pointers)")
    for s in called:
        c = t.calls[s]
        unk = "+?" if s in t.uncounted else ""
        w(f"  {s:45s} by-name={c['name']}{unk} via-procaddr={c['procaddr']}{unk}")
    req_not_called = [s for s in t.requested if s and t.requested[s]["found"] and s not in called]
    w("")
    w(f"requested and found but never called: {len(req_not_called)}")
    w("  " + " ".join(req_not_called))
    if t.unresolved:
        w("")
        w("called by name but missing from the real driver: " + " ".join(e["sym"] for e in t.unresolved))
    w("")
    w("first calls, in order (name: by name; pa: through a cuGetProcAddress pointer; ex: export entry):")
    order = []
    for e in t.first:
        via = e.get("via")
        if via == "name":
            order.append(f"name:{e['sym']}")
        elif via == "procaddr":
            order.append(f"pa:{e['sym']}@{e['ver']}/{e['flags']}")
        else:
            order.append(f"ex:{e['uuid'][:8]}[{e['idx']}]")
    for i in range(0, len(order), 4):
        w("  " + "  ".join(order[i:i + 4]))
    w("")
    w("cuGetProcAddress requests, in order (symbol@cudaVersion/flags -> rc):")
    reqs = [f"{e.get('sym') or '(empty)'}@{e.get('ver')}/{e.get('flags')}->{e.get('rc', e.get('error'))}" for e in t.gpa]
    for i in range(0, len(reqs), 4):
        w("  " + "  ".join(reqs[i:i + 4]))
    return "\n".join(out)


def across(pairs):
    traces = [(n, Trace(p)) for n, p in pairs]
    out = []
    w = out.append
    syms = collections.defaultdict(lambda: {"req": [], "call": [], "n": 0})
    for name, t in traces:
        for s, r in t.requested.items():
            if s and r["found"]:
                syms[s]["req"].append(name)
        for s in t.called():
            syms[s]["call"].append(name)
            syms[s]["n"] += t.calls[s]["name"] + t.calls[s]["procaddr"]
    w(f"symbols requested (found) or called, across {len(traces)} programs: {len(syms)}")
    w(f"{'symbol':45s} {'calls':>10s}  called-by | requested-by")
    for s in sorted(syms, key=lambda s: (-len(syms[s]["call"]), s)):
        d = syms[s]
        w(f"{s:45s} {d['n']:>10d}  {','.join(d['call']) or '-'} | {','.join(d['req']) or '-'}")
    w("")
    uu = collections.defaultdict(list)
    heads = collections.defaultdict(set)
    for name, t in traces:
        for u, s in t.uuids().items():
            uu[u].append(name)
            heads[u] |= (s["head_ptr"] - {"-"}) or s["head"]
    w(f"export-table UUIDs across programs: {len(uu)}")
    for u in sorted(uu, key=lambda u: -len(uu[u])):
        w(f"  {u} head={fmt_set(heads[u])}  {','.join(uu[u])}")
    return "\n".join(out)


def main(argv):
    if len(argv) == 2 and not argv[1].startswith("--"):
        print(one(argv[1]))
    elif len(argv) == 4 and argv[1] == "--row":
        print(Trace(argv[3]).row(argv[2]))
    elif len(argv) == 3 and argv[1] == "--uuids":
        for u, s in Trace(argv[2]).uuids().items():
            if "0" in s["rc"] and any(c not in ("-", "-1") for c in s["code"]):
                print(u)
    elif len(argv) >= 3 and argv[1] == "--all":
        print(across([a.split("=", 1) for a in argv[2:]]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
