#!/usr/bin/env python3
"""Compare host/idf_stubs with a real ESP-IDF tree: every function the stubs
declare must be declared (or defined as a macro) in an IDF header, and every
integer constant must have the same value where IDF defines it literally.
Prints each mismatch; exit 1 if any."""
import argparse
import pathlib
import re
import sys

FUNC = re.compile(r"^\s*(?:[A-Za-z_][\w\s\*]*?)\b([A-Za-z_]\w*)\s*\(", re.M)
CONST = re.compile(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+(\(?-?(?:0x[0-9a-fA-F]+|\d+)[uUlL]*\)?)\s*$", re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idf", required=True)
    ap.add_argument("--stubs", required=True)
    a = ap.parse_args()
    idf = pathlib.Path(a.idf) / "components"
    headers = [p for p in idf.rglob("*.h") if "test" not in p.parts]
    text = "\n".join(p.read_text(errors="replace") for p in headers)
    bad = 0
    checked = 0
    for stub in pathlib.Path(a.stubs).rglob("*.h"):
        if stub.name == "sdkconfig.h":
            continue
        s = stub.read_text()
        for name in set(FUNC.findall(s)):
            if name in ("if", "while", "return", "sizeof", "defined") or name.startswith("__"):
                continue
            checked += 1
            if not re.search(r"\b%s\s*\(" % re.escape(name), text) and not re.search(
                    r"#define\s+%s\b" % re.escape(name), text):
                print(f"  {stub.name}: {name} not found in IDF headers")
                bad += 1
        for name, val in CONST.findall(s):
            m = re.search(r"^#define\s+%s\s+(\S+)" % re.escape(name), text, re.M)
            if m and re.fullmatch(r"\(?-?(?:0x[0-9a-fA-F]+|\d+)[uUlL]*\)?", m.group(1)):
                checked += 1
                if int(m.group(1).strip("()uUlL"), 0) != int(val.strip("()uUlL"), 0):
                    print(f"  {stub.name}: {name} = {val}, IDF has {m.group(1)}")
                    bad += 1
    print(f"check_idf_stubs: {checked} declarations/constants checked against {a.idf}, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
