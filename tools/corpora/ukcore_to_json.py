#!/usr/bin/env python3
"""Converts UK Core example resources from FHIR XML to FHIR JSON, the way the
shared copies in fhir-r4-ukcore/ were made.

    ukcore_to_json.py R4_SCHEMA SOURCE.xml... --out DIR

The UK Core repository publishes its examples as XML only; the tests read
JSON. The conversion follows FHIR's JSON rules, driven by the official R4
JSON schema (which element is a list, which value is a boolean or a number,
and the order of the properties, which is the order of the definitions):

- the root element's name becomes "resourceType", first;
- a primitive's `value` attribute becomes the property's value; its `id`
  and `extension` go to "_name" (with null in a list where an item has none);
- an XML comment just before a primitive leaves an empty "_name" object (the
  shared copies were made this way: the comment itself is dropped);
- the narrative `div` is the XHTML as Python's ElementTree writes it
  (US-ASCII with character references, its trailing whitespace kept);
- `json.dumps(indent=2)`, with no newline at the end.

Standard library only. Reproducing the shared copies byte for byte was
checked here on a few examples only (the sources were not reachable);
fetch.sh checks every file it writes against MANIFEST.sha256 and names
each one that differs.
"""

import json
import re
import sys
import xml.etree.ElementTree as ET

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
ET.register_namespace("", XHTML_NS)

INTEGER = re.compile(r"-?[0-9]+")


class Converter:
    def __init__(self, schema):
        self.defs = schema["definitions"]

    def target(self, prop):
        """(is_list, definition name or None) of a schema property."""
        if prop.get("type") == "array":
            ref = prop.get("items", {}).get("$ref")
            return True, ref.rsplit("/", 1)[-1] if ref else None
        ref = prop.get("$ref")
        return False, ref.rsplit("/", 1)[-1] if ref else None

    def is_primitive(self, defname):
        if defname is None:  # a code given as an enum
            return True
        d = self.defs.get(defname, {})
        return "properties" not in d and "oneOf" not in d

    def primitive_value(self, defname, raw):
        kind = self.defs.get(defname, {}).get("type") if defname else "string"
        if kind == "boolean":
            return raw == "true"
        if kind == "number":
            return int(raw) if INTEGER.fullmatch(raw) else float(raw)
        return raw

    def resource(self, elem):
        name = local(elem.tag)
        return self.complex(elem, name, resource_type=name)

    def complex(self, elem, defname, resource_type=None):
        props = self.defs[defname]["properties"]
        found = {}  # property name -> [(element, follows_comment)]
        follows_comment = False
        for child in elem:
            if child.tag is ET.Comment:
                follows_comment = True
                continue
            if not isinstance(child.tag, str):
                continue
            found.setdefault(local(child.tag), []).append((child, follows_comment))
            follows_comment = False

        out = {}
        for key, prop in props.items():
            if key.startswith("_"):
                continue
            if key == "resourceType" and resource_type is not None:
                out["resourceType"] = resource_type
                continue
            is_list, defname_of = self.target(prop)
            if key in elem.attrib and key != "value":
                out[key] = elem.attrib[key]
                continue
            if key not in found:
                continue
            children = found[key]
            if key == "div" and defname_of == "xhtml":
                out[key] = ET.tostring(children[0][0]).decode("ascii")
                continue
            if self.is_primitive(defname_of):
                values, extras = [], []
                for child, after_comment in children:
                    raw = child.attrib.get("value")
                    values.append(
                        None if raw is None else self.primitive_value(defname_of, raw)
                    )
                    extra = self.primitive_extra(child, after_comment)
                    extras.append(extra)
                if is_list:
                    if any(v is not None for v in values):
                        out[key] = values
                    if any(e is not None for e in extras):
                        out["_" + key] = extras
                else:
                    if values[0] is not None:
                        out[key] = values[0]
                    if extras[0] is not None:
                        out["_" + key] = extras[0]
                continue
            converted = [self.element(child, defname_of) for child, _ in children]
            out[key] = converted if is_list else converted[0]
        return out

    def element(self, child, defname):
        if defname == "ResourceList":
            inner = [c for c in child if isinstance(c.tag, str)]
            return self.resource(inner[0])
        return self.complex(child, defname)

    def primitive_extra(self, child, after_comment):
        """The "_name" object of a primitive, or None when it has none."""
        extra = {}
        if "id" in child.attrib:
            extra["id"] = child.attrib["id"]
        extensions = [
            self.complex(c, "Extension")
            for c in child
            if isinstance(c.tag, str) and local(c.tag) == "extension"
        ]
        if extensions:
            extra["extension"] = extensions
        if extra or after_comment:
            return extra
        return None


def local(tag):
    return tag.rsplit("}", 1)[-1]


def convert(converter, path):
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser=parser).getroot()
    if not root.tag.startswith("{" + FHIR_NS + "}"):
        raise ValueError(f"{path}: not a FHIR XML resource ({root.tag})")
    return json.dumps(converter.resource(root), indent=2)


def main(argv):
    if len(argv) < 4 or "--out" not in argv:
        sys.stderr.write(__doc__)
        return 2
    at = argv.index("--out")
    out_dir = argv[at + 1]
    schema_path, sources = argv[1], argv[2:at] + argv[at + 2 :]
    with open(schema_path, encoding="utf-8") as f:
        converter = Converter(json.load(f))
    failed = 0
    for source in sources:
        name = source.rsplit("/", 1)[-1]
        target = out_dir + "/" + name[: -len(".xml")] + ".json"
        try:
            text = convert(converter, source)
        except (ET.ParseError, KeyError, ValueError, IndexError) as e:
            sys.stderr.write(f"cannot convert {name}: {e}\n")
            failed += 1
            continue
        with open(target, "w", encoding="ascii", newline="") as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
