"""The behaviour contract (ids, whose turns count, definitions), read from the shipped behaviours.yaml.

The yaml is a copy of the project's spec shipped inside the package, so a user's machine has the
contract without the development data. Loaded once at import: it is tiny and never changes at run time.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml


def _load() -> dict[str, dict[str, Any]]:
    shipped = importlib.resources.files("qa_scoring.behaviours") / "behaviours.yaml"
    text = shipped.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    behaviours = data.get("behaviours") if isinstance(data, dict) else None
    if not isinstance(behaviours, dict) or not behaviours:
        raise ValueError("qa_scoring/behaviours/behaviours.yaml: expected a non-empty 'behaviours' mapping")
    for bid, body in behaviours.items():
        if not isinstance(body, dict) or body.get("who") not in ("agent", "customer"):
            raise ValueError(f"qa_scoring/behaviours/behaviours.yaml: {bid}: 'who' must be agent or customer")
    return behaviours


_SPEC = _load()
BEHAVIOUR_IDS: tuple[str, ...] = tuple(_SPEC)
WHO: dict[str, str] = {bid: body["who"] for bid, body in _SPEC.items()}
# Behaviours added after labelled sets were first written (the dev set, a centre's older exports):
# a file without a label for one of these has not decided it (null), rather than being malformed.
OPTIONAL: frozenset[str] = frozenset(bid for bid, body in _SPEC.items() if body.get("optional"))
DEFINITIONS: dict[str, str] = {
    bid: " ".join(str(body.get("definition", "")).split()) for bid, body in _SPEC.items()
}
