"""Checks of the store that the store tests and the web tests both make."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from qa_scoring.store.models import Review


def assert_second_writer_refused(factory: sessionmaker[Session]) -> None:
    """Two sessions load the store's one review; the first writer's commit stands and the second's
    fails (optimistic locking) instead of overwriting it."""
    first, second = factory(), factory()
    try:
        a, b = first.scalars(select(Review)).one(), second.scalars(select(Review)).one()
        a.comment = "first"
        first.commit()
        b.comment = "second"
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()
        with factory() as session:
            assert session.scalar(select(Review)).comment == "first"
    finally:
        first.close()
        second.close()
