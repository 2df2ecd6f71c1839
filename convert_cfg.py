#!/usr/bin/env python3
# convert_cfg.py - move popgate from cfg_*(cfg, "section.key") look-ups to the typed conf(cfg)->section.key.
# SPDX-License-Identifier: GPL-2.0-or-later
"""
Run from the top of a popgate tree (or give its path): python3 convert_cfg.py [TREE]

It is idempotent and works on files it has not seen; each run does three things:
 1. src/common/keys_*.c: a row that still names its key as a string, CFG_KEY("name", ...), gets the
    bare word, CFG_KEY(name, ...), and the file gets its "#define CFG_SECTION <section>".
 2. src/common/config_struct.h is written anew from the key tables: one struct per section, one
    field per key, in table order (the registry stays the one place a key is declared).
 3. every .c/.h file of the tree (not build*/ nor hidden directories) but src/common/config*: a call
    cfg_str|bool|int|size|duration|listen|cidrs|list(EXPR, "section.key") with a literal key becomes
    conf(EXPR)->section.key (&conf(EXPR)->section.key for the list kinds); a call whose key is
    computed becomes cfg_<type>_named(EXPR, key). A literal key that is not declared, or declared
    with another type, is reported and left as it is (exit status 1).
"""
import os
import re
import sys

ACCESSORS = ("str", "bool", "int", "size", "duration", "listen", "cidrs", "list")
# which key types each accessor may read
ACCEPTS = {
    "str": {"CFG_STRING", "CFG_PATH", "CFG_ENUM"}, "bool": {"CFG_BOOL"}, "int": {"CFG_INT"},
    "size": {"CFG_SIZE"}, "duration": {"CFG_DURATION"}, "listen": {"CFG_LISTEN"},
    "cidrs": {"CFG_CIDRS"}, "list": {"CFG_LIST"},
}
POINTERS = {"listen", "cidrs", "list"}
FIELD_TYPES = {
    "CFG_STRING": ("const char *", ""), "CFG_PATH": ("const char *", "an absolute path or \"\""),
    "CFG_ENUM": ("const char *", "one of the choices"), "CFG_BOOL": ("bool ", ""),
    "CFG_INT": ("long long ", ""), "CFG_SIZE": ("uint64_t ", "bytes"),
    "CFG_DURATION": ("long long ", "seconds"), "CFG_LIST": ("struct str_list ", ""),
    "CFG_LISTEN": ("struct listen_list ", ""), "CFG_CIDRS": ("struct cidr_list ", ""),
}
ROW = re.compile(r'\bCFG_KEY(_CHECKED|_RANGE|_ENUM)?\(\s*("?)([a-z0-9_]+)\2\s*,\s*(CFG_[A-Z]+)?')
CALL = re.compile(r'\bcfg_(' + "|".join(ACCESSORS) + r')\(')


def sections(tree):
    """The sections in registry order, from config_sections.c."""
    text = open(os.path.join(tree, "src/common/config_sections.c")).read()
    return re.findall(r'\{\s*"([a-z0-9_]+)"\s*,\s*cfg_keys_\1\s*\}', text)


def key_files(tree):
    """section -> the keys_*.c file that holds its table."""
    found = {}
    d = os.path.join(tree, "src/common")
    for name in sorted(os.listdir(d)):
        if name.startswith("keys_") and name.endswith(".c"):
            path = os.path.join(d, name)
            m = re.search(r'cfg_keys_([a-z0-9_]+)\[\]\s*=', open(path).read())
            if m:
                found[m.group(1)] = path
    return found


def convert_rows(path, section):
    """Bare-word key names and a CFG_SECTION define in one keys_*.c; the rows as (name, type)."""
    text = open(path).read()
    new = ROW.sub(lambda m: m.group(0).replace('"' + m.group(3) + '"', m.group(3), 1), text)
    if not re.search(r'^#define CFG_SECTION\b', new, re.M):
        inc = '#include "common/config_keys.h"\n'
        if inc not in new:
            sys.exit("%s: no %s" % (path, inc.strip()))
        new = new.replace(inc, inc + "\n/* The struct popgate_conf member the rows below fill. */\n"
                          "#define CFG_SECTION %s\n" % section, 1)
    if new != text:
        open(path, "w").write(new)
    table = new[new.index("cfg_keys_" + section):]
    rows = []
    for m in ROW.finditer(table):
        rows.append((m.group(3), "CFG_ENUM" if m.group(1) == "_ENUM" else m.group(4)))
    return rows


