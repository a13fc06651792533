"""Coaching clips: cut a time range of a call (its redacted audio when there is one) with the
transcript excerpt, tagged with agent, criterion and a note; a library per agent and criterion."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from qa_scoring.store.audit import audit_row
from qa_scoring.store.models import Agent, Call, Clip
from qa_scoring.user_roles import UserRole
from web.access import can_see_call, check_call
from web.auth import current_user, roles
from web.calls import audio_file
from web.clipcut import ClipError, cut_wav
from web.db import get_db
from web.hardening import parse_record_id
from web.queue import scope_agents

bp = Blueprint("clips", __name__, url_prefix="/clips")

MAKERS = (UserRole.TEAM_LEADER, UserRole.QA_OFFICER, UserRole.ADMIN)
VIEWERS = (UserRole.TEAM_LEADER, UserRole.QA_OFFICER, UserRole.ADMIN, UserRole.AGENT)


def excerpt(document: dict[str, Any], start: float, end: float) -> str:
    """The turns overlapping the clip, as 'Role: text' lines (the clip's reading copy)."""
    lines = []
    for turn in document.get("turns", []):
        t0, t1 = turn.get("start"), turn.get("end")
        if t0 is None or t1 is None or t1 <= start or t0 >= end:
            continue
        lines.append(
            f"{str(turn.get('role') or turn.get('speaker')).capitalize()}: {turn.get('text', '').strip()}"
        )
    return "\n".join(lines)


def _seconds(name: str, default: str = "") -> float:
    """A finite, non-negative time in seconds from the form ("nan" and "inf" parse as floats but
    would turn a clip into the whole call)."""
    try:
        value = float(request.form.get(name) or default)
    except ValueError:
        abort(400, f"{name} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        abort(400, f"{name} must be a finite, non-negative number of seconds")
    return value


@bp.route("/", methods=["POST"])
@roles(*MAKERS)
def create() -> Any:
    from qa_scoring.store.queries import latest_transcript

    db = get_db()
    user = current_user()
    call = check_call(user, db.get(Call, request.form.get("call_id", type=parse_record_id)))
    start, end, padding = _seconds("start"), _seconds("end"), _seconds("padding", "0")
    if end <= start:
        abort(400, "end must be after start")
    start, end = max(0.0, start - padding), end + padding
    if call.duration:
        end = min(end, float(call.duration))
    source = audio_file(call)
    if source is None:
        flash("This call has no audio file to cut from.", "error")
        return redirect(url_for("calls.show", call_id=call.id))
    rubric_id, _, criterion_id = (request.form.get("criterion") or "").partition("/")
    transcript = latest_transcript(db, call.id)
    clip = Clip(
        call_id=call.id,
        agent_id=call.agent_id,
        start=round(start, 3),
        end=round(end, 3),
        transcript_excerpt=excerpt(transcript.document if transcript else {}, start, end),
        rubric_id=rubric_id or None,
        criterion_id=criterion_id or None,
        note=(request.form.get("note") or "").strip(),
        tags=[t.strip() for t in (request.form.get("tags") or "").split(",") if t.strip()],
        created_by_id=user.id,
    )
    db.add(clip)
    db.flush()
    target = Path(current_app.config["CLIPS_DIR"]) / f"clip-{clip.id:06d}.wav"
    try:
        cut_wav(source, start, end, target)
    except ClipError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("calls.show", call_id=call.id))
    clip.audio_path = str(target)
    audit_row(
        db,
        clip,
        "create",
        user=user,
        new={
            "call_id": call.id,
            "start": clip.start,
            "end": clip.end,
            "criterion": request.form.get("criterion"),
            "source": "redacted" if source == Path(call.redacted_audio_path or "") else "original",
        },
    )
    db.commit()
    flash(f"Clip {clip.id} saved ({end - start:.1f} s).")
    return redirect(url_for("clips.show", clip_id=clip.id))


def _clip(clip_id: int) -> Clip:
    clip = get_db().get(Clip, clip_id)
    if clip is None:
        abort(404)
    if not can_see_call(current_user(), clip.call):
        abort(403)
    return clip


@bp.route("/<int:clip_id>")
@roles(*VIEWERS)
def show(clip_id: int) -> Any:
    return render_template("clips/show.html", clip=_clip(clip_id))


@bp.route("/<int:clip_id>/audio")
@roles(*VIEWERS)
def audio(clip_id: int) -> Any:
    clip = _clip(clip_id)
    if not clip.audio_path or not Path(clip.audio_path).is_file():
        abort(404)
    download = request.args.get("download") == "1"
    return send_file(
        clip.audio_path,
        mimetype="audio/wav",
        conditional=True,
        as_attachment=download,
        download_name=f"clip-{clip.id}.wav",
        max_age=0,
    )


@bp.route("/")
@roles(*VIEWERS)
def library() -> Any:
    db = get_db()
    user = current_user()
    agents = scope_agents(db, user)
    stmt = (
        select(Clip).where(Clip.agent_id.in_([a.id for a in agents]))
        if user.role in (UserRole.AGENT, UserRole.TEAM_LEADER)
        and (user.role == UserRole.AGENT or user.team_id is not None)
        else select(Clip)
    )
    agent_id = request.args.get("agent", type=parse_record_id)
    criterion = request.args.get("criterion") or ""
    if agent_id:
        stmt = stmt.where(Clip.agent_id == agent_id)
    if criterion:
        rubric_id, _, criterion_id = criterion.partition("/")
        stmt = stmt.where(Clip.rubric_id == rubric_id, Clip.criterion_id == criterion_id)
    clips = list(db.scalars(stmt.order_by(Clip.created_at.desc(), Clip.id.desc()).limit(200)))
    criteria = sorted({f"{c.rubric_id}/{c.criterion_id}" for c in db.scalars(select(Clip)) if c.criterion_id})
    return render_template(
        "clips/library.html",
        clips=clips,
        agents=agents,
        criteria=criteria,
        agent_id=agent_id,
        criterion=criterion,
        agent_names={a.id: a for a in agents},
        Agent=Agent,
    )
