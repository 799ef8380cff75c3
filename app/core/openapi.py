"""Post-processing of the OpenAPI document: the text rules every input obeys, made explicit.

Request bodies refuse NUL and other control characters (tab, newline and carriage return are
allowed in body text) and bidirectional override and isolate controls; a body's names and
titles must also show something (app/core/text.py). The URL refuses every control character.
Each string in a request body or a path or query parameter that has no pattern, format or
enum of its own gets the matching pattern.
"""

from typing import Any

from app.core.text import BODY_TEXT_PATTERN, DISPLAY_TEXT_PATTERN, is_display_field

URL_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
METHODS = ("get", "put", "post", "patch", "delete")


def _constrain(schema: dict[str, Any], pattern: str, display: str | None = None) -> None:
    """Gives strings `pattern`; with `display`, a body's names and titles get that one."""
    if (
        schema.get("type") == "string"
        and not {"pattern", "format", "enum", "const"} & schema.keys()
    ):
        schema["pattern"] = pattern
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            _constrain(sub, pattern, display)
    if isinstance(schema.get("items"), dict):
        _constrain(schema["items"], pattern, display)
    for name, sub in schema.get("properties", {}).items():
        named = display if display is not None and is_display_field(name) else pattern
        _constrain(sub, named, display)


def document_text_rules(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    bodies: set[str] = set()
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    _constrain(parameter.get("schema", {}), URL_TEXT_PATTERN)
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref:
                bodies.add(ref.rsplit("/", 1)[-1])
    for name in bodies:
        _constrain(components[name], BODY_TEXT_PATTERN, DISPLAY_TEXT_PATTERN)
