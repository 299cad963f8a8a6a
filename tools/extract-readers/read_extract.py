#!/usr/bin/env python3
"""Reads an extract's files back with DuckDB, independently of the Rust
writers, and checks that the OMOP Parquet tables match the FHIR NDJSON.

    read_extract.py DIR

DuckDB reads every omop/*.parquet table and every fhir/*.ndjson file
(read_json_objects). For each table, every row must come from one NDJSON
resource of the types the table is made from (its id is the first 63 bits
of the resource's id, a pseudonym), of the same person (person_id from the
subject's pseudonym), with a source value among the resource's codes and
the same date; a part of a multi-part result (measurement_event_id set)
must be one of its Observation's components. person has one row per Patient, with its birth year and
month and gender. Prints a JSON summary (rows and candidate resources per
table, the column types DuckDB read, errors) and exits 1 on any error.
"""

import datetime
import glob
import json
import os
import sys

import duckdb

# Each table, the resource types it is made from, and how to read the
# resource's date and codes.
TABLES = {
    "condition_occurrence": ["Condition"],
    "drug_exposure": ["MedicationStatement", "MedicationRequest", "Immunization"],
    "measurement": ["Observation"],
    "procedure_occurrence": ["Procedure"],
    "visit_occurrence": ["Encounter"],
    "observation": ["AllergyIntolerance", "ServiceRequest", "Flag"],
}
ID_COLUMN = {
    "condition_occurrence": "condition_occurrence_id",
    "drug_exposure": "drug_exposure_id",
    "measurement": "measurement_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "visit_occurrence": "visit_occurrence_id",
    "observation": "observation_id",
}
DATE_COLUMN = {
    "condition_occurrence": "condition_start_date",
    "drug_exposure": "drug_exposure_start_date",
    "measurement": "measurement_date",
    "procedure_occurrence": "procedure_date",
    "visit_occurrence": "visit_start_date",
    "observation": "observation_date",
}
SOURCE_COLUMN = {
    "condition_occurrence": "condition_source_value",
    "drug_exposure": "drug_source_value",
    "measurement": "measurement_source_value",
    "procedure_occurrence": "procedure_source_value",
    "visit_occurrence": "visit_source_value",
    "observation": "observation_source_value",
}


def id64(hex_id):
    return int(hex_id[:16], 16) & 0x7FFFFFFFFFFFFFFF


def subject(r):
    for k in ("subject", "patient"):
        if k in r:
            return r[k]["reference"].split("/", 1)[1]
    return r["participant"][0]["actor"]["reference"].split("/", 1)[1]


def first(*values):
    for v in values:
        if v:
            return v
    return None


def start(r):
    """The resource's date the OMOP row's start date comes from."""
    ty = r["resourceType"]
    period = lambda k: (r.get(k) or {}).get("start")
    if ty == "Condition":
        return first(r.get("onsetDateTime"), r.get("recordedDate"))
    if ty == "MedicationStatement":
        return first(period("effectivePeriod"), r.get("dateAsserted"))
    if ty == "MedicationRequest":
        validity = (r.get("dispenseRequest") or {}).get("validityPeriod") or {}
        return first(validity.get("start"), r.get("authoredOn"))
    if ty == "Immunization":
        return r.get("occurrenceDateTime")
    if ty == "Observation":
        return first(r.get("effectiveDateTime"), r.get("issued"))
    if ty == "Procedure":
        return first(r.get("performedDateTime"), period("performedPeriod"))
    if ty == "Encounter":
        return period("period")
    if ty == "AllergyIntolerance":
        return first(r.get("onsetDateTime"), r.get("recordedDate"))
    if ty == "ServiceRequest":
        return r.get("authoredOn")
    if ty == "Flag":
        return period("period")
    return None


def as_date(text):
    """A FHIR date or dateTime as OMOP dates it: its calendar date as
    written, the first day of a month or year."""
    if text is None:
        return None
    parts = text[:10].split("-")
    while len(parts) < 3:
        parts.append("01")
    return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))


def codes(r):
    out = set()
    for k in ("code", "medicationCodeableConcept", "vaccineCode"):
        for c in (r.get(k) or {}).get("coding", []):
            out.add(c.get("code"))
    if r.get("resourceType") == "Encounter":
        out.add(r["class"].get("code"))
    return out


