"""Extract the OCSF Detection Finding class, and the objects the guardian's findings use, from the published OCSF
schema into tests/fixtures/ocsf/: the tests check :mod:`guardian.model.ocsf` against it without the network.

The class and objects are resolved as the OCSF server resolves them: ``$include`` of includes/ and profiles/ (a
profile's attributes are marked with its name: they belong to a document only when ``metadata.profiles`` names it),
``extends`` up to base_event (objects up to ``object``), each attribute's type, array-ness and enum merged from
dictionary.json with the class's (or object's) own overrides winning, and the class, category and type uids
computed as 1.1.0 computes them (class_uid = category uid * 1000 + class uid; type_uid = class_uid * 100 + activity).
Only what the tests need is kept (no descriptions), sorted, with the source named in ``_source``.

    python scripts/ocsf_extract.py --mirror /work/.mirror/ocsf+ocsf-schema/repo [--tag v1.1.0]
    python scripts/ocsf_extract.py --checkout ../ocsf-schema   # a checkout of the tag
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ocsf"
REPOSITORY = "https://github.com/ocsf/ocsf-schema"
CLASS = "events/findings/detection_finding.json"
# The objects a Detection Finding of the guardian's can reach (tests/unit/test_ocsf_schema.py fails naming any other).
OBJECTS = (
    "account",
    "actor",
    "analytic",
    "api",
    "cloud",
    "evidences",
    "finding_info",
    "metadata",
    "network_endpoint",
    "object",
    "product",
    "request",
    "resource_details",
    "service",
    "user",
)
KEPT = ("type", "requirement", "is_array", "enum", "profile", "sibling", "@deprecated")


class Source:
    """The schema's files at one tag: from a bare mirror (``git show refs/tags/<tag>:<path>``) or a checkout."""

    def __init__(self, *, mirror: Path | None, checkout: Path | None, tag: str) -> None:
        self.mirror, self.checkout, self.tag = mirror, checkout, tag
        self.commit = self._git("rev-parse", f"refs/tags/{tag}^{{commit}}").strip() if mirror else self._head()

    def _git(self, *args: str) -> str:
        where = self.mirror or self.checkout
        return subprocess.run(["git", "-C", str(where), *args], check=True, capture_output=True, text=True).stdout

    def _head(self) -> str:
        try:
            return self._git("rev-parse", "HEAD").strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return "unknown (not a git checkout)"

    def text(self, path: str) -> str:
        if self.mirror is not None:  # refs/tags/ explicitly: the mirror also has a branch named like the tag
            return self._git("show", f"refs/tags/{self.tag}:{path}")
        assert self.checkout is not None
        return (self.checkout / path).read_text()

    def read(self, path: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.text(path))
        return data

    def licence(self) -> str:
        text = self.text("LICENSE")
        return "Apache-2.0" if "Apache License" in text and "Version 2.0" in text else "see LICENSE"


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` wins; nested objects (attributes, enums) are merged key by key, as the OCSF server merges them."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def own_attributes(source: Source, definition: dict[str, Any]) -> dict[str, Any]:
    """A file's attributes with its ``$include`` files merged under them (a profile's marked with its name)."""
    attributes = dict(definition.get("attributes", {}))
    included: dict[str, Any] = {}
    for path in attributes.pop("$include", []):
        part = source.read(path)
        extra = {"profile": part["name"]} if part.get("meta") == "profile" else {}
        attrs = own_attributes(source, part)
        included = deep_merge(included, {name: {**extra, **attr} for name, attr in attrs.items()})
    return deep_merge(included, attributes)


def resolved(source: Source, path: str, parents: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definition and its attributes after ``extends`` (the parent's, the child's own winning)."""
    definition = source.read(path)
    attributes = own_attributes(source, definition)
    parent = definition.get("extends")
    if parent:
        ancestor, inherited = resolved(source, parents[parent], parents)
        attributes = deep_merge(inherited, attributes)
        definition = {**definition, "profiles": [*ancestor.get("profiles", []), *definition.get("profiles", [])]}
    return definition, attributes


def typed(attributes: dict[str, Any], dictionary: dict[str, Any], objects: set[str]) -> dict[str, Any]:
    """Each attribute over its dictionary entry; ``type`` an OCSF type (``*_t``) or object_t with ``object``."""
    out: dict[str, Any] = {}
    for name, attr in sorted(attributes.items()):
        full = deep_merge(dictionary[name], attr)
        entry = {key: full[key] for key in KEPT if key in full}
        entry.setdefault("requirement", "optional")
        if "@deprecated" in entry:
            entry["deprecated"] = entry.pop("@deprecated").get("since", True)
        if not str(entry["type"]).endswith("_t"):
            objects.add(entry["type"])
            entry["object"], entry["type"] = entry["type"], "object_t"
        if "enum" in entry:
            entry["enum"] = {key: entry["enum"][key].get("caption", "") for key in sorted(entry["enum"], key=int)}
        out[name] = entry
    return out


def extract(source: Source) -> dict[str, Any]:
    dictionary = source.read("dictionary.json")
    categories = source.read("categories.json")["attributes"]
    events = {"base_event": "events/base_event.json", "finding": "events/findings/finding.json"}
    definition, attributes = resolved(source, CLASS, events)
    category = categories[definition["category"]]
    class_uid = category["uid"] * 1000 + definition["uid"]
    referenced: set[str] = set()
    attrs = typed(attributes, dictionary["attributes"], referenced)
    attrs["category_uid"]["enum"] = {str(category["uid"]): category["caption"]}
    attrs["class_uid"]["enum"] = {str(class_uid): definition["caption"]}
    attrs["type_uid"]["enum"] = {
        str(class_uid * 100 + int(key)): f"{definition['caption']}: {caption}"
        for key, caption in attrs["activity_id"]["enum"].items()
    }
    object_files = {name: f"objects/{name}.json" for name in ("object", "_entity", "_resource", "endpoint", *OBJECTS)}
    objects: dict[str, Any] = {}
    for name in OBJECTS:
        obj, obj_attrs = resolved(source, object_files[name], object_files)
        entry: dict[str, Any] = {"attributes": typed(obj_attrs, dictionary["attributes"], referenced)}
        constraints = obj.get("constraints") or {}
        if constraints.get("at_least_one"):
            entry["at_least_one"] = sorted(constraints["at_least_one"])
        objects[name] = entry
    used = {a["type"] for o in [{"attributes": attrs}, *objects.values()] for a in o["attributes"].values()}
    types = dictionary["types"]["attributes"]
    return {
        "_source": {
            "repository": REPOSITORY,
            "tag": source.tag,
            "commit": source.commit,
            "licence": source.licence(),
            "made_by": "scripts/ocsf_extract.py",
            "files": "dictionary.json, categories.json, events/, includes/, profiles/, objects/ (resolved)",
        },
        "class": {
            "name": definition["name"],
            "caption": definition["caption"],
            "category": definition["category"],
            "category_uid": category["uid"],
            "uid": class_uid,
            "profiles": sorted(set(definition.get("profiles", []))),
            "attributes": attrs,
        },
        "objects": objects,
        "referenced_objects_not_extracted": sorted(referenced - set(objects)),
        "types": {
            name: {key: types[name][key] for key in ("type", "max_len", "regex", "range") if key in types[name]}
            for name in sorted(used | {"object_t"})
            if name in types
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--mirror", type=Path, help="a bare git mirror of ocsf/ocsf-schema")
    where.add_argument("--checkout", type=Path, help="a checkout of the tag")
    parser.add_argument("--tag", default="v1.1.0")
    args = parser.parse_args()
    source = Source(mirror=args.mirror, checkout=args.checkout, tag=args.tag)
    data = extract(source)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{args.tag.removeprefix('v')}-detection-finding.json"
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{out}: {out.stat().st_size} bytes, from {REPOSITORY} {args.tag} ({source.commit})")


if __name__ == "__main__":
    main()
