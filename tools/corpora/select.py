#!/usr/bin/env python3
"""Picks the files of one corpus out of an unpacked source archive, names and
shapes them as the shared copies are, and writes them to OUT/CORPUS/.

    select.py RULE SOURCE_DIR MANIFEST CORPUS OUT

RULE says how a source file becomes a corpus file:

  basename    the file's own name (HL7 v2 messages, FHIR-Converter CDA
              samples); line ends become LF, as in the shared copies
  path        its path in the repository with every run of characters other
              than letters, digits, '.' and '-' made one '_' (C-CDA examples:
              "Documents/Care Plan/Care_Plan.xml" is
              "Documents_Care_Plan_Care_Plan.xml"); line ends become LF
  gpconnect   its own name, with the documentation's Liquid tags
              ({% highlight json %} ... {% endhighlight %}) stripped and the
              JSON written again by json.dumps(indent=2), as the shared
              copies were

The manifest says which corpus files there are and what they hash to. A
name several source files map to is resolved by the hash; a name no source
file maps to is reported. fetch.sh checks the result against the manifest
again, file by file, before it installs anything.
"""

import hashlib
import json
import os
import re
import sys

LIQUID_TAG = re.compile(r"\{%.*?%\}")
NOT_NAME = re.compile(r"[^A-Za-z0-9.\-]+")


def wanted(manifest_path, corpus):
    """name -> SHA-256 of every manifest entry in CORPUS/."""
    out = {}
    prefix = corpus + "/"
    with open(manifest_path, encoding="utf-8") as f:
        for line in f:
            digest, path = line.rstrip("\n").split("  ", 1)
            if path.startswith(prefix):
                out[path[len(prefix):]] = digest
    return out


def lf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def shape(rule, data):
    if rule == "gpconnect":
        text = LIQUID_TAG.sub("", data.decode("utf-8-sig"))
        return json.dumps(json.loads(text), indent=2).encode("ascii")
    return lf(data)


def name_of(rule, relative):
    if rule == "path":
        return NOT_NAME.sub("_", relative)
    return relative.rsplit("/", 1)[-1]


def main(argv):
    if len(argv) != 6 or argv[1] not in ("basename", "path", "gpconnect"):
        sys.stderr.write(__doc__)
        return 2
    rule, source, manifest, corpus, out = argv[1:]
    want = wanted(manifest, corpus)
    candidates = {}
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        for file in sorted(files):
            full = os.path.join(folder, file)
            relative = os.path.relpath(full, source).replace(os.sep, "/")
            name = name_of(rule, relative)
            if name in want:
                candidates.setdefault(name, []).append((relative, full))

    target = os.path.join(out, corpus)
    os.makedirs(target, exist_ok=True)
    missing = 0
    for name in sorted(want):
        found = candidates.get(name, [])
        if not found:  # fetch.sh names it
            missing += 1
            continue
        chosen = None
        for relative, full in found:
            with open(full, "rb") as f:
                raw = f.read()
            try:
                data = shape(rule, raw)
            except (ValueError, UnicodeDecodeError) as e:
                sys.stderr.write(f"  {corpus}/{name}: cannot read {relative}: {e}\n")
                continue
            if chosen is None or hashlib.sha256(data).hexdigest() == want[name]:
                chosen = (relative, data)
            if hashlib.sha256(data).hexdigest() == want[name]:
                break
        if chosen is None:
            missing += 1
            continue
        with open(os.path.join(target, name), "wb") as f:
            f.write(chosen[1])
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