def write_struct(tree, order, registry):
    out = ["/* config_struct.h - every popgate.conf setting as a typed field: conf(cfg)->section.key. */",
           "/* SPDX-License-Identifier: GPL-2.0-or-later */",
           "/*",
           " * Written by convert_cfg.py from the key tables in keys_*.c (re-run it after adding a key, or",
           " * add the field by hand: a key row whose field is missing or of another type does not compile).",
           " * Included by config.h, after the list types. Strings and lists belong to the config.",
           " */",
           "#ifndef POPGATE_CONFIG_STRUCT_H",
           "#define POPGATE_CONFIG_STRUCT_H", ""]
    for sec in order:
        out.append("/* [%s] */" % sec)
        out.append("struct cfg_%s {" % sec)
        for name, typ in registry[sec]:
            ctype, note = FIELD_TYPES[typ]
            line = "\t%s%s;" % (ctype, name)
            if note:
                line += " /* %s */" % note
            out.append(line)
        out.append("};")
        out.append("")
    out.append("/* The whole file, one member per section. */")
    out.append("struct popgate_conf {")
    for sec in order:
        out.append("\tstruct cfg_%s %s;" % (sec, sec))
    out += ["};", "", "#endif", ""]
    path = os.path.join(tree, "src/common/config_struct.h")
    text = "\n".join(out)
    if not os.path.exists(path) or open(path).read() != text:
        open(path, "w").write(text)


def skip_literal(text, i):
    """Index after the string or char literal starting at text[i]."""
    q = text[i]
    i += 1
    while i < len(text) and text[i] != q:
        i += 2 if text[i] == "\\" else 1
    return i + 1


def split_args(text, start):
    """From just after '(': (first argument, rest of the arguments, index after ')'), or None."""
    depth, i, comma = 0, start, None
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = skip_literal(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif c == "," and depth == 0 and comma is None:
            comma = i
        i += 1
    if i >= len(text) or comma is None:
        return None
    return text[start:comma], text[comma + 1:i], i + 1


def convert_calls(path, keytypes, errors):
    text = open(path).read()
    out, pos = [], 0
    for m in CALL.finditer(text):
        if m.start() < pos:
            continue
        parts = split_args(text, m.end())
        if parts is None:
            continue
        expr, arg, end = parts
        acc = m.group(1)
        lit = re.fullmatch(r'\s*"([a-z0-9_]+)\.([a-z0-9_]+)"\s*', arg)
        out.append(text[pos:m.start()])
        if lit is None:
            out.append("cfg_%s_named(%s,%s)" % (acc, expr, arg))
            pos = end
            continue
        key = lit.group(1) + "." + lit.group(2)
        typ = keytypes.get(key)
        if typ is None or typ not in ACCEPTS[acc]:
            line = text.count("\n", 0, m.start()) + 1
            errors.append("%s:%d: cfg_%s(..., \"%s\"): %s" % (
                path, line, acc, key, "undeclared key" if typ is None else "key is " + typ))
            out.append(text[m.start():end])
            pos = end
            continue
        field = "conf(%s)->%s" % (expr.strip(), key)
        if acc in POINTERS:
            arrow = re.match(r'\s*->', text[end:])
            if arrow:
                field += "."
                end += arrow.end()
            else:
                field = "&" + field
        out.append(field)
        pos = end
    out.append(text[pos:])
    new = "".join(out)
    if new != text:
        open(path, "w").write(new)
        return True
    return False


def main():
    tree = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
    order = sections(tree)
    files = key_files(tree)
    registry, keytypes = {}, {}
    for sec in order:
        if sec not in files:
            sys.exit("no keys_*.c holds cfg_keys_%s[]" % sec)
        registry[sec] = convert_rows(files[sec], sec)
        for name, typ in registry[sec]:
            keytypes[sec + "." + name] = typ
    write_struct(tree, order, registry)
    errors, changed = [], []
    for d, dirs, names in os.walk(tree):
        # not the build trees, nor anything hidden (.git)
        dirs[:] = sorted(x for x in dirs if not x.startswith((".", "build", "autom4te")))
        for name in sorted(names):
            path = os.path.join(d, name)
            rel = os.path.relpath(path, tree)
            if not name.endswith((".c", ".h")) or rel.startswith("src/common/config"):
                continue
            if convert_calls(path, keytypes, errors):
                changed.append(rel)
    for rel in changed:
        print("converted", rel)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
