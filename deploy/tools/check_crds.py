#!/usr/bin/env python3
"""Validates custom resources against the CRD schemas vendored in deploy/schemas
(deploy/validate.sh), as strictly as `kubernetes-validate --strict` does the
built-in kinds: every field must be in the schema (unknown fields fail),
types, enums, minimums, patterns and required fields are checked. CEL rules
(x-kubernetes-validations) are not evaluated.

    check_crds.py RENDERED... --standard-out FILE

Reads Kubernetes objects (YAML streams, e.g. `kubectl kustomize` output),
validates each object whose apiVersion's group has a vendored CRD, and
writes every other object to FILE for kubernetes-validate. An object of a
group that is neither built in nor vendored is a failure (it would
otherwise be checked by nothing).

    check_crds.py --self-test

Checks that the validation rejects what it must (an unknown field, a value
of the wrong type, a value outside an enum or below a minimum).

Exit status 1 with one line per problem; 0 when all is well.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "deploy" / "schemas"

# API groups whose kinds kubernetes-validate knows (its Kubernetes schemas).
BUILTIN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io",
    "node.k8s.io", "flowcontrol.apiserver.k8s.io", "events.k8s.io",
}


def strict(schema: dict) -> dict:
    """The schema with unknown fields rejected: every object schema that lists
    its properties and says nothing of others gets additionalProperties
    false (a structural schema's pruning, made an error)."""
    s = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    return s


def load_schemas() -> dict[tuple[str, str, str], jsonschema.protocols.Validator]:
    """(group, version, kind) -> a validator, from every CRD in deploy/schemas."""
    out = {}
    for f in sorted(SCHEMAS.rglob("*.yaml")):
        for crd in yaml.safe_load_all(f.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for v in spec["versions"]:
                schema = strict(v["schema"]["openAPIV3Schema"])
                jsonschema.Draft4Validator.check_schema(schema)
                out[(spec["group"], v["name"], spec["names"]["kind"])] = jsonschema.Draft4Validator(schema)
    return out


def group_version(obj: dict) -> tuple[str, str]:
    api = str(obj.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    return group, version


def check(obj: dict, validators: dict) -> list[str] | None:
    """Problems with a custom resource; None when it is not one (a built-in kind)."""
    group, version = group_version(obj)
    kind = obj.get("kind", "?")
    name = (obj.get("metadata") or {}).get("name", "?")
    where = f"{kind}/{name} ({obj.get('apiVersion')})"
    if group in BUILTIN_GROUPS:
        return None
    v = validators.get((group, version, kind))
    if v is None:
        return [f"{where}: no schema for this kind in deploy/schemas (vendor its CRD)"]
    problems = []
    if not isinstance((obj.get("metadata") or {}).get("name"), str):
        problems.append(f"{where}: metadata.name missing")
    for e in sorted(v.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in e.absolute_path) or "(root)"
        problems.append(f"{where}: {path}: {e.message}")
    return problems


def self_test(validators: dict) -> list[str]:
    """What must be refused is refused; what must pass passes."""
    good = {
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "t"},
        "spec": {"instances": 3, "storage": {"size": "1Gi"},
                 "postgresql": {"synchronous": {"method": "any", "number": 1}}},
    }
    failures = []
    if check(good, validators):
        failures.append(f"self-test: a valid Cluster was refused: {check(good, validators)}")
    bad_cases = {
        "an unknown field in spec": ("spec", "instancez", 3),
        "an unknown field in a nested object": ("spec.storage", "sise", "1Gi"),
        "a string where an integer belongs": ("spec", "instances", "3"),
        "a value below the minimum": ("spec", "instances", 0),
        "a value outside the enum": ("spec.postgresql.synchronous", "method", "all"),
        "a missing required field": ("spec.postgresql.synchronous", "number", None),
    }
    for what, (path, key, value) in bad_cases.items():
        obj = copy.deepcopy(good)
        at = obj
        for p in path.split("."):
            at = at[p]
        if value is None:
            del at[key]
        else:
            at[key] = value
        if not check(obj, validators):
            failures.append(f"self-test: {what} ({path}.{key}) was not refused")
    if check({**good, "apiVersion": "example.com/v1"}, validators) == []:
        failures.append("self-test: a kind without a vendored schema was not refused")
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rendered", nargs="*", type=Path)
    ap.add_argument("--standard-out", type=Path, help="write the built-in kinds' objects here")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    validators = load_schemas()
    if not validators:
        print("FAIL deploy/schemas: no CRD schema found")
        return 1
    if a.self_test:
        failures = self_test(validators)
        for f in failures:
            print(f"FAIL {f}")
        if not failures:
            print(f"check_crds self-test: ok ({len(validators)} vendored kind(s))")
        return 1 if failures else 0
    problems: list[str] = []
    standard = []
    checked = 0
    for f in a.rendered:
        for obj in yaml.safe_load_all(f.read_text()):
            if not obj:
                continue
            p = check(obj, validators)
            if p is None:
                standard.append(obj)
            else:
                checked += 1
                problems.extend(p)
    if a.standard_out:
        a.standard_out.write_text(yaml.safe_dump_all(standard, sort_keys=False))
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        return 1
    print(f"{checked} custom resource(s) valid against deploy/schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main())
