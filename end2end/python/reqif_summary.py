"""Reads a .reqif file (or the first in a .reqifz) with the `reqif` package (PyPI) and
prints what it holds as JSON: each SPEC-OBJECT with its type's name and its attribute
values, the SPEC-RELATIONS, and the SPECIFICATIONS' hierarchy (object identifiers,
nested). Charter's tests compare that
with the project exported, so the export is read by a reader Charter did not write."""

import json
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
import zipfile

from reqif.parser import ReqIFParser


def text(attribute):
    """A string attribute's value; an XHTML one's text, a line per paragraph or item."""
    if attribute.value_stripped_xhtml is None:
        return attribute.value
    root = ElementTree.fromstring(attribute.value_stripped_xhtml)
    return "\n".join(piece.strip() for piece in root.itertext() if piece.strip())


def hierarchy(nodes):
    return [{"object": node.spec_object, "children": hierarchy(node.children or [])} for node in nodes or []]


def main(path):
    if path.endswith(".reqifz"):
        # A .reqifz is a zip of .reqif files: read the first.
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
            name = next(name for name in archive.namelist() if name.endswith(".reqif"))
            return summarize(ReqIFParser.parse(archive.extract(name, folder)))
    return summarize(ReqIFParser.parse(path))


def summarize(bundle):
    content = bundle.core_content.req_if_content
    type_names = {spec_type.identifier: spec_type.long_name for spec_type in content.spec_types or []}
    objects = [
        {
            "identifier": spec_object.identifier,
            "type": type_names.get(spec_object.spec_object_type),
            "values": {
                attribute.definition_ref: text(attribute) for attribute in spec_object.attributes
            },
        }
        for spec_object in content.spec_objects or []
    ]
    relations = [{"source": r.source, "target": r.target} for r in content.spec_relations or []]
    specifications = [
        {"name": specification.long_name, "children": hierarchy(specification.children)}
        for specification in content.specifications or []
    ]
    print(json.dumps({"objects": objects, "relations": relations, "specifications": specifications}))


if __name__ == "__main__":
    main(sys.argv[1])
