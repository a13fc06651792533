"""Users and their passwords: the rules shared by the CLI (``qa-scoring users``), the demo and the
admin pages, kept out of the web layer so commands need no Flask."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from qa_scoring.store.models import ROLES, User

MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@functools.cache
def _decoy_hash() -> str:
    """A hash of nothing anyone types, checked when the user name is unknown or inactive, so every
    failed sign-in costs the same hashing work and timing does not tell which user names exist."""
    return hash_password(secrets.token_hex(16))


def password_matches(user: User | None, password: str) -> bool:
    if user is None or not user.active or not user.password_hash:
        check_password_hash(_decoy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


def create_user(db: Any, username: str, password: str, role: str, **fields: Any) -> User:
    """Add a user with a hashed password; refuses unknown roles and empty or short passwords."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not username.strip():
        raise ValueError("username is empty")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    user = User(username=username.strip(), password_hash=hash_password(password), role=role, **fields)
    db.add(user)
    return user
