"""Checks every response the Swift tests saw against openapi.yaml.

Usage: check_responses.py OPENAPI_YAML RESPONSES_NDJSON

Each line of RESPONSES_NDJSON is one exchange recorded by the tests' HTTP client:
{"method": "POST", "uri": "/api/v1/...", "status": 200, "content_type": "...", "body": "..."}.
For each exchange whose path is a documented operation, the status must be documented
(or covered by a `default`), the media type must be one the document lists for it, and a
JSON body must validate against that response's schema (JSON Schema 2020-12, as OpenAPI
3.1 writes it). Prints the counts and every failure; exits 1 when any failed.
"""

import collections
import json
import re
import sys

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:claimflow:openapi"


def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def close_objects(node):
    """Treats every object schema with listed properties as closed: a response key the
    document does not list (a renamed Swift property, say) is a failure, not a silent extra."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            close_objects(value)
    elif isinstance(node, list):
        for value in node:
            close_objects(value)


def main():
    document = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
    close_objects(document)
    registry = Registry().with_resource(BASE, Resource.from_contents(document, default_specification=DRAFT202012))

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/components/responses/"):
            node = document["components"]["responses"][node["$ref"].split("/")[-1]]
        return node

    templates = []
    for path, item in document["paths"].items():
        regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        templates.append((regex, path, item))

    checked = collections.Counter()
    failures = []
    validators = {}
    with open(sys.argv[2], encoding="utf-8") as records:
        for number, line in enumerate(records, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            path = record["uri"].split("?", 1)[0]
            method = record["method"].lower()
            match = [(template, item) for regex, template, item in templates if regex.match(path)]
            # A literal path wins over a templated one (`/encounters/batch` over `/encounters/{id}`).
            match.sort(key=lambda m: m[0].count("{"))
            operation = next(((t, item[method]) for t, item in match if method in item), None)
            if operation is None:
                checked["not an operation (404/405 checks)"] += 1
                continue
            template, spec = operation
            status = str(record["status"])
            responses = spec.get("responses", {})
            chosen = next((k for k in (status, status[0] + "XX", "default") if k in responses), None)
            where = f"{record['method']} {template} -> {status}"
            if chosen is None:
                failures.append(f"{where}: status not documented")
                continue
            original = responses[chosen]
            response = resolve(original)
            content = response.get("content")
            body = record.get("body", "")
            if not content:
                if body:
                    failures.append(f"{where}: a body where the document gives none")
                checked["no body"] += 1
                continue
            media = (record.get("content_type") or "").split(";")[0].strip()
            if media not in content:
                failures.append(f"{where}: media type {media!r}, documented {sorted(content)}")
                continue
            if not media.endswith("json"):
                checked[media] += 1
                continue
            key = (template, method, chosen, media)
            if key not in validators:
                if "$ref" in original:
                    location = pointer("components", "responses", original["$ref"].split("/")[-1])
                else:
                    location = pointer("paths", template, method, "responses", chosen)
                validators[key] = None
                if content[media].get("schema") is not None:
                    target = BASE + location + "/content/" + media.replace("~", "~0").replace("/", "~1") + "/schema"
                    validators[key] = Draft202012Validator({"$ref": target}, registry=registry)
            validator = validators[key]
            try:
                value = json.loads(body)
            except ValueError:
                failures.append(f"{where}: the body is not JSON")
                continue
            if validator is not None:
                errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
                for error in errors[:3]:
                    location = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
                    failures.append(f"{where}: {location}: {error.message[:200]}")
            checked[f"{media} validated"] += 1

    unique = sorted(set(failures))
    total = sum(checked.values())
    print(f"contract: {total} recorded responses; " + ", ".join(f"{n} {k}" for k, n in sorted(checked.items())))
    for failure in unique[:200]:
        print("  FAIL " + failure)
    print(f"contract: {len(failures)} failed checks ({len(unique)} distinct)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
