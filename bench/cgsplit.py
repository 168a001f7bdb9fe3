"""cgsplit — read a callgrind dump (format 1, positions: line, events: Ir) and split its
instructions into the application's share and the stack's, by function.

Self cost per function; calls made *by application functions* (examples/…, bench/
app sources) to anything but the stack's socket API count as application
(sha256 and its memcpy, printf, pthread_create); the socket calls they make do not.
Usage: python3 cgsplit.py FILE  (prints JSON)
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

APP_FILES = re.compile(r"/examples/eth_basic/host/|/bench/(?!lwip_tapif\.c)[^/]*\.c$")
# Names through which the application enters a stack (ours: shim lwip_* + esp_smoltcp_host_*;
# lwIP: lwip_*). Everything an app function calls that is not one of these stays app cost.
STACK_API = re.compile(r"^(lwip_|esp_smoltcp_host_)")

CATEGORIES = [
    ("app", None),
    ("checksum", re.compile(r"inet_sum16|checksum|chksum|tx_checksum", re.I)),
    ("memcpy/memmove", re.compile(r"mem(cpy|move|set)|__memcpy|__memmove")),
    ("smoltcp engine", re.compile(r"smoltcp::|<smoltcp|managed::|heapless::")),
    ("glue (Rust)", re.compile(r"esp_smoltcp_glue|^esg_")),
    ("runtime+shim (C)", None),  # by file: components/
    ("lwIP", None),              # by object: liblwip
    ("locks/threads (libc)", re.compile(r"pthread_|futex|__lll_|sem_|cond_|mutex|clock_gettime|__GI___clock|nanosleep")),
    ("syscall stubs (libc)", re.compile(r"^(__libc_|__GI___libc_)?(read|write|poll|ppoll|epoll_wait|recv|send|__read|__write|__poll)(_nocancel)?$|syscall|cancel")),
    ("malloc (libc)", re.compile(r"malloc|free|_int_|calloc|realloc|tcache|arena")),
    ("other", None),
]


def parse(path: str):
    names = {"ob": {}, "fl": {}, "fn": {}}
    self_cost = defaultdict(int)
    fn_file, fn_obj = {}, {}
    app_calls = []  # (callee, inclusive cost) of calls made by application functions
    total = 0
    cur = {"ob": "", "fl": "", "fn": ""}
    call_pending = None  # callee name when the next cost line is a call's inclusive cost
    cfn = None

    def resolve(kind, rest):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", rest)
        if not m:
            return rest.strip()
        key = (kind, m.group(1))
        if m.group(2) is not None:
            names.setdefault(kind, {})[m.group(1)] = m.group(2).strip()
        return names.setdefault(kind, {}).get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            if not line or line[0] == "\n":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                cost = int(parts[1])
                if call_pending is not None:
                    fn = cur["fn"]
                    if APP_FILES.search(fn_file.get(fn, "")):
                        app_calls.append((call_pending, cost))
                    call_pending = None
                else:
                    self_cost[cur["fn"]] += cost
                    total += cost
                continue
            key, _, rest = line.partition("=")
            if key == "ob":
                cur["ob"] = resolve("ob", rest)
            elif key in ("fl", "fi", "fe"):
                v = resolve("fl", rest)
                if key == "fl":
                    cur["fl"] = v
            elif key == "fn":
                cur["fn"] = resolve("fn", rest)
                fn_file.setdefault(cur["fn"], cur["fl"])
                fn_obj.setdefault(cur["fn"], cur["ob"])
            elif key in ("cob",):
                resolve("ob", rest)
            elif key in ("cfi", "cfl"):
                resolve("fl", rest)
            elif key == "cfn":
                cfn = resolve("fn", rest)
            elif key == "calls":
                call_pending = cfn or "?"
    app_fns = {fn for fn, fl in fn_file.items() if APP_FILES.search(fl)}
    app_extra = sum(c for callee, c in app_calls if callee not in app_fns and not STACK_API.match(callee))
    return total, self_cost, fn_file, fn_obj, app_extra


def categorize(fn: str, file: str, obj: str) -> str:
    if APP_FILES.search(file):
        return "app"
    if "liblwip" in obj:
        # lwIP's own checksum and copy routines still count as checksum / copy
        if CATEGORIES[1][1].search(fn):
            return "checksum"
        return "lwIP"
    if "/bench/lwip_tapif.c" in file:
        return "lwIP"
    for name, rx in CATEGORIES:
        if rx is not None and rx.search(fn):
            return name
        if name == "runtime+shim (C)" and "/components/" in file:
            return name
    return "other"


def split(path: str, top: int = 25) -> dict:
    total, self_cost, fn_file, fn_obj, app_calls = parse(path)
    cats = defaultdict(int)
    for fn, c in self_cost.items():
        cats[categorize(fn, fn_file.get(fn, ""), fn_obj.get(fn, ""))] += c
    cats["app"] += app_calls
    # app_calls (printf, the memcpy inside sha256, pthread_create ...) is also in the self cost
    # of the libc functions it reached: stack_ir takes it off the total, the category table
    # keeps libc self costs as they are (so its stack-side rows may include a little app work).
    stack_total = total - cats["app"]
    funcs = sorted(((c, fn) for fn, c in self_cost.items() if not APP_FILES.search(fn_file.get(fn, ""))),
                   reverse=True)[:top]
    return {
        "total_ir": total,
        "app_ir": cats["app"],
        "stack_ir": stack_total,
        "categories_self_ir": dict(sorted(cats.items(), key=lambda kv: -kv[1])),
        "top_functions": [{"fn": fn, "ir": c, "file": fn_file.get(fn, ""), "obj": fn_obj.get(fn, "").rsplit("/", 1)[-1]}
                          for c, fn in funcs],
    }


if __name__ == "__main__":
    print(json.dumps(split(sys.argv[1]), indent=1))
