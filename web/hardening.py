"""What every response and every request gets, whatever the view: security headers, bounded input.

Bounds live here, once, rather than in each view, so a new form field cannot be forgotten: any
text field over :data:`MAX_FIELD_CHARS` is refused with a message naming it (the rubric editor's
YAML is the one long field), record ids beyond what the store can hold are "not found" rather than
an integer overflow deep in the database driver, and a request body over :data:`MAX_BODY_BYTES`
is refused before it is read.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g, request
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

# PostgreSQL's integer: the largest id any table can hold.
MAX_RECORD_ID = 2**31 - 1
MAX_FIELD_CHARS = 4000
# Endpoints with one long field, and its bound (the rubric YAML editor).
LONG_FIELDS = {"admin.save_rubric": ("text", 200_000)}
MAX_BODY_BYTES = 1024 * 1024

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # style attributes on charts and layout; never script
        "img-src 'self' data:",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def parse_record_id(value: Any) -> int:
    """A record id from a form or query string (``type=parse_record_id``): a positive integer the store
    can hold. Raises ValueError otherwise, which Werkzeug's ``get(..., type=)`` turns into None."""
    number = int(str(value).strip())
    if not 0 < number <= MAX_RECORD_ID:
        raise ValueError(f"{value!r} is not a record id")
    return number


def optional_record_id(value: Any) -> int | None:
    """A record id, or None for anything that is not one (empty, text, out of range)."""
    try:
        return parse_record_id(value)
    except (TypeError, ValueError):
        return None


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in routes: ids past :data:`MAX_RECORD_ID` are 404, not a database overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (Werkzeug's name)
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(map, *args, **kwargs)


def _too_long(endpoint: str, name: str, value: Any) -> int | None:
    """The bound ``value`` breaks, if it is text longer than its field allows."""
    if not isinstance(value, str):
        return None
    long_name, long_limit = LONG_FIELDS.get(endpoint, ("", 0))
    limit = long_limit if name == long_name else MAX_FIELD_CHARS
    return limit if len(value) > limit else None


def _check_field_lengths() -> None:
    endpoint = request.endpoint or ""
    fields: list[tuple[str, Any]] = list(request.form.items(multi=True))
    data = request.get_json(silent=True) if request.is_json else None
    if isinstance(data, dict):
        fields += [(str(k), v) for k, v in data.items()]
    for name, value in fields:
        if (limit := _too_long(endpoint, name, value)) is not None:
            abort(400, f"{name} is longer than {limit} characters")


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if g.get("user") is not None and request.endpoint != "static":
        # Call content and scores must not stay in a shared browser's cache after sign-out.
        headers["Cache-Control"] = "no-store"
    return response


def init_hardening(app: Flask) -> None:
    """Install the bounds and headers; call before registering blueprints (the id converter must be
    in place when their routes are compiled)."""
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_BODY_BYTES)
    app.url_map.converters["int"] = RecordIdConverter
    app.before_request(_check_field_lengths)
    app.after_request(_security_headers)