def main(out_dir):
    db = duckdb.connect()
    errors = []
    resources = {}
    ndjson_lines = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "fhir", "*.ndjson"))):
        rows = db.execute(
            "SELECT json FROM read_json_objects(?, format = 'newline_delimited')",
            [path],
        ).fetchall()
        ty = os.path.basename(path)[: -len(".ndjson")]
        ndjson_lines[ty] = len(rows)
        for (text,) in rows:
            r = json.loads(text)
            if r.get("resourceType") != ty:
                errors.append(f"{path}: a {r.get('resourceType')} in the {ty} file")
            resources.setdefault(ty, []).append(r)

    summary = {"tables": {}, "ndjson": ndjson_lines, "errors": errors}

    def table(name):
        path = os.path.join(out_dir, "omop", name + ".parquet")
        rel = db.execute("SELECT * FROM read_parquet(?)", [path])
        columns = [d[0] for d in rel.description]
        rows = [dict(zip(columns, row)) for row in rel.fetchall()]
        types = dict(
            db.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
                [path],
            ).fetchall()
        )
        return rows, types

    # person: one row per Patient.
    patients = resources.get("Patient", [])
    rows, types = table("person")
    summary["tables"]["person"] = {"rows": len(rows), "resources": len(patients), "types": types}
    by_id = {id64(p["id"]): p for p in patients}
    if len(rows) != len(patients):
        errors.append(f"person has {len(rows)} rows for {len(patients)} Patients")
    for row in rows:
        p = by_id.get(row["person_id"])
        if p is None:
            errors.append(f"person {row['person_id']} is no Patient")
            continue
        if row["person_source_value"] != p["id"]:
            errors.append(f"person {row['person_id']}: source value is not the pseudonym")
        birth = p.get("birthDate")
        year = int(birth[:4]) if birth else None
        month = int(birth[5:7]) if birth and len(birth) >= 7 else None
        if (row["year_of_birth"], row["month_of_birth"]) != (year, month):
            errors.append(f"person {row['person_id']}: born {row['year_of_birth']}-{row['month_of_birth']}, Patient {birth}")
        if row["gender_source_value"] != p.get("gender"):
            errors.append(f"person {row['person_id']}: gender {row['gender_source_value']} vs {p.get('gender')}")

    for name, types_from in TABLES.items():
        candidates = {}
        for ty in types_from:
            for r in resources.get(ty, []):
                candidates[id64(r["id"])] = r
        every = dict(candidates)
        rows, types = table(name)
        parts = 0
        for row in rows:
            rid = row[ID_COLUMN[name]]
            if name == "measurement" and row["measurement_event_id"] is not None:
                # A part of a multi-part result: one of its parent's components.
                parts += 1
                parent = every.get(row["measurement_event_id"])
                if parent is None:
                    errors.append(f"measurement {rid}: its event is no Observation")
                    continue
                source = row["measurement_source_value"]
                # A part without a code has only the data-absent coding.
                match = [
                    c for c in parent.get("component", [])
                    if source in codes(c) or (source is None and codes(c) <= {"unknown"})
                ]
                values = [
                    (c.get("valueQuantity") or {}).get("value", c.get("valueInteger"))
                    for c in match
                ]
                if not match:
                    errors.append(f"measurement {rid}: no component of its Observation has code {source}")
                elif row["value_as_number"] not in values:
                    errors.append(f"measurement {rid}: value {row['value_as_number']} is no matching component's")
                if row["measurement_date"] != as_date(start(parent)):
                    errors.append(f"measurement {rid}: not dated as its Observation")
                if row["person_id"] != id64(subject(parent)):
                    errors.append(f"measurement {rid}: person is not its Observation's")
                continue
            r = candidates.pop(rid, None)
            if r is None:
                errors.append(f"{name} {rid}: no {'/'.join(types_from)} resource has that id (or it has two rows)")
                continue
            if row["person_id"] != id64(subject(r)):
                errors.append(f"{name} {rid}: person {row['person_id']} is not the {r['resourceType']}'s")
            if row[DATE_COLUMN[name]] != as_date(start(r)):
                errors.append(f"{name} {rid}: dated {row[DATE_COLUMN[name]]}, the {r['resourceType']} {start(r)}")
            source = row[SOURCE_COLUMN[name]]
            if source is not None and source not in codes(r):
                errors.append(f"{name} {rid}: source value {source} is none of the {r['resourceType']}'s codes")
            if name == "measurement":
                value = (r.get("valueQuantity") or {}).get("value", r.get("valueInteger"))
                if row["value_as_number"] != value:
                    errors.append(f"measurement {rid}: value {row['value_as_number']} vs {value}")
        summary["tables"][name] = {
            "rows": len(rows),
            "resources": len(every),
            "parts": parts,
            "types": types,
        }

    print(json.dumps(summary, indent=1, sort_keys=True, default=str))
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: read_extract.py DIR")
    sys.exit(main(sys.argv[1]))
