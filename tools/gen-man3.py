#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/gen-man3.py — the public API's symbols and its section-3 man pages,
read from the headers.

    gen-man3.py --list HEADER...               every STRATA_API symbol, sorted
    gen-man3.py -o DIR [--version V] HEADER... DIR/<symbol>.3 for each of them

A symbol is what a STRATA_API declaration declares (functions, and the one
variable, strata_trace_enabled).  Its page comes from the comment right
above the declaration, in the kernel-doc form the headers use:

    /*
     * name() - summary, up to the first blank line or @argument.
     * @arg: what it is (continued on lines indented further).
     *
     * Description paragraphs.
     * Return: what it returns.
     * Thread safety: who may call it.
     */

Declarations that follow one another with no comment between share the
comment above the first (strata_graph_binary() and strata_graph_unary()),
and a comment after the semicolon is added to the description.  The
structures and enumerations a function takes are printed with it.  Text
is escaped for roff: the pages pass `groff -man -ww` without a warning
(tests/build/test_man.sh).  Only the standard library is used.
"""
import argparse
import os
import re
import sys

API = "STRATA_API"


class Decl:
    def __init__(self, name, proto, header, comment, trailing):
        self.name = name
        self.proto = proto  # one line, without STRATA_API and the semicolon
        self.header = header  # "strata/io.h"
        self.comment = comment  # the lines of the comment, markers stripped
        self.trailing = trailing  # a comment after the semicolon, or ""


def comment_lines(text):
    """The lines of a /* ... */ block without the comment markers."""
    body = text.strip()
    body = body[2:] if body.startswith("/*") else body
    body = body[:-2] if body.endswith("*/") else body
    out = []
    for line in body.split("\n"):
        line = line.rstrip()
        m = re.match(r"^\s*\* ?(.*)$", line)
        out.append(m.group(1) if m else line.strip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def symbol_of(proto):
    """The name a declaration declares: a function's, or a variable's."""
    m = re.search(r"([A-Za-z_]\w*)\s*\(", proto)
    if m and not re.match(r"\s*\(\s*\*", proto[m.end() - 1:]):
        return m.group(1)
    m = re.search(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$", proto)
    return m.group(1) if m else None


def parse_header(path, rel):
    """The STRATA_API declarations of one header, and its types."""
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    decls, types = [], {}
    last_comment, last_comment_end = None, -2
    last_decl_end, group = -2, None
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if s.startswith("/*"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            last_comment, last_comment_end = "\n".join(lines[i:j + 1]), j
            i = j + 1
            continue
        if s.startswith(API + " ") and not s.startswith("#"):
            j = i
            while ";" not in re.sub(r"/\*.*", "", lines[j]):
                j += 1
            raw = "\n".join(lines[i:j + 1])
            code, _, rest = raw.partition(";")
            trailing = ""
            m = re.search(r"/\*(.*?)\*/", rest)
            if m:
                trailing = m.group(1).strip()
            proto = re.sub(r"\s+", " ", code[len(API):]).strip()
            proto = proto.replace("( ", "(").replace(" )", ")")
            if last_comment_end == i - 1:
                group = comment_lines(last_comment)
            elif last_decl_end != i - 1:
                group = []
            name = symbol_of(proto)
            if name:
                decls.append(Decl(name, proto, rel, group, trailing))
            last_decl_end = j
            i = j + 1
            continue
        # struct NAME { ... }; and enum NAME { ... }; at the top level
        m = re.match(r"^(struct|enum) (strata_\w+) \{", line)
        if m:
            j, depth = i, 0
            while True:
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0 and "}" in lines[j]:
                    break
                j += 1
            about = comment_lines(last_comment) if last_comment_end == i - 1 else []
            types["%s %s" % (m.group(1), m.group(2))] = (about, lines[i:j + 1])
            i = j + 1
            continue
        i += 1
    return decls, types


# ---- roff ------------------------------------------------------------------

def esc(text):
    """Plain text for roff: backslashes, non-ASCII characters as \\[uXXXX]."""
    out = []
    for ch in text.replace("\\", "\\e"):
        out.append(ch if ord(ch) < 128 else "\\[u%04X]" % ord(ch))
    return "".join(out)


def line_safe(text):
    """A text line must not start with a control character."""
    return "\\&" + text if text[:1] in (".", "'") else text


def inline(text, symbols):
    """Running text: @arg in italics, API functions and `code` in bold."""
    text = esc(text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"@([A-Za-z_]\w*)", r"\\fI\1\\fR", text)

    def fn(m):
        return "\\fB%s\\fR()" % m.group(1) if m.group(1) in symbols else m.group(0)

    return re.sub(r"\b(strata_\w+)\(\)", fn, text)


def split_params(arglist):
    """Top-level comma-separated parameters."""
    parts, depth, cur = [], 0, ""
    for ch in arglist:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def param_name(p):
    m = re.search(r"\(\s*\*\s*(\w+)\s*\)", p)  # a function pointer
    if m:
        return m.group(1)
    m = re.search(r"(\w+)\s*(\[[^\]]*\])?$", p)
    if m and m.group(1) not in ("void",) and len(p.split()) > 1:
        return m.group(1)
    return None


def synopsis(d):
    """The prototype in bold, argument names in italics."""
    m = re.match(r"^(.*?\b%s)\s*\((.*)\)$" % re.escape(d.name), d.proto)
    if not m:
        return "\\fB%s;\\fR" % esc(d.proto)
    head, args = m.group(1), m.group(2)
    rendered = []
    for p in split_params(args):
        n = param_name(p)
        if n:
            k = p.rfind(n) if not re.search(r"\(\s*\*\s*%s\s*\)" % n, p) else p.find(n)
            rendered.append("\\fB%s\\fI%s\\fB%s" % (esc(p[:k]), n, esc(p[k + len(n):])))
        else:
            rendered.append("\\fB%s" % esc(p))
    return "\\fB%s(%s);\\fR" % (esc(head), ", ".join(rendered))


SECTION = re.compile(r"\b(Return|Thread safety):\s*")
PARAM = re.compile(r"^(@\w+(?:, @\w+)*):\s*(.*)$")
# A sentence ends at a full stop and a space (not "e.g. ", "i.e. ").
SENTENCE = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=\S)")


def first_sentence(text):
    """@text split after its first sentence: (sentence, the rest)."""
    text = re.sub(r"\s+", " ", text).strip()
    m = SENTENCE.search(text)
    if not m:
        return text.rstrip("."), ""
    return text[:m.start()], text[m.end():]


def parse_comment(d):
    """Summary, arguments, description paragraphs, return value, notes."""
    lines = list(d.comment)
    intro, lead = [], ""
    # The kernel-doc line may follow an introduction to a group of functions.
    for k, line in enumerate(lines):
        if re.match(r"^\w+\(\) - ", line):
            intro, lines = lines[:k], lines[k:]
            break
    m = re.match(r"^(\w+)\(\) - (.*)$", lines[0]) if lines else None
    if m:
        lead, k = m.group(2), 1
        while k < len(lines) and lines[k].strip() and not PARAM.match(lines[k]):
            lead += " " + lines[k].strip()
            k += 1
        lines = lines[k:]
    args, body = [], []
    k = 0
    while k < len(lines):
        m = PARAM.match(lines[k])
        if m:
            names = [n.lstrip("@") for n in m.group(1).split(", ")]
            desc = m.group(2)
            k += 1
            while k < len(lines) and lines[k][:1] in (" ", "\t") and lines[k].strip():
                desc += " " + lines[k].strip()
                k += 1
            args.append((names, desc))
            continue
        body.append(lines[k])
        k += 1
    # The lead's first sentence is the summary; the rest of it, a
    # "Return:" in it included, joins the description.
    summary, rest = first_sentence(SECTION.split(lead)[0]) if lead else ("", "")
    if lead:
        tail = lead[len(SECTION.split(lead)[0]):]
        body = [rest + (" " + tail if tail else ""), ""] + body
    text = "\n".join(intro + ([""] if intro else []) + body)
    parts = SECTION.split(text)
    desc, ret, notes = parts[0], "", ""
    for key, val in zip(parts[1::2], parts[2::2]):
        if key == "Return":
            ret += val + "\n\n"
        else:
            notes += val + "\n\n"
    if d.trailing:
        desc += "\n\n" + d.trailing[0].upper() + d.trailing[1:] + ("" if d.trailing.endswith(".") else ".")
    desc = paragraphs(desc)
    if not summary:
        # No "name() - summary": the first sentence of the description, or
        # of what it returns.
        summary = first_sentence(" ".join(desc) or ret)[0]
    elif not desc:
        desc = [summary[0].upper() + summary[1:] + "."]
    # NAME lines read in lower case, but for names and acronyms ("RMS").
    if re.match(r"^[A-Z][a-z-]", summary):
        summary = summary[0].lower() + summary[1:]
    return summary, args, desc, paragraphs(ret), paragraphs(notes)


def paragraphs(text):
    out, cur = [], []
    for line in text.split("\n"):
        if line.strip():
            cur.append(line.strip())
        elif cur:
            out.append(" ".join(cur))
            cur = []
    if cur:
        out.append(" ".join(cur))
    return out


def page(d, types, symbols, version):
    summary, args, desc, ret, notes = parse_comment(d)
    out = [
        '.\\" Generated by tools/gen-man3.py from include/%s; do not edit.' % d.header,
        '.TH %s 3 "" "strata %s" "strata Programmer\'s Manual"' % (d.name, version),
        ".SH NAME",
        "%s \\- %s" % (d.name, inline(summary, symbols) if summary else "part of the strata API"),
        ".SH SYNOPSIS",
        ".nf",
        ".B #include <%s>" % d.header,
        ".PP",
        synopsis(d),
        ".fi",
        ".PP",
        "Link with \\fI\\-lstrata\\fR (\\fBpkg\\-config \\-\\-libs strata\\fR).",
    ]
    if args:
        out.append(".SH ARGUMENTS")
        for names, text in args:
            out += [".TP", "\\fI" + "\\fR, \\fI".join(names) + "\\fR", line_safe(inline(text, symbols))]
    out.append(".SH DESCRIPTION")
    for k, p in enumerate(desc or ["See \\fI<%s>\\fR." % d.header]):
        out += ([".PP"] if k else []) + [line_safe(inline(p, symbols) if desc else p)]
    used = [t for t in types if re.search(r"\b%s\b" % re.escape(t), d.proto)]
    for t in used:
        about, body = types[t]
        out += [".PP", "\\fB%s\\fR:" % t]
        for p in paragraphs("\n".join(about)):
            out += [line_safe(inline(p, symbols))]
        out += [".PP", ".RS 4", ".nf"]
        out += [line_safe(esc(line.replace("\t", "    "))) for line in body]
        out += [".fi", ".RE"]
    if ret:
        out.append(".SH RETURN VALUE")
        for k, p in enumerate(ret):
            out += ([".PP"] if k else []) + [line_safe(inline(p, symbols))]
    if notes:
        out += [".SH NOTES", line_safe("Thread safety: " + inline(" ".join(notes), symbols))]
    text = " ".join([summary] + [a[1] for a in args] + desc + ret + notes)
    refs = sorted({r for r in re.findall(r"\b(strata_\w+)\(\)", text) if r in symbols and r != d.name})
    if refs:
        out.append(".SH SEE ALSO")
        out += [".BR %s (3)%s" % (r, "," if k < len(refs) - 1 else "") for k, r in enumerate(refs)]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description="STRATA_API symbols and their man pages")
    ap.add_argument("--list", action="store_true", help="print the symbols, sorted, one a line")
    ap.add_argument("-o", dest="outdir", help="write <symbol>.3 pages into this folder")
    ap.add_argument("--version", default="", help="the version the pages name")
    ap.add_argument("headers", nargs="+")
    a = ap.parse_args()

    decls, types = [], {}
    for h in a.headers:
        rel = "strata/" + os.path.basename(h)
        d, t = parse_header(h, rel)
        decls += d
        types.update(t)
    names = [d.name for d in decls]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        print("gen-man3: declared twice: " + " ".join(dup), file=sys.stderr)
        return 1
    if a.list:
        print("\n".join(sorted(names)))
    if a.outdir:
        os.makedirs(a.outdir, exist_ok=True)
        symbols = set(names)
        for d in decls:
            with open(os.path.join(a.outdir, d.name + ".3"), "w", encoding="ascii") as f:
                f.write(page(d, types, symbols, a.version))
    if not a.list and not a.outdir:
        ap.error("--list or -o DIR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
