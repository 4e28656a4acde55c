"""The answers draft behind the screens: a plain dict, partial or invalid until the Review step."""

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screens.state import Draft
from wizard.errors import UsageError
from wizard.units import MIB

if TYPE_CHECKING:
    from wizard.answers.model import Answers, Problem
    from wizard.probe.facts import HostFacts

# wizard.answers.model and yaml are imported where used: the first screen needs neither, and the
# wizard paints it sooner without them.

# Sections a step before them needs to be valid; the placeholders stand in only while checking.
_PLACEHOLDERS: Draft = {
    "homeserver": {"kind": "synapse"},
    "domain": {"server_name": "example.com"},
}
DRAFT_HEADER = "# matrix-wizard draft: not complete yet; resume it with matrix-wizard\n"


def merged(draft: Draft, updates: Draft) -> Draft:
    """Return the draft with whole sections replaced by those in updates."""
    return {**draft, **updates}


def keep_sections(draft: Draft, sections: Iterable[str]) -> Draft:
    """Return only the named sections of a draft."""
    wanted = set(sections)
    return {name: value for name, value in draft.items() if name in wanted}


def typed_only(sections: Draft, draft: Draft) -> Draft:
    """Return sections without the answers that only repeat what follows from the others.

    Such an answer was shown, not typed, as is one left empty: out of the draft, it follows
    its source when that changes (the ACME e-mail the server_name, the database's name the
    homeserver), while an answer the person typed differently stays as typed.
    """
    from wizard.answers.model import DERIVED_KEYS, derived_answers

    derived = derived_answers(merged(draft, sections))

    def typed(name: str, key: str, value: object) -> bool:
        if (name, key) not in DERIVED_KEYS:
            return True
        return value not in (None, "") and derived.get((name, key)) != value

    return {
        name: {key: value for key, value in section.items() if typed(name, key, value)}
        if isinstance(section, dict)
        else section
        for name, section in sections.items()
    }


def _with_placeholders(draft: Draft) -> Draft:
    """Return the draft with stand-ins for the sections every answers file must have."""
    filled = dict(draft)
    for name, placeholder in _PLACEHOLDERS.items():
        section = filled.get(name)
        if not isinstance(section, dict):
            filled[name] = dict(placeholder)
        else:
            filled[name] = {**placeholder, **section}
    return filled


def check_draft(
    draft: Draft, sections: Iterable[str]
) -> "tuple[list[Problem], list[str], Answers | None]":
    """Validate a draft as the answers file would, keeping the problems and notes of sections.

    Returns the problems and notices that concern the named sections, and the answers as the
    answers file would read them (defaults and derived values filled in) when there is no problem
    at all; sections every answers file needs but the draft lacks yet are stood in for.
    """
    from wizard.answers.model import AnswersError, parse_answers

    wanted = tuple(sections)
    try:
        answers, notices = parse_answers(_with_placeholders(draft))
    except AnswersError as error:
        problems = [problem for problem in error.problems if _concerns(problem.path, wanted)]
        return problems, [], None
    notes = [note for note in notices if _concerns(note.partition(":")[0], wanted)]
    return [], notes, answers


def _concerns(path: str, sections: tuple[str, ...]) -> bool:
    """Return whether a problem path lies in one of the sections (the empty path concerns all)."""
    return not path or path.split(".")[0] in sections


def form_view(draft: Draft, earlier: Iterable[str], own: Iterable[str]) -> Draft:
    """Return what a step's form shows: defaults that follow from earlier steps, then its entries.

    Earlier sections are read as the answers file would (filling what follows from them, such as
    the database for a homeserver); the step's own sections keep whatever was entered, even if it
    is not valid yet, so that going back and forth never loses an entry.
    """
    from wizard.answers.model import AnswersError, parse_answers

    try:
        answers, _ = parse_answers(_with_placeholders(keep_sections(draft, earlier)))
    except AnswersError:
        answers, _ = parse_answers(_with_placeholders({}))
    view = answers.model_dump(mode="json")
    for name in own:
        base = {} if name in _PLACEHOLDERS else view[name]
        entered = draft.get(name)
        view[name] = {**base, **entered} if isinstance(entered, dict) else base
    return view


def finished_answers(draft: Draft) -> "Answers":
    """Return the draft as Answers, or raise AnswersError with every problem."""
    from wizard.answers.model import parse_answers

    answers, _ = parse_answers(draft)
    return answers


def machine_section(facts: "HostFacts") -> dict[str, int | None]:
    """Return the machine section for facts: whole cores and RAM in MiB, as tuning reads them."""
    cores = facts.effective_cores
    ram = facts.effective_ram
    return {
        "cores": max(1, math.floor(cores)) if cores else None,
        "ram_mb": ram // MIB if ram and ram // MIB >= 128 else None,
    }


def draft_text(draft: Draft) -> str:
    """Return the draft as YAML: a complete answers file once valid, else the plain mapping."""
    import yaml

    from wizard.answers.model import AnswersError, dump_answers

    try:
        return dump_answers(finished_answers(draft))
    except AnswersError:
        return DRAFT_HEADER + yaml.safe_dump(draft, sort_keys=False, allow_unicode=True)


def save_draft(draft: Draft, path: Path) -> None:
    """Write the draft to path, replacing what was there."""
    try:
        path.write_text(draft_text(draft), encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot save the draft to {path}: {error.strerror or error}",
            "check that the folder exists and can be written",
        ) from None


def load_draft(path: Path) -> Draft:
    """Read a saved draft or answers file; a partial draft comes back as it was saved."""
    from wizard.datafiles import read_yaml

    data = read_yaml(
        path,
        unreadable_hint="give the path of a saved draft or an answers.yaml",
        invalid_hint="give a draft saved by the wizard",
        error=UsageError,
    )
    if not isinstance(data, dict) or not all(isinstance(value, dict) for value in _sections(data)):
        raise UsageError(
            f"{path} is not an answers draft", "give a draft saved by the wizard, or answers.yaml"
        )
    return data


def _sections(data: dict[Any, Any]) -> list[Any]:
    """Return the values of a draft's top level that should be sections (all but the version)."""
    return [value for key, value in data.items() if key != "version"]
