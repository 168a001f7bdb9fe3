#!/usr/bin/env python3
"""Check that the glue's C header and its Rust sources agree.

  * every esg_* function declared in include/esp_smoltcp_glue.h has a
    `#[no_mangle] pub ... extern "C" fn esg_*` in src/*.rs and vice versa,
    with the same number of parameters, the same parameter types and the
    same return type (C types mapped to their Rust equivalents);
  * every numeric `#define ESG_*` in the header equals the `pub const ESG_*`
    of the same name in Rust, where Rust defines one (and every Rust
    `pub const ESG_*` is in the header);
  * the #[repr(C)] structs EsgEndpoint, EsgNetdevOps, EsgConfig,
    EsgDhcpLease, EsgTcpInfo, EsgDgramInfo have the fields of esg_endpoint_t,
    esg_netdev_ops_t, ... with the same names, in the same order, of the
    same types.

Usage: check_glue_header.py [GLUE_DIR]   (default: components/esp_smoltcp_glue
next to this script's parent). Exits 1 listing every mismatch.
"""
import re
import sys
from pathlib import Path

STRUCTS = {
    "esg_endpoint_t": "EsgEndpoint",
    "esg_netdev_ops_t": "EsgNetdevOps",
    "esg_config_t": "EsgConfig",
    "esg_dhcp_lease_t": "EsgDhcpLease",
    "esg_tcp_info_t": "EsgTcpInfo",
    "esg_dgram_info_t": "EsgDgramInfo",
}

# C base type -> canonical (Rust) spelling.
C_BASE = {
    "uint8_t": "u8",
    "uint16_t": "u16",
    "uint32_t": "u32",
    "uint64_t": "u64",
    "int8_t": "i8",
    "int16_t": "i16",
    "int32_t": "i32",
    "int64_t": "i64",
    "int": "i32",
    "unsigned": "u32",
    "unsigned int": "u32",
    "size_t": "usize",
    "uintptr_t": "usize",
    "intptr_t": "isize",
    "bool": "bool",
    "void": "c_void",
    "char": "c_char",
    "esg_engine_t": "Engine",
    "struct esg_engine": "Engine",
}
C_BASE.update(STRUCTS)
C_LIMITS = {
    "UINT8_MAX": 2**8 - 1,
    "UINT16_MAX": 2**16 - 1,
    "UINT32_MAX": 2**32 - 1,
    "UINT64_MAX": 2**64 - 1,
    "INT32_MAX": 2**31 - 1,
    "INT32_MIN": -(2**31),
    "SIZE_MAX": 2**64 - 1,
}
RUST_LIMITS = {
    "u8::MAX": 2**8 - 1,
    "u16::MAX": 2**16 - 1,
    "u32::MAX": 2**32 - 1,
    "u64::MAX": 2**64 - 1,
    "i32::MAX": 2**31 - 1,
    "i32::MIN": -(2**31),
    "usize::MAX": 2**64 - 1,
}


class Fail(Exception):
    pass


def split_top(s, sep=","):
    """Split s at sep outside (), <>, [] and {}."""
    out, depth, cur = [], 0, []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "([{<":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == ">" and not (i > 0 and s[i - 1] == "-"):  # not the '->' of a return type
            depth -= 1
        if c == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return [p.strip() for p in out if p.strip()]


def matching(s, start, open_c, close_c):
    """Index just past the bracket matching the one at s[start]."""
    depth = 0
    for i in range(start, len(s)):
        if s[i] == open_c:
            depth += 1
        elif s[i] == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
    raise Fail(f"unbalanced {open_c}{close_c} at offset {start}")


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


# ---- C --------------------------------------------------------------------------


def c_strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return text


def c_int(expr, defines):
    e = expr.strip()
    while e.startswith("(") and e.endswith(")"):
        e = e[1:-1].strip()
    if e in C_LIMITS:
        return C_LIMITS[e]
    if e in defines and defines[e] is not None:
        return defines[e]
    m = re.fullmatch(r"(-?)\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", e)
    if m:
        v = int(m.group(2), 0)
        return -v if m.group(1) else v
    return None


