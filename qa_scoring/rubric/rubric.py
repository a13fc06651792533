"""Rubrics as data: the dataclasses a ``rubrics/*.yaml`` file becomes, and the loader that checks it.

A QA manager edits these files, not code, so every mistake must come back as a message a person can
act on: the file, the line, what is wrong and, for a misspelt behaviour or metric, what was probably
meant. The loader collects every problem in a file before it raises, so one run shows them all.
The format is documented in ``rubrics/README.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa_scoring.behaviours import PHRASE_WHEN, PHRASE_WHO, PhraseSpec
from qa_scoring.rubric.metrics import METRICS

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
TEST_KEYS = ("all", "any", "absent", "metric", "min", "max")
CRITERION_KEYS = {
    "id",
    "name",
    "description",
    "weight",
    "auto_fail",
    "partial",
    "applies_when",
    "says",
    *TEST_KEYS,
}
SAYS_KEYS = {"who", "when", "examples", "near_misses"}
# A criterion in plain words needs a few examples to match against; 5-15 work best.
MIN_EXAMPLES, MAX_EXAMPLES = 3, 30
SECTION_KEYS = {"id", "name", "description", "criteria"}
RUBRIC_KEYS = {"id", "name", "version", "description", "applies_when", "sections"}
CONDITION_KEYS = {"behaviour", "present", "metric", "min", "max"}


class RubricError(ValueError):
    """A rubric file that cannot be used. ``errors`` holds one ``file:line: problem`` line each."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Condition:
    """An applicability condition: a behaviour present (or absent), or a metric within bounds."""

    behaviour: str | None = None
    present: bool = True
    metric: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Test:
    """What a criterion checks: every ``all`` behaviour present, at least one ``any`` present, no
    ``absent`` behaviour present, and ``metric`` within ``min``..``max`` (each part optional)."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    metric: str | None = None
    min: float | None = None
    max: float | None = None

    @property
    def behaviours(self) -> tuple[str, ...]:
        return (*self.all, *self.any, *self.absent)


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    test: Test
    weight: float = 1.0
    auto_fail: bool = False
    partial: Test | None = None  # met when ``test`` is not: the criterion scores half
    applies_when: tuple[Condition, ...] = ()
    description: str = ""
    section: str = ""
    says: PhraseSpec | None = None  # a criterion in plain words: example phrases to match


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    criteria: tuple[Criterion, ...]
    description: str = ""


@dataclass(frozen=True)
class Rubric:
    id: str
    name: str
    version: str
    sections: tuple[Section, ...]
    description: str = ""
    applies_when: tuple[Condition, ...] = ()
    path: str = ""
    criteria: tuple[Criterion, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(c for s in self.sections for c in s.criteria))


# --- YAML with line numbers -------------------------------------------------------------------


class _Map(dict):
    line: int = 0
    key_lines: dict[Any, int]


class _Seq(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping, key and list (1-based)."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


# --- building and checking --------------------------------------------------------------------


class _Builder:
    """Turns one parsed file into a :class:`Rubric`, noting every problem with file and line."""

    def __init__(self, path: str, behaviour_ids: Iterable[str], metric_ids: Iterable[str]):
        self.path = path
        self.behaviours = tuple(behaviour_ids)
        self.metrics = tuple(metric_ids)
        self.errors: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"{self.path}:{line}: {message}")

    def line_of(self, mapping: Any, key: str | None = None) -> int:
        if isinstance(mapping, _Map):
            return mapping.key_lines.get(key, mapping.line) if key is not None else mapping.line
        return getattr(mapping, "line", 1)

    def check_keys(self, mapping: _Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = _suggest(str(key), allowed)
                self.error(
                    self.line_of(mapping, key),
                    f"unknown key {key!r} in {what}{hint} (allowed: {', '.join(sorted(allowed))})",
                )

    def text(self, mapping: _Map, key: str, what: str, required: bool = True, default: str = "") -> str:
        value = mapping.get(key)
        if value is None:
            if required:
                self.error(self.line_of(mapping), f"{what} needs a {key!r}")
            return default
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.error(self.line_of(mapping, key), f"{what}: {key!r} must be text")
            return default
        return str(value)

    def ident(self, mapping: _Map, what: str, default: str | None = None) -> str:
        value = self.text(mapping, "id", what, required=default is None, default=default or "")
        if value and not _ID.match(value):
            self.error(
                self.line_of(mapping, "id"),
                f"{what}: id {value!r} must be lower-case letters, digits, '_' or '-'",
            )
        return value

    def number(self, mapping: _Map, key: str, what: str) -> float | None:
        value = mapping.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(self.line_of(mapping, key), f"{what}: {key!r} must be a number, not {value!r}")
            return None
        return float(value)

    def behaviour_list(self, mapping: _Map, key: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
            self.error(
                self.line_of(mapping, key), f"{what}: {key!r} must be a behaviour id or a list of them"
            )
            return ()
        for item in items:
            self.check_behaviour(item, self.line_of(mapping, key), what)
        return tuple(items)

    def check_behaviour(self, bid: str, line: int, what: str) -> None:
        if bid not in self.behaviours:
            self.error(
                line,
                f"{what}: unknown behaviour {bid!r}{_suggest(bid, self.behaviours)}"
                f" (known: {', '.join(self.behaviours)})",
            )

    def check_metric(self, mapping: _Map, what: str) -> str | None:
        metric = mapping.get("metric")
        if metric is None:
            return None
        if not isinstance(metric, str) or metric not in self.metrics:
            self.error(
                self.line_of(mapping, "metric"),
                f"{what}: unknown metric {metric!r}{_suggest(str(metric), self.metrics)}"
                f" (known: {', '.join(self.metrics)})",
            )
            return None
        return metric

    def bounds(self, mapping: _Map, what: str, metric: str | None, inherited: bool = False) -> tuple:
        low, high = self.number(mapping, "min", what), self.number(mapping, "max", what)
        has_metric = "metric" in mapping or inherited
        if has_metric and low is None and high is None and ("min" not in mapping and "max" not in mapping):
            self.error(self.line_of(mapping, "metric"), f"{what}: a metric needs 'min' and/or 'max'")
        if not has_metric and ("min" in mapping or "max" in mapping):
            key = "min" if "min" in mapping else "max"
            self.error(self.line_of(mapping, key), f"{what}: 'min'/'max' need a 'metric'")
        if low is not None and high is not None and low > high:
            self.error(self.line_of(mapping, "min"), f"{what}: min {low:g} is greater than max {high:g}")
        return low, high

    def test(self, mapping: _Map, what: str, inherit_metric: str | None = None, says: bool = False) -> Test:
        metric = self.check_metric(mapping, what)
        if (
            metric is None
            and "metric" not in mapping
            and inherit_metric
            and ("min" in mapping or "max" in mapping)
        ):
            metric = inherit_metric
        low, high = self.bounds(
            mapping, what, metric, inherited=metric is not None and "metric" not in mapping
        )
        test = Test(
            all=self.behaviour_list(mapping, "all", what),
            any=self.behaviour_list(mapping, "any", what),
            absent=self.behaviour_list(mapping, "absent", what),
            metric=metric,
            min=low,
            max=high,
        )
        if not says and not any(key in mapping for key in TEST_KEYS):
            self.error(
                self.line_of(mapping),
                f"{what} checks nothing: name behaviours (all, any, absent), a metric with min/max, "
                "or what is said ('says' with example phrases)",
            )
        return test

    def phrases(self, mapping: _Map, key: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.error(self.line_of(mapping, key), f"{what}: {key!r} must be a list of phrases (text)")
            return ()
        return tuple(v.strip() for v in value)

    def says(self, mapping: _Map, what: str) -> PhraseSpec | None:
        raw = mapping.get("says")
        where = f"{what}: says"
        if not isinstance(raw, _Map):
            self.error(self.line_of(mapping, "says"), f"{where} must be a mapping with 'who' and 'examples'")
            return None
        self.check_keys(raw, SAYS_KEYS, where)
        who = raw.get("who")
        if who not in PHRASE_WHO:
            line = self.line_of(raw, "who") if "who" in raw else self.line_of(raw)
            self.error(line, f"{where}: 'who' must be one of {', '.join(PHRASE_WHO)}, not {who!r}")
        when = raw.get("when", "anywhere")
        if when not in PHRASE_WHEN:
            hint = _suggest(str(when), PHRASE_WHEN)
            self.error(
                self.line_of(raw, "when"),
                f"{where}: 'when' {when!r}{hint} is not one of {', '.join(PHRASE_WHEN)}",
            )
        examples = self.phrases(raw, "examples", where)
        if not MIN_EXAMPLES <= len(examples) <= MAX_EXAMPLES:
            line = self.line_of(raw, "examples") if "examples" in raw else self.line_of(raw)
            self.error(
                line,
                f"{where}: give {MIN_EXAMPLES}-{MAX_EXAMPLES} example phrases in 'examples' "
                f"(5-15 work best), not {len(examples)}",
            )
        near = self.phrases(raw, "near_misses", where)
        both = sorted({e.lower() for e in examples} & {n.lower() for n in near})
        if both:
            self.error(
                self.line_of(raw, "near_misses"), f"{where}: {both[0]!r} is both an example and a near miss"
            )
        if who not in PHRASE_WHO or when not in PHRASE_WHEN or not examples:
            return None
        return PhraseSpec(str(who), examples, near, str(when))

    def conditions(self, mapping: _Map, key: str, what: str) -> tuple[Condition, ...]:
        raw = mapping.get(key)
        if raw is None:
            return ()
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            self.error(self.line_of(mapping, key), f"{what}: {key!r} must be a mapping or a list of mappings")
            return ()
        found = []
        for item in items:
            where = f"{what}: {key}"
            self.check_keys(item, CONDITION_KEYS, where)
            has_b, has_m = "behaviour" in item, "metric" in item
            if has_b == has_m:
                self.error(self.line_of(item), f"{where}: give exactly one of 'behaviour' or 'metric'")
                continue
            if has_b:
                bid = item["behaviour"]
                if not isinstance(bid, str):
                    self.error(
                        self.line_of(item, "behaviour"), f"{where}: 'behaviour' must be a behaviour id"
                    )
                    continue
                self.check_behaviour(bid, self.line_of(item, "behaviour"), where)
                present = item.get("present", True)
                if not isinstance(present, bool):
                    self.error(self.line_of(item, "present"), f"{where}: 'present' must be true or false")
                    present = True
                for extra in ("min", "max"):
                    if extra in item:
                        self.error(
                            self.line_of(item, extra),
                            f"{where}: {extra!r} goes with a metric, not a behaviour",
                        )
                found.append(Condition(behaviour=bid, present=present))
            else:
                metric = self.check_metric(item, where)
                low, high = self.bounds(item, where, metric)
                if "present" in item:
                    self.error(self.line_of(item, "present"), f"{where}: 'present' goes with a behaviour")
                found.append(Condition(metric=metric, min=low, max=high))
        return tuple(found)

    def criterion(self, mapping: Any, section: str, line: int) -> Criterion | None:
        if not isinstance(mapping, _Map):
            self.error(line, f"section {section!r}: each criterion must be a mapping")
            return None
        cid = self.ident(mapping, "criterion")
        what = f"criterion {cid!r}" if cid else "criterion"
        self.check_keys(mapping, CRITERION_KEYS, what)
        name = self.text(mapping, "name", what)
        weight = mapping.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            self.error(
                self.line_of(mapping, "weight"), f"{what}: weight must be a positive number, not {weight!r}"
            )
            weight = 1
        auto_fail = mapping.get("auto_fail", False)
        if not isinstance(auto_fail, bool):
            self.error(self.line_of(mapping, "auto_fail"), f"{what}: auto_fail must be true or false")
            auto_fail = False
        says = self.says(mapping, what) if "says" in mapping else None
        test = self.test(mapping, what, says="says" in mapping)
        partial = None
        raw_partial = mapping.get("partial")
        if raw_partial is not None:
            if not isinstance(raw_partial, _Map):
                self.error(self.line_of(mapping, "partial"), f"{what}: 'partial' must be a mapping")
            else:
                self.check_keys(raw_partial, set(TEST_KEYS), f"{what}: partial")
                partial = self.test(raw_partial, f"{what}: partial", inherit_metric=test.metric)
        return Criterion(
            id=cid,
            name=name,
            test=test,
            weight=float(weight),
            auto_fail=auto_fail,
            partial=partial,
            applies_when=self.conditions(mapping, "applies_when", what),
            description=self.text(mapping, "description", what, required=False),
            section=section,
            says=says,
        )

    def rubric(self, data: Any, default_id: str) -> Rubric | None:
        if not isinstance(data, _Map):
            self.error(getattr(data, "line", 1), "a rubric file must be a mapping with 'name' and 'sections'")
            return None
        self.check_keys(data, RUBRIC_KEYS, "rubric")
        rid = self.ident(data, "rubric", default=default_id)
        name = self.text(data, "name", "rubric")
        version = self.text(data, "version", "rubric", required=False, default="1")
        sections_raw = data.get("sections")
        sections: list[Section] = []
        if not isinstance(sections_raw, list) or not sections_raw:
            self.error(self.line_of(data, "sections"), "rubric needs 'sections': a non-empty list")
            sections_raw = []
        seen_sections: set[str] = set()
        seen_criteria: set[str] = set()
        for raw in sections_raw:
            if not isinstance(raw, _Map):
                self.error(
                    self.line_of(sections_raw), "each section must be a mapping with 'id', 'name', 'criteria'"
                )
                continue
            sid = self.ident(raw, "section")
            what = f"section {sid!r}"
            self.check_keys(raw, SECTION_KEYS, what)
            if sid in seen_sections:
                self.error(self.line_of(raw, "id"), f"duplicate section id {sid!r}")
            seen_sections.add(sid)
            crit_raw = raw.get("criteria")
            if not isinstance(crit_raw, list) or not crit_raw:
                self.error(self.line_of(raw, "criteria"), f"{what} needs 'criteria': a non-empty list")
                crit_raw = []
            criteria = []
            for item in crit_raw:
                crit = self.criterion(item, sid, self.line_of(crit_raw))
                if crit is None:
                    continue
                if crit.id in seen_criteria:
                    self.error(self.line_of(item, "id"), f"duplicate criterion id {crit.id!r}")
                seen_criteria.add(crit.id)
                criteria.append(crit)
            sections.append(
                Section(
                    sid,
                    self.text(raw, "name", what),
                    tuple(criteria),
                    self.text(raw, "description", what, False),
                )
            )
        return Rubric(
            id=rid,
            name=name,
            version=version,
            sections=tuple(sections),
            description=self.text(data, "description", "rubric", required=False),
            applies_when=self.conditions(data, "applies_when", "rubric"),
            path=self.path,
        )


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" - did you mean {close[0]!r}?" if close else ""


def default_behaviour_ids() -> tuple[str, ...]:
    from qa_scoring.behaviours import BEHAVIOUR_IDS

    return BEHAVIOUR_IDS


def parse_rubric(
    text: str,
    path: str = "<rubric>",
    behaviour_ids: Iterable[str] | None = None,
    metric_ids: Iterable[str] | None = None,
) -> Rubric:
    """Build a rubric from YAML text; ``path`` names it in errors. Raises :class:`RubricError`."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise RubricError([f"{path}:{line}: YAML error: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise RubricError([f"{path}:1: YAML error: {exc}"]) from None
    builder = _Builder(
        path,
        default_behaviour_ids() if behaviour_ids is None else behaviour_ids,
        METRICS if metric_ids is None else metric_ids,
    )
    rubric = builder.rubric(data, default_id=Path(path).stem.lower().replace(" ", "_"))
    if builder.errors or rubric is None:
        raise RubricError(builder.errors)
    return rubric


