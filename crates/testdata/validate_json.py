"""Validates a JSON document against an official schema with the reference validators.

    validate_json.py sarif|cyclonedx-1.6 FILE
    validate_json.py schema=SCHEMA_FILE FILE     (a JSON Schema of ward's own, draft 2020-12)

Exit 0: valid. Exit 1: invalid, every error on stderr as `JSON-pointer: message`. Exit 2: usage
or setup error (a validator or schema is not installed: `.ci/run tools` installs them).

Run it with the tools venv's Python, `$WARD_TOOLS_DIR/bin/python3` (default
~/.cache/ward-tools), where `.ci/run` installs the validators and the schemas:
- sarif: SARIF 2.1.0 as shipped by the npm package @microsoft/jest-sarif (in
  `$WARD_TOOLS_DIR/node`), checked by `jsonschema` with the validator of the draft the schema
  names in `$schema` (draft-04), formats included;
- cyclonedx-1.6: cyclonedx-python-lib's own JsonStrictValidator for CycloneDX 1.6 (it resolves
  the spdx and jsf schemas the BOM schema references, and checks formats), and `specVersion`
  must say 1.6 (the schema itself accepts any string there).

ward-testdata's `validate_json` runs this script; tests use that, not this file directly.
"""

import json
import os
import sys
from pathlib import Path

USAGE = "usage: validate_json.py sarif|cyclonedx-1.6|schema=SCHEMA_FILE FILE"
INSTALL = (
    "run .ci/run tools to install the validators into $WARD_TOOLS_DIR"
    " (default ~/.cache/ward-tools)"
)
# The longest message printed per error: jsonschema quotes the whole failing value.
MESSAGE_LIMIT = 400


def setup_error(what):
    print(f"validate_json: {what}; {INSTALL}", file=sys.stderr)
    return 2


def tools_dir():
    return Path(os.environ.get("WARD_TOOLS_DIR") or Path.home() / ".cache" / "ward-tools")


def pointer(path):
    """The JSON pointer (RFC 6901) of a jsonschema error path; `(root)` for the document."""
    if not path:
        return "(root)"
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def describe(error):
    """`pointer: message` for one jsonschema error, with the closest sub-error of an
    anyOf/oneOf (whose own message only says that no alternative matched)."""
    message = error.message
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "..."
    line = f"{pointer(error.absolute_path)}: {message}"
    if error.context:
        from jsonschema.exceptions import best_match

        closest = best_match(error.context)
        line += f" (closest alternative: {describe(closest)})"
    return line


def sarif_errors(document):
    try:
        from jsonschema.validators import validator_for
    except ImportError:
        return None, setup_error("the Python package jsonschema is not installed")
    folder = tools_dir() / "node" / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas"
    found = sorted(folder.glob("sarif-2.1.0*.json"))
    if not found:
        what = f"the SARIF 2.1.0 schema of @microsoft/jest-sarif is not in {folder}"
        return None, setup_error(what)
    schema = json.loads(found[-1].read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return list(validator.iter_errors(document)), 0


def own_schema_errors(schema_file, document):
    """Errors against a schema of ward's own (the OpenAPI document's JSON Schemas), with the
    draft 2020-12 validator and formats checked."""
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        return None, setup_error("the Python package jsonschema is not installed")
    try:
        schema = json.loads(Path(schema_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"validate_json: cannot read the schema {schema_file}: {e}", file=sys.stderr)
        return None, 2
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return list(validator.iter_errors(document)), 0


def cyclonedx_1_6_errors(text):
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        return None, setup_error("the Python package cyclonedx-python-lib is not installed")
    try:
        found = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    except Exception as e:  # the json-validation extra is missing
        return None, setup_error(f"cyclonedx-python-lib cannot validate JSON: {e}")
    errors = [e.data for e in found or []]
    return errors, 0


def main(argv):
    if len(argv) != 3 or not (argv[1] in ("sarif", "cyclonedx-1.6") or argv[1].startswith("schema=")):
        print(USAGE, file=sys.stderr)
        return 2
    kind, file = argv[1], argv[2]
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as e:
        print(f"validate_json: cannot read {file}: {e}", file=sys.stderr)
        return 2
    try:
        document = json.loads(text)
    except ValueError as e:
        print(f"(root): not JSON: {e}", file=sys.stderr)
        return 1
    if kind == "sarif":
        errors, code = sarif_errors(document)
    elif kind.startswith("schema="):
        errors, code = own_schema_errors(kind[len("schema="):], document)
    else:
        errors, code = cyclonedx_1_6_errors(text)
    if errors is None:
        return code
    # In document order: array indexes as numbers (/components/2 before /components/10).
    def document_order(error):
        path = [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in error.absolute_path]
        return path, error.message

    errors.sort(key=document_order)
    lines = [describe(e) for e in errors]
    if kind == "cyclonedx-1.6" and isinstance(document, dict):
        spec_version = document.get("specVersion")
        if spec_version != "1.6":
            lines.append(f"/specVersion: {json.dumps(spec_version)} is not \"1.6\"")
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