def c_decl(decl, defines, is_param):
    """(name, canonical type) of one C declaration (field or parameter)."""
    decl = norm(decl)
    # function pointer: RET (*name)(ARGS)
    m = re.fullmatch(r"(.+?)\(\s*\*\s*(\w*)\s*\)\s*\((.*)\)", decl)
    if m:
        ret = c_type(m.group(1), defines)
        args = [c_decl(a, defines, True)[1] for a in split_top(m.group(3))]
        if args == ["c_void"]:
            args = []
        return m.group(2), f"fn({', '.join(args)}) -> {'()' if ret == 'c_void' else ret}"
    dims = re.findall(r"\[([^\]]*)\]", decl)
    decl = re.sub(r"\[[^\]]*\]", "", decl).strip()
    m = re.fullmatch(r"(.*?[\s*])(\w+)", decl)
    if m and m.group(1).strip() and re.sub(r"\bconst\b", "", decl).strip() not in C_BASE:
        base, name = m.group(1), m.group(2)
    else:  # unnamed parameter: the whole text is the type
        base, name = decl, ""
    t = c_type(base, defines)
    if dims:
        if is_param:  # an array parameter is a pointer
            t = ("*const " if t.startswith("const ") else "*mut ") + t.removeprefix("const ")
        else:
            sizes = []
            for d in dims:
                v = c_int(d, defines)
                if v is None:
                    raise Fail(f"C: cannot evaluate array size [{d}] in '{decl}'")
                sizes.append(str(v))
            t = t + "".join(f"[{s}]" for s in sizes)
    return name, t.removeprefix("const ")


def c_type(t, defines):
    """Canonical form of a C type without declarator name: `const T **` -> `*mut *const T`."""
    t = norm(t)
    stars = t.count("*")
    # a const before the first '*' qualifies the pointee; after a '*' the pointer itself (ignored)
    const_base = "const" in t.split("*")[0].split()
    base = " ".join(w for w in t.replace("*", " ").split() if w != "const")
    if base.startswith("struct ") and base not in C_BASE:
        base = base[len("struct "):]
    if base not in C_BASE:
        raise Fail(f"C: unknown type '{base}' in '{t}'")
    canon = C_BASE[base]
    if stars == 0:
        return ("const " if const_base else "") + canon
    out = ("*const " if const_base else "*mut ") + canon
    for _ in range(stars - 1):
        out = "*mut " + out
    return out


