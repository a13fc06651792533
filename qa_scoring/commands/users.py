"""``qa-scoring users``: create and list UI users from the command line (the first admin, scripts)."""

from __future__ import annotations

import sys

import click

from qa_scoring.user_roles import ROLES


@click.group()
def users() -> None:
    """Create, list and unlock UI users."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (first line).")
@click.option("--agent", "agent_external_id", default=None, help="Agent external id (for the agent role).")
@click.option("--team", default=None, help="Team name (for team leaders).")
@click.option("--display-name", default="", help="Name shown in the UI.")
def add(
    username: str,
    role: str,
    password_stdin: bool,
    agent_external_id: str | None,
    team: str | None,
    display_name: str,
) -> None:
    """Add a user; the password is read from stdin or prompted for (never a command-line argument)."""
    from sqlalchemy import select

    from qa_scoring.store.audit import audit_row
    from qa_scoring.store.db import open_store
    from qa_scoring.store.models import Agent, Team, User
    from qa_scoring.store.users import create_user

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    with open_store()() as session:
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise click.ClickException(f"user {username!r} already exists")
        fields = {"display_name": display_name}
        if agent_external_id:
            agent = session.scalar(select(Agent).where(Agent.external_id == agent_external_id))
            if agent is None:
                raise click.ClickException(f"no agent with external id {agent_external_id!r}")
            fields["agent_id"] = agent.id
        if team:
            team_row = session.scalar(select(Team).where(Team.name == team))
            if team_row is None:
                raise click.ClickException(f"no team named {team!r}")
            fields["team_id"] = team_row.id
        try:
            user = create_user(session, username, password, role, **fields)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.flush()
        audit_row(session, user, "create", actor="cli", new={"username": username, "role": role})
        session.commit()
    click.echo(f"created {username} ({role})")


@users.command("list")
def list_users() -> None:
    """List users with their role and links."""
    from sqlalchemy import select

    from qa_scoring.store.db import open_store
    from qa_scoring.store.models import User

    with open_store()() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            agent = user.agent.external_id if user.agent else "-"
            team = user.team.name if user.team else "-"
            state = "active" if user.active else "inactive"
            click.echo(f"{user.username}\t{user.role}\tagent={agent}\tteam={team}\t{state}")


@users.command("unlock")
@click.argument("username")
def unlock_user(username: str) -> None:
    """Lift the sign-in lock that failed attempts put on USERNAME (audited)."""
    from sqlalchemy import select

    from qa_scoring.store import logins
    from qa_scoring.store.db import open_store
    from qa_scoring.store.models import User

    with open_store()() as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            raise click.ClickException(f"no user {username!r}")
        logins.unlock(session, username, None, actor="cli")
        session.commit()
    click.echo(f"sign-in unlocked for {username}")
