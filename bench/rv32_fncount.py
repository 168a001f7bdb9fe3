#!/usr/bin/env python3
"""Split the fncount plugin's instruction counts by function group.

  bench/rv32_fncount.py COUNTS ELF --window dl=1:2 --window ul=3:4 --bytes dl=N --bytes ul=N

COUNTS holds cumulative per-symbol counters dumped at each guest call of
bench_mark() ("# mark K" blocks); a window A:B is the difference between marks
A and B. Symbols are put in groups by name and by the object file the linker
map (ELF with .map) says they came from.
"""
import argparse
import bisect
import json
import re
import subprocess
from collections import defaultdict

GROUPS = ["checksum", "memcpy", "engine", "runtime", "shim", "driver", "port", "app", "libc"]


def read_counts(path):
    blocks, cur = {}, None
    for line in open(path):
        if line.startswith("#"):
            _, kind, k = line.split()
            cur = {}
            blocks[f"{kind}{k}"] = cur
            continue
        n, sym = line.rstrip("\n").split(" ", 1)
        cur[sym] = int(n)
    return blocks


def object_of_symbols(elf):
    """symbol -> object file (from the map's input sections and nm's addresses)."""
    ranges = []
    mp = elf[:-4] + ".map"
    text = open(mp).read()
    for m in re.finditer(r"^ \.(?:text|rodata|srodata)[^\s]*\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", text, re.M):
        start, size, obj = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if size:
            ranges.append((start, size, obj))
    ranges.sort()
    starts = [r[0] for r in ranges]
    out = {}
    nm = subprocess.run(["riscv64-unknown-elf-nm", elf], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        p = line.split()
        if len(p) != 3 or p[1] not in "tTwW":
            continue
        addr = int(p[0], 16)
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and addr < ranges[i][0] + ranges[i][1]:
            out[p[2]] = ranges[i][2]
    return out


def group_of(sym, obj):
    s = sym.lower()
    if re.search(r"(^|[^a-z])(memcpy|memmove|memset)|mem6memcpy|mem7memmove|mem6memset|copy_from_slice", sym):
        return "memcpy"
    if "checksum" in s or s.startswith(("inet_sum", "frame_check", "tx_checksum", "csum")):
        return "checksum"
    if obj and ("frame_check.c" in obj or "tx_checksum.c" in obj):
        return "checksum"
    if sym.startswith(("_R", "_ZN", "esg_")) or (obj and "esp_smoltcp_glue" in obj):
        return "engine"
    if obj is None:
        return "libc"
    if "netdev_virtio_net" in obj:
        return "driver"
    if "os_baremetal" in obj or "ctx_riscv32" in obj or "platform_virt" in obj:
        return "port"
    if "/compat/" in obj:
        return "shim"
    if "/esp_smoltcp/" in obj:
        return "runtime"
    if "/app/" in obj:
        return "app"
    return "libc"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("counts")
    ap.add_argument("elf")
    ap.add_argument("--window", action="append", default=[], help="name=A:B (mark numbers)")
    ap.add_argument("--bytes", action="append", default=[], help="name=payload bytes")
    ap.add_argument("--mss", type=int, default=1460)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--json")
    args = ap.parse_args()
    blocks = read_counts(args.counts)
    objs = object_of_symbols(args.elf)
    nbytes = dict(b.split("=") for b in args.bytes)
    result = {}
    for w in args.window:
        name, ab = w.split("=")
        a, b = ab.split(":")
        A, B = blocks[f"mark{a}"], blocks[f"mark{b}"]
        diff = {k: B[k] - A.get(k, 0) for k in B if B[k] - A.get(k, 0) > 0}
        total = sum(diff.values())
        n = int(nbytes[name])
        segs = n / args.mss
        groups = defaultdict(int)
        for sym, c in diff.items():
            groups[group_of(sym, objs.get(sym))] += c
        result[name] = {"instructions": total, "bytes": n, "per_byte": total / n, "per_segment": total / segs,
                        "groups": {g: {"instructions": groups[g], "per_byte": groups[g] / n,
                                       "per_segment": groups[g] / segs, "share": groups[g] / total}
                                   for g in GROUPS},
                        "top": sorted(diff.items(), key=lambda kv: -kv[1])[:args.top]}
        print(f"{name}: {total} instructions for {n} payload bytes = {total / n:.2f} /byte, "
              f"{total / segs:.0f} per {args.mss}-byte segment")
        for g in GROUPS:
            print(f"  {g:9s} {groups[g] / n:7.3f} /byte {groups[g] / segs:8.0f} /segment {100 * groups[g] / total:5.1f} %")
        for sym, c in result[name]["top"]:
            print(f"    {100 * c / total:5.1f} %  {group_of(sym, objs.get(sym)):8s} {sym[:100]}")
    if args.json:
        json.dump(result, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
