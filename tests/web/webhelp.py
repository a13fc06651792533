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