def parse_header(path):
    raw = path.read_text()
    text = c_strip(raw)
    defines = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(ESG_\w+)[ \t]+([^\n]+)$", text, re.M):
        defines[m.group(1)] = None
        defines[m.group(1)] = c_int(m.group(2), defines)
    # drop preprocessor lines before parsing declarations
    body = re.sub(r"^[ \t]*#[^\n]*$", " ", text, flags=re.M)
    body = body.replace('extern "C" {', " ")

    structs = {}
    for m in re.finditer(r"typedef\s+struct\s*(\w*)\s*\{", body):
        end = matching(body, m.end() - 1, "{", "}")
        name_m = re.match(r"\s*(\w+)\s*;", body[end:])
        if not name_m:
            continue
        fields = []
        for decl in split_top(body[m.end(): end - 1], ";"):
            # `uint8_t a, b;` declares two fields of one base type
            parts = split_top(decl, ",") if "(" not in decl else [decl]
            first = parts[0]
            fields.append(c_decl(first, defines, False))
            base = re.match(r"(.*?[\s*])\w+\s*(\[.*)?$", first)
            for extra in parts[1:]:
                fields.append(c_decl((base.group(1) if base else "") + " " + extra, defines, False))
        structs[name_m.group(1)] = fields
    # function declarations (outside struct bodies)
    flat = re.sub(r"typedef\s+struct\s*\w*\s*\{.*?\}\s*\w+\s*;", " ", body, flags=re.S)
    funcs = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(esg_\w+)\s*\(", flat):
        start = m.end() - 1
        end = matching(flat, start, "(", ")")
        if not re.match(r"\s*;", flat[end:]):
            continue  # not a prototype
        ret = c_type(m.group(1), defines)
        params = [c_decl(p, defines, True) for p in split_top(flat[start + 1: end - 1])]
        if [t for _, t in params] == ["c_void"]:
            params = []
        name = m.group(2)
        if name in funcs:
            raise Fail(f"C: {name} declared twice")
        funcs[name] = ("()" if ret == "c_void" else ret, params)
    return funcs, defines, structs


# ---- Rust ------------------------------------------------------------------------


def rust_strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def rust_type(t):
    t = re.sub(r",\s*([>)\]])", r"\1", norm(t)).strip().rstrip(",").strip()  # trailing commas
    t = t.replace("core::ffi::", "").replace("::core::ffi::", "").replace("std::ffi::", "")
    m = re.fullmatch(r"Option\s*<(.*)>", t)
    if m and re.search(r"\bfn\s*\(", m.group(1)):
        t = m.group(1).strip()
    m = re.fullmatch(r"(?:unsafe\s+)?extern\s+\"C\"\s+fn\s*\((.*)\)\s*(?:->\s*(.+))?", t)
    if m:
        args = [rust_type(a.split(":", 1)[1] if ":" in a else a) for a in split_top(m.group(1))]
        ret = rust_type(m.group(2)) if m.group(2) else "()"
        return f"fn({', '.join(args)}) -> {ret}"
    m = re.fullmatch(r"\*\s*(const|mut)\s+(.+)", t)
    if m:
        return f"*{m.group(1)} {rust_type(m.group(2))}"
    m = re.fullmatch(r"\[(.+);\s*([^\];]+)\]", t)
    if m:
        inner = rust_type(m.group(1))
        n = rust_int(m.group(2), {})
        # [[u8; 4]; 3] -> u8[3][4] (outer dimension first, as in C)
        base, dims = re.fullmatch(r"([^\[]+)((?:\[\d+\])*)", inner).groups()
        return f"{base}[{n}]{dims}"
    return t


def rust_int(expr, consts):
    e = norm(expr)
    if e in RUST_LIMITS:
        return RUST_LIMITS[e]
    if e in consts:
        return consts[e]
    m = re.fullmatch(r"\(?\s*(-?)\s*(0x[0-9a-fA-F_]+|[\d_]+)(?:[iu](?:8|16|32|64|size))?\s*\)?", e)
    if m:
        v = int(m.group(2).replace("_", ""), 0)
        return -v if m.group(1) else v
    raise Fail(f"Rust: cannot evaluate constant expression '{expr}'")


def parse_rust(src_dir, problems):
    funcs, consts, structs = {}, {}, {}
    files = sorted(src_dir.glob("*.rs"))
    if not files:
        raise Fail(f"no Rust sources in {src_dir}")
    for path in files:
        text = rust_strip(path.read_text())
        for m in re.finditer(r"\bpub\s+const\s+(ESG_\w+)\s*:\s*[\w:]+\s*=\s*([^;]+);", text):
            if m.group(1) in consts:
                raise Fail(f"Rust: {m.group(1)} defined twice ({path.name})")
            consts[m.group(1)] = rust_int(m.group(2), consts)
        for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)((?:pub(?:\([^)]*\))?\s+)?)((?:unsafe\s+)?)extern\s+\"C\"\s+fn\s+(esg_\w+)\s*\(", text):
            name = m.group(4)
            attrs = m.group(1)
            if not re.search(r"#\[\s*(?:unsafe\s*\(\s*)?no_mangle", attrs):
                problems.append(f"function {name} ({path.name}): extern \"C\" without #[no_mangle]: not exported under that name")
            if not m.group(2).startswith("pub"):
                problems.append(f"function {name} ({path.name}): not pub")
            start = m.end() - 1
            end = matching(text, start, "(", ")")
            params = []
            for p in split_top(text[start + 1: end - 1]):
                pname, ptype = p.split(":", 1)
                params.append((pname.strip(), rust_type(ptype)))
            rm = re.match(r"\s*->\s*([^{]+?)\s*\{", text[end:])
            ret = rust_type(rm.group(1)) if rm else "()"
            if name in funcs:
                raise Fail(f"Rust: {name} defined twice")
            funcs[name] = (ret, params, path.name)
        for m in re.finditer(r"#\[repr\(C\)\]\s*((?:#\[[^\]]*\]\s*)*)pub\s+struct\s+(\w+)\s*\{", text):
            end = matching(text, m.end() - 1, "{", "}")
            fields = []
            for f in split_top(text[m.end(): end - 1]):
                f = re.sub(r"#\[[^\]]*\]", "", f).strip()
                fm = re.fullmatch(r"(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:\s*(.+)", f, re.S)
                if not fm:
                    raise Fail(f"Rust: cannot parse field '{f}' of {m.group(2)}")
                fields.append((fm.group(1), rust_type(fm.group(2))))
            structs[m.group(2)] = fields
    return funcs, consts, structs