def load_rubric(
    path: str | Path, behaviour_ids: Iterable[str] | None = None, metric_ids: Iterable[str] | None = None
) -> Rubric:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricError([f"{path}: cannot read ({exc})"]) from None
    return parse_rubric(text, str(path), behaviour_ids, metric_ids)


def rubric_files(directory: str | Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_rubrics(
    directory: str | Path,
    ids: Iterable[str] | None = None,
    behaviour_ids: Iterable[str] | None = None,
    metric_ids: Iterable[str] | None = None,
) -> dict[str, Rubric]:
    """Every rubric in ``directory`` (or only ``ids``, in that order), checked. All problems in all
    files are reported together in one :class:`RubricError`."""
    directory = Path(directory)
    files = rubric_files(directory)
    if not files:
        raise RubricError([f"{directory}: no rubric files (*.yaml)"])
    behaviour_ids = tuple(default_behaviour_ids() if behaviour_ids is None else behaviour_ids)
    rubrics: dict[str, Rubric] = {}
    errors: list[str] = []
    for path in files:
        try:
            rubric = load_rubric(path, behaviour_ids, metric_ids)
        except RubricError as exc:
            errors.extend(exc.errors)
            continue
        if rubric.id in rubrics:
            errors.append(f"{path}:1: rubric id {rubric.id!r} is already used by {rubrics[rubric.id].path}")
            continue
        rubrics[rubric.id] = rubric
    if errors:
        raise RubricError(errors)
    if ids is None:
        return rubrics
    wanted = list(dict.fromkeys(ids))
    unknown = [i for i in wanted if i not in rubrics]
    if unknown:
        raise RubricError(
            [
                f"{directory}: unknown rubric {u!r}{_suggest(u, rubrics)} (available: {', '.join(rubrics)})"
                for u in unknown
            ]
        )
    return {i: rubrics[i] for i in wanted}
