"""Helpers for the web tests: sign in through the real form, post JSON with the CSRF token."""

from __future__ import annotations

import re
from typing import Any

PASSWORDS = {
    "qa": "qa-demo-pass",
    "leader": "leader-demo-pass",
    "agent": "agent-demo-pass",
    "admin": "admin-demo-pass",
    "qa2": "second-qa-pass",
    "agent2": "agent-two-pass",
}

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str) -> str:
    """Sign in through the real form (CSRF included); returns a token for later posts."""
    token = csrf_token(client)
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORDS[username], "csrf_token": token}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return csrf_token(client, "/queue/")


def post_json(client, url: str, token: str, body: dict[str, Any]):
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def decide(
    client,
    token: str,
    url: str,
    crit: Any,
    review_id: int,
    version: int,
    decision: str = "accept",
    **extra: str,
) -> Any:
    """One decision on ``crit`` (as ``first_criterion`` returns it) in the review at ``version``
    (0, 0: a new review); ``extra``: an override's result and reason."""
    body = {
        "review_id": review_id,
        "version": version,
        "rubric_id": crit.rubric_id,
        "criterion_id": crit.criterion_id,
        "decision": decision,
        **extra,
    }
    return post_json(client, url, token, body)


def accept_rest_and_submit(client, call_id: int, token: str, state: dict[str, Any]) -> tuple[Any, Any]:
    """Accept every criterion still open in the review ``state`` names (its review_id and version;
    0, 0: a new review), then submit it; returns both responses (the first is checked here)."""
    body = {"review_id": state["review_id"], "version": state["version"]}
    rest = post_json(client, f"/calls/{call_id}/accept-remaining", token, body)
    assert rest.status_code == 200, rest.json
    body = {"review_id": rest.json["review_id"], "version": rest.json["version"]}
    return rest, post_json(client, f"/calls/{call_id}/submit", token, body)


def post_clip(client, call_id: int, start: str, end: str, **fields: str) -> Any:
    """Cut a clip of the call through the form on its page (with that page's CSRF token)."""
    token = csrf_token(client, f"/calls/{call_id}")
    return client.post(
        "/clips/", data={"call_id": call_id, "start": start, "end": end, **fields, "csrf_token": token}
    )


def first_criterion(
    app, call_id: int, *, result: str | None = None, applicable: bool = False, by_id: bool = False
) -> Any:
    """The call's first automatic criterion result (of an applicable scorecard, with ``result``);
    ``by_id``: in the order stored, else by rubric and position. Its ``rubric_id`` is set on it."""
    from sqlalchemy import select

    from qa_scoring.store.models import CriterionResult, Scorecard
    from web.db import get_db

    with app.app_context():
        stmt = select(CriterionResult).join(Scorecard).where(Scorecard.call_id == call_id)
        if result:
            stmt = stmt.where(CriterionResult.result == result)
        if applicable:
            stmt = stmt.where(Scorecard.applicable)
        order = (CriterionResult.id,) if by_id else (Scorecard.rubric_id, CriterionResult.position)
        crit = get_db().scalars(stmt.order_by(*order)).first()
        assert crit is not None, f"call {call_id} has no such criterion"
        crit.rubric_id = crit.scorecard.rubric_id
        return crit
