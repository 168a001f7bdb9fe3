#!/usr/bin/env python3
"""Sum a GNU ld map file into code / data / bss per component and check a budget.

Input sections that survived --gc-sections are attributed by the object they
came from: our C libraries by archive, the Rust staticlib by crate (the
archive member name) and, inside the glue crate's own objects, generic code
instantiated from smoltcp by its mangled symbol name.
"""
import argparse
import json
import re
import subprocess
import sys

OVER_BUDGET = 3  # exit status when a budget is exceeded (1 stays "the report itself failed")

ROW = re.compile(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
HEAD = re.compile(r"^ (\S+)$")
CONT = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")

ORDER = ["esp_smoltcp", "esp_smoltcp services", "esp_smoltcp_lwip_compat", "esp_smoltcp_glue", "smoltcp", "rust core+builtins",
         "(not counted) picolibc+libgcc", "(not counted) IDF stand-ins + main"]
COUNTED = ORDER[:6]


def kind(section):
    s = section.lstrip(".")
    if s.startswith(("text", "rodata", "srodata")) or section.startswith(".init"):
        return "code"
    if s.startswith(("data", "sdata", "tdata")):
        return "data"
    if s.startswith(("bss", "sbss", "tbss")) or section == "COMMON":
        return "bss"
    return None


def component(section, obj):
    if "libesp_smoltcp_glue.a(" in obj:
        member = obj.split("(", 1)[1]
        if member.startswith("smoltcp-"):
            return "smoltcp"
        if member.startswith("esp_smoltcp_glue-"):
            if "16esp_smoltcp_glue" in section:
                return "esp_smoltcp_glue"
            if "7smoltcp" in section or "$LT$smoltcp" in section or "heapless" in section:
                return "smoltcp"
            return "esp_smoltcp_glue"
        return "rust core+builtins"
    if "libesp_smoltcp_services.a(" in obj:
        return "esp_smoltcp services"
    if "libesp_smoltcp.a(" in obj:
        return "esp_smoltcp"
    if "libesp_smoltcp_lwip_compat.a(" in obj:
        return "esp_smoltcp_lwip_compat"
    if "libidf_stubs.a(" in obj or "size_main" in obj or "/tmp/" in obj or obj.startswith("/tmp"):
        return "(not counted) IDF stand-ins + main"
    return "(not counted) picolibc+libgcc"


def parse(path):
    totals = {c: {"code": 0, "data": 0, "bss": 0} for c in ORDER}
    in_map = False
    pending = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("Linker script and memory map"):
                in_map = True
                continue
            if not in_map:
                continue
            if line.startswith("/DISCARD/"):
                break
            m = ROW.match(line)
            if m:
                sec, _addr, size, obj = m.groups()
                pending = None
            else:
                h = HEAD.match(line)
                if h and not line.startswith("  "):
                    pending = h.group(1)
                    continue
                c = CONT.match(line)
                if not (c and pending):
                    pending = None
                    continue
                sec, size, obj = pending, c.group(2), c.group(3)
                pending = None
            k = kind(sec)
            n = int(size, 16)
            if k is None or n == 0 or obj.startswith("0x"):
                continue
            totals[component(sec, obj)][k] += n
    return totals


def top_symbols(elf, n):
    """The n largest code symbols of the image (nm --size-sort, demangled)."""
    out = subprocess.run(["riscv64-unknown-elf-nm", "--size-sort", "-S", "-C", elf],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTrR":
            rows.append((int(parts[1], 16), parts[3]))
    print(f"\n  largest {n} code symbols:")
    for size, name in sorted(rows, reverse=True)[:n]:
        print(f"  {size:8d}  {name[:100]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", required=True)
    ap.add_argument("--profile", default="all")
    ap.add_argument("--includes", default="", help="what the profile's image reaches (printed)")
    ap.add_argument("--code-max", type=int)
    ap.add_argument("--ram-max", type=int)
    ap.add_argument("--json")
    ap.add_argument("--elf", help="with --top: the linked image")
    ap.add_argument("--top", type=int, default=0, help="also list the N largest code symbols")
    a = ap.parse_args()
    t = parse(a.map)
    print(f"\nsize profile '{a.profile}' (rv32imafc, -Os / opt-level s), bytes")
    if a.includes:
        print(f"  includes: {a.includes}")
    print(f"  {'component':34} {'code':>8} {'data':>7} {'bss':>7}")
    for c in ORDER:
        v = t[c]
        print(f"  {c:34} {v['code']:8d} {v['data']:7d} {v['bss']:7d}")
    code = sum(t[c]["code"] for c in COUNTED)
    ram = sum(t[c]["data"] + t[c]["bss"] for c in COUNTED)
    print(f"  {'counted total':34} {code:8d} {'':7} {'':7}   code {code / 1024:.1f} KiB, static RAM {ram / 1024:.1f} KiB")
    ok = True
    if a.code_max is not None:
        good = code <= a.code_max
        ok &= good
        print(f"  budget code  <= {a.code_max // 1024} KiB: {'OK' if good else 'OVER'} ({code / 1024:.1f} KiB)")
    if a.ram_max is not None:
        good = ram <= a.ram_max
        ok &= good
        print(f"  budget static RAM <= {a.ram_max // 1024} KiB: {'OK' if good else 'OVER'} ({ram / 1024:.1f} KiB)")
    if a.top and a.elf:
        top_symbols(a.elf, a.top)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"profile": a.profile, "includes": a.includes, "components": t, "code": code, "static_ram": ram, "ok": ok}, f, indent=1)
    return 0 if ok else OVER_BUDGET


if __name__ == "__main__":
    sys.exit(main())
