#!/usr/bin/env python3
"""Lists the public items of gust's crates whose docs have no example.

DESIGN.md: "Everything public is documented with an example that runs as a
doctest." rustdoc's own `--show-coverage` counts no methods, so this walks
rustdoc's JSON output (nightly's `--output-format json`) from each crate's
root through what a user can name: public modules, re-exports, functions,
types, traits and their inherent methods, skipping `#[doc(hidden)]` items,
trait impls, associated constants and fields. An item counts as having an
example when its docs hold a code block (```).

Usage: ci/doc_examples.py target/doc/gust_chan.json ...; exits 1 listing
the items without one. rustdoc's JSON format is unstable: a file it cannot
read is reported and skipped, not failed.
"""
import json
import sys

NEEDS_EXAMPLE = {"function", "struct", "enum", "union", "trait", "type_alias", "macro", "static"}


def missing(path):
    doc = json.load(open(path))
    index, out, seen = doc["index"], [], set()

    def visit(iid, prefix):
        if iid in seen or str(iid) not in index:
            return  # an item of another crate: checked with that crate
        seen.add(iid)
        item = index[str(iid)]
        if any("hidden" in str(a) for a in item.get("attrs", [])):
            return
        (kind, inner), = item["inner"].items()
        name = item.get("name") or ""
        if kind != "impl" and item.get("visibility") not in ("public", "default"):
            return
        here = (f"{prefix}::{name}" if prefix else name) if name else prefix
        if kind in NEEDS_EXAMPLE and "```" not in (item.get("docs") or ""):
            span = item.get("span") or {}
            out.append(f"{span.get('filename')}:{(span.get('begin') or [0])[0]}: {kind} {here}")
        if kind == "module":
            for child in inner["items"]:
                visit(child, here)
        elif kind in ("struct", "enum", "union"):
            for imp in inner.get("impls", []):
                visit(imp, here)
        elif kind == "trait":
            for child in inner["items"]:
                visit(child, here)
        elif kind == "impl":
            if inner.get("trait") is None and not inner.get("is_synthetic") and not inner.get("blanket_impl"):
                for child in inner["items"]:
                    visit(child, prefix)
        elif kind == "use" and inner.get("id") is not None:
            visit(inner["id"], prefix)

    visit(doc["root"], "")
    return out


def main(paths):
    bad, skipped = [], 0
    for path in paths:
        try:
            bad += missing(path)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped += 1
            print(f"doc_examples: skipped {path}: rustdoc JSON not understood ({e!r})")
    for line in sorted(set(bad)):
        print(f"no example: {line}")
    if bad:
        print(f"doc_examples: {len(set(bad))} public items without an example (DESIGN.md: every public item has one)")
        return 1
    if skipped:
        print(f"doc_examples: NOT CHECKED: {skipped} of {len(paths)} files (rustdoc JSON not understood); the rest have an example on every public item")
    else:
        print(f"doc_examples: every public item of {len(paths)} crates has an example")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
