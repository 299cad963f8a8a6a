"""Reads every FHIR R4 Bundle file given on the command line with the
Python `fhirclient` models, strictly, as a client application would.

Each file is parsed with `Bundle(json, strict=True)` (which raises on any
element that is missing, misplaced or of the wrong type, in the Bundle and
in every resource inside it) and written back with `as_json()` (which
raises when a required element is missing). Prints one line per problem
and a closing `N passed, N failed` line; exits 1 on any problem.

Usage: .venv/bin/python read_bundles.py FILE...
"""

import json
import sys

from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError


def problems(path):
    """The problems fhirclient finds in one Bundle file (empty when none)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return [f"not readable JSON: {e}"]
    try:
        bundle = Bundle(data, strict=True)
        bundle.as_json()
    except FHIRValidationError as e:
        return [str(x) for x in e.errors] or [str(e)]
    except Exception as e:  # any other failure of the client is a failure too
        return [f"{type(e).__name__}: {e}"]
    out = []
    for i, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        expected = (data["entry"][i].get("resource") or {}).get("resourceType")
        if resource is None or resource.resource_type != expected:
            got = None if resource is None else resource.resource_type
            out.append(f"entry {i}: read as {got}, written as {expected}")
    return out


def main(paths):
    passed = failed = 0
    for path in paths:
        found = problems(path)
        if found:
            failed += 1
            for p in found:
                print(f"FAIL {path}: {p}")
        else:
            passed += 1
            print(f"ok   {path}")
    print(f"fhirclient: {passed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