# ---- compare -----------------------------------------------------------------------


def main():
    here = Path(__file__).resolve().parent
    glue = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "components" / "esp_smoltcp_glue"
    header = glue / "include" / "esp_smoltcp_glue.h"
    errors = []
    try:
        c_funcs, c_defs, c_structs = parse_header(header)
        r_funcs, r_consts, r_structs = parse_rust(glue / "src", errors)
    except (Fail, OSError) as e:
        print(f"glue header check: FAILED to parse: {e}", file=sys.stderr)
        return 1

    for name in sorted(set(c_funcs) - set(r_funcs)):
        errors.append(f"function {name}: declared in the header, no #[no_mangle] extern \"C\" fn in src/*.rs")
    for name in sorted(set(r_funcs) - set(c_funcs)):
        errors.append(f"function {name} ({r_funcs[name][2]}): exported from Rust, not declared in the header")
    for name in sorted(set(c_funcs) & set(r_funcs)):
        c_ret, c_params = c_funcs[name]
        r_ret, r_params, file = r_funcs[name]
        if len(c_params) != len(r_params):
            errors.append(f"function {name}: {len(c_params)} parameters in the header, {len(r_params)} in {file}")
            continue
        for i, ((cn, ct), (rn, rt)) in enumerate(zip(c_params, r_params)):
            if ct != rt:
                errors.append(f"function {name}: parameter {i + 1} ({cn or '?'} / {rn}) is '{ct}' in the header, '{rt}' in {file}")
        if c_ret != r_ret:
            errors.append(f"function {name}: returns '{c_ret}' in the header, '{r_ret}' in {file}")

    compared = 0
    for name, value in sorted(c_defs.items()):
        if name not in r_consts:
            continue
        if value is None:
            errors.append(f"constant {name}: header value is not numeric, Rust has {r_consts[name]}")
            continue
        compared += 1
        if value != r_consts[name]:
            errors.append(f"constant {name}: {value} in the header, {r_consts[name]} in Rust")
    for name in sorted(set(r_consts) - set(c_defs)):
        errors.append(f"constant {name}: pub const in Rust, no #define in the header")

    for c_name, r_name in STRUCTS.items():
        cf, rf = c_structs.get(c_name), r_structs.get(r_name)
        if cf is None:
            errors.append(f"struct {c_name}: not found in the header")
            continue
        if rf is None:
            errors.append(f"struct {r_name}: no #[repr(C)] pub struct in src/*.rs")
            continue
        if [n for n, _ in cf] != [n for n, _ in rf]:
            errors.append(f"struct {c_name} / {r_name}: fields differ:\n    C:    {[n for n, _ in cf]}\n    Rust: {[n for n, _ in rf]}")
            continue
        for (n, ct), (_, rt) in zip(cf, rf):
            if ct != rt:
                errors.append(f"struct {c_name}.{n}: '{ct}' in the header, '{rt}' in {r_name}")

    if errors:
        print(f"glue header check: {len(errors)} mismatch(es) between {header} and src/*.rs:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        return 1
    print(f"glue header check: {len(c_funcs)} functions, {compared} constants, {len(STRUCTS)} structs in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
