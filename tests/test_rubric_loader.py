"""The rubric loader: shipped rubrics load, and every kind of mistake names the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PROJECT_ROOT
from rubric_texts import SECTION

from qa_scoring.rubric.rubric import RubricError, load_rubric, load_rubrics, parse_rubric

# The line numbers below count from here: SECTION (rubric_texts.py) starts at line 5.
GOOD = (
    """\
id: demo
name: Demo
version: "2"
applies_when: {behaviour: complaint}
"""
    + SECTION
)


def errors_of(text: str, path: str = "rubrics/demo.yaml") -> list[str]:
    with pytest.raises(RubricError) as info:
        parse_rubric(text, path)
    return info.value.errors


def test_shipped_rubrics_load() -> None:
    rubrics = load_rubrics(PROJECT_ROOT / "rubrics")
    assert set(rubrics) == {"rater", "later", "lass", "complaint_5step", "uk_compliance", "default"}
    assert {s.name for s in rubrics["rater"].sections} == {
        "Reliability", "Assurance", "Tangibles", "Empathy", "Responsiveness",
    }  # fmt: skip
    for rid in ("later", "lass", "complaint_5step"):
        assert rubrics[rid].applies_when[0].behaviour == "complaint"
    assert any(
        c.auto_fail and c.test.metric == "agent_card_numbers" for c in rubrics["uk_compliance"].criteria
    )


def test_good_rubric_parses_every_part() -> None:
    rubric = parse_rubric(GOOD, "rubrics/demo.yaml")
    sorry, quiet, card, held = rubric.criteria
    assert rubric.id == "demo" and rubric.version == "2"
    assert sorry.test.all == ("apology",) and sorry.partial.any == ("empathy",) and sorry.weight == 2.0
    assert quiet.test.metric == "longest_silence" and quiet.test.max == 10
    assert quiet.partial.metric == "longest_silence" and quiet.partial.max == 30  # inherited metric
    assert card.auto_fail
    assert held.test.all == ("hold_etiquette",) and held.applies_when[0].metric == "hold_count"


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [
        ("all: [apology]", "all: [apolgy]", 11, "unknown behaviour 'apolgy' - did you mean 'apology'?"),
        ("metric: longest_silence", "metric: longest_quiet", 16, "unknown metric 'longest_quiet'"),
        ("weight: 2", "weight: -2", 13, "weight must be a positive number"),
        ("weight: 2", "weight: heavy", 13, "weight must be a positive number"),
        ("auto_fail: true", "auto_fail: sometimes", 23, "auto_fail must be true or false"),
        ("partial: {max: 30}", "partial: {max: 30}\n        colour: red", 19, "unknown key 'colour'"),
        (
            "{metric: hold_count, min: 1}",
            "{metric: hold_count, min: 3, max: 1}",
            27,
            "min 3 is greater than max 1",
        ),
        ("{behaviour: complaint}", "{behaviour: complaint, metric: hold_count}", 4, "exactly one of"),
        ("        max: 10\n", "", 16, "a metric needs 'min' and/or 'max'"),
    ],
)
def test_each_error_names_file_and_line(old: str, new: str, line: int, fragment: str) -> None:
    assert old in GOOD
    errors = errors_of(GOOD.replace(old, new, 1))
    assert any(e.startswith(f"rubrics/demo.yaml:{line}: ") and fragment in e for e in errors), errors


def test_yaml_syntax_error_has_line() -> None:
    errors = errors_of(GOOD.replace("all: [apology]", "all: [apology"))
    assert len(errors) == 1 and errors[0].startswith("rubrics/demo.yaml:") and "YAML error" in errors[0]
    assert int(errors[0].split(":")[1]) >= 11


def test_duplicate_yaml_key_and_criterion_id() -> None:
    errors = errors_of(GOOD.replace("        weight: 2\n", "        weight: 2\n        weight: 3\n"))
    assert errors[0].startswith("rubrics/demo.yaml:14: YAML error") and "duplicate key 'weight'" in errors[0]
    errors = errors_of(GOOD.replace("id: quiet", "id: sorry"))
    assert "rubrics/demo.yaml:14: duplicate criterion id 'sorry'" in errors


def test_all_problems_reported_together_and_criterion_must_check_something() -> None:
    text = GOOD.replace("all: [apology]", "all: [nope]").replace(
        "        max: 0\n", "        max: 0\n        foo: 1\n"
    )
    errors = errors_of(text)
    assert len(errors) == 2
    errors = errors_of(
        "name: X\nsections:\n  - id: s\n    name: S\n    criteria:\n      - id: c\n        name: C\n"
    )
    assert errors == ["rubrics/demo.yaml:6: criterion 'c' checks nothing: name behaviours (all, any, absent),"
                      " a metric with min/max, or what is said ('says' with example phrases)"]  # fmt: skip


def test_missing_parts() -> None:
    assert errors_of("just text") == [
        "rubrics/demo.yaml:1: a rubric file must be a mapping with 'name' and 'sections'"
    ]
    errors = errors_of("version: 1\n")
    assert "rubrics/demo.yaml:1: rubric needs a 'name'" in errors
    assert "rubrics/demo.yaml:1: rubric needs 'sections': a non-empty list" in errors


def test_directory_loading(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RubricError, match=r"b\.yaml:1: rubric id 'demo' is already used by .*a\.yaml"):
        load_rubrics(tmp_path)
    (tmp_path / "b.yaml").write_text(GOOD.replace("id: demo", "id: other"), encoding="utf-8")
    assert list(load_rubrics(tmp_path, ["other"])) == ["other"]
    with pytest.raises(RubricError, match="unknown rubric 'otter' - did you mean 'other'"):
        load_rubrics(tmp_path, ["otter"])
    with pytest.raises(RubricError, match=r"nope\.yaml: no such file"):
        load_rubric(tmp_path / "nope.yaml")
