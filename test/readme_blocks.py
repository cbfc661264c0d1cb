#!/usr/bin/python3
"""Extract the ```sql blocks of README.md for the README test of make test.

  readme_blocks.py README.md OUTDIR

writes each block to OUTDIR/NNN_L<line>.sql (NNN: order in the file, line:
the line of its opening fence) and prints one line per block, "run" or
"skip", with README.md:line.  scripts/test.sh runs the files in order, each
in its own psql session with ON_ERROR_STOP, in one database, from a copy of
the source tree (so `\\i test/data/load_cdnow.sql` works), and counts each
block as a test.

A block that is deliberately not runnable (it needs a server setting, a
table the sample does not have, another session...) is marked by this HTML
comment, invisible on GitHub, on the last non-blank line before its fence:

    <!-- readme-test: skip (the reason) -->

Only fences whose info string starts with the word "sql" are blocks; a
block inside another fence (e.g. ````markdown) is not.  Exits 1 when the
file has no sql block at all, so the test cannot pass vacuously.
"""
import os
import re
import sys

FENCE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})\s*([^`\s]*)")
SKIP = re.compile(r"^\s*<!--\s*readme-test:\s*skip\b.*-->\s*$")


def blocks(lines):
    """(line of the fence, skipped?, text) for every sql block."""
    out = []
    i = 0
    last_text = ""  # last non-blank line outside fences
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last_text = lines[i]
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3).lower(), i
        body = []
        i += 1
        while i < len(lines):
            c = FENCE.match(lines[i])
            if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) \
                    and lines[i].strip() == c.group(2):
                break
            body.append(lines[i])
            i += 1
        i += 1
        if lang == "sql":
            out.append((start + 1, bool(SKIP.match(last_text)), "".join(body)))
        last_text = ""
    return out


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        found = blocks(f.readlines())
    os.makedirs(argv[2], exist_ok=True)
    name = os.path.basename(argv[1])
    for n, (line, skip, text) in enumerate(found, 1):
        if skip:
            print("skip %s:%d" % (name, line))
            continue
        path = os.path.join(argv[2], "%03d_L%d.sql" % (n, line))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("run %s:%d" % (name, line))
    if not found:
        print("no sql block in %s" % argv[1])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
