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
            # Every literal definition in the tree: a name may be defined by more than one
            # component for its own use (wpa_supplicant's MSG_DONTWAIT 0 next to lwIP's 0x08);
            # the stub must equal one of them.
            idf_vals = [v for v in re.findall(r"^#define\s+%s\s+(\S+)" % re.escape(name), text, re.M)
                        if re.fullmatch(r"\(?-?(?:0x[0-9a-fA-F]+|\d+)[uUlL]*\)?", v)]
            if idf_vals:
                checked += 1
                ours = int(val.strip("()uUlL"), 0)
                if all(int(v.strip("()uUlL"), 0) != ours for v in idf_vals):
                    print(f"  {stub.name}: {name} = {val}, IDF has {', '.join(sorted(set(idf_vals)))}")
                    bad += 1
    print(f"check_idf_stubs: {checked} declarations/constants checked against {a.idf}, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
