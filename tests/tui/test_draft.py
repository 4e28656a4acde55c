"""The answers draft behind the screens: checked as the answers file is, kept when invalid."""

from pathlib import Path

import pytest
import yaml

from screens.draft import (
    DRAFT_HEADER,
    check_draft,
    draft_text,
    form_view,
    load_draft,
    machine_section,
    save_draft,
    typed_only,
)
from wizard.answers.model import AnswersError, parse_answers
from wizard.errors import UsageError
from wizard.probe.facts import CpuFacts, HostFacts, MemoryFacts
from wizard.units import GIB, MIB

pytestmark = pytest.mark.tui


def test_check_draft_reports_only_the_steps_sections_in_the_files_words() -> None:
    draft = {"homeserver": {"kind": "synapse"}, "domain": {"server_name": "nodot"}}
    problems, _, answers = check_draft(draft, ["domain"])
    with pytest.raises(AnswersError) as said:
        parse_answers(draft)
    assert [(p.path, p.message) for p in problems] == [
        (p.path, p.message) for p in said.value.problems if p.path.startswith("domain")
    ]
    assert answers is None
    problems, _, _ = check_draft(draft, ["homeserver"])
    assert problems == []


def test_check_draft_passes_notices_and_the_read_answers() -> None:
    draft = {"homeserver": {"kind": "conduit"}, "domain": {"server_name": "Example.ORG"}}
    problems, notices, answers = check_draft(draft, ["domain"])
    assert problems == []
    assert notices and notices[0].startswith("domain.server_name:")
    assert answers is not None
    assert answers.domain.server_name == "example.org"
    assert answers.database.kind.value == "rocksdb"


def test_form_view_keeps_invalid_entries_and_fills_defaults_from_earlier_steps() -> None:
    draft = {
        "homeserver": {"kind": "conduit"},
        "domain": {"server_name": "example.org"},
        "database": {"kind": "postgresql", "port": "not a port"},
    }
    view = form_view(draft, ["homeserver", "domain"], ["database"])
    assert view["database"]["port"] == "not a port"
    assert view["database"]["name"] == "conduit"
    assert view["proxy"]["acme_email"] == "admin@example.org"
    assert form_view({}, [], ["domain"])["domain"] == {}


def test_typed_only_leaves_out_what_follows_from_other_answers() -> None:
    draft = {"homeserver": {"kind": "synapse"}, "domain": {"server_name": "example.org"}}
    sections = {
        "proxy": {"kind": "nginx", "tls": "acme", "acme_email": "admin@example.org"},
        "database": {"kind": "postgresql", "name": "synapse", "user": "owner", "host": None},
        "calls": {"turn": False, "turn_host": None},
    }
    assert typed_only(sections, draft) == {
        "proxy": {"kind": "nginx", "tls": "acme"},
        "database": {"user": "owner", "host": None},
        "calls": {"turn": False},
    }
    typed = {"proxy": {"tls": "acme", "acme_email": "ops@example.org"}}
    assert typed_only(typed, draft) == typed


def test_machine_section_rounds_as_the_tuning_reads_it() -> None:
    facts = HostFacts(
        source="manual",
        cpu=CpuFacts(logical=4, limit=2.5),
        memory=MemoryFacts(total=8 * GIB, limit=3 * GIB + 7),
    )
    assert machine_section(facts) == {"cores": 2, "ram_mb": 3 * 1024}
    assert machine_section(HostFacts(memory=MemoryFacts(total=64 * MIB))) == {
        "cores": None,
        "ram_mb": None,
    }


def test_a_partial_draft_is_saved_as_it_is_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "draft.yaml"
    draft = {"homeserver": {"kind": "dendrite"}, "domain": {"server_name": "x"}}
    save_draft(draft, path)
    assert path.read_text().startswith(DRAFT_HEADER)
    assert load_draft(path) == draft


def test_a_complete_draft_is_an_answers_file() -> None:
    draft = {"homeserver": {"kind": "dendrite"}, "domain": {"server_name": "example.net"}}
    answers, _ = parse_answers(yaml.safe_load(draft_text(draft)))
    assert answers.homeserver.kind.value == "dendrite"


@pytest.mark.parametrize(
    ("content", "words"),
    [("a: [1", "is not valid YAML"), ("- 1\n- 2\n", "is not an answers draft")],
)
def test_a_file_that_is_no_draft_is_refused_with_the_reason(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "draft.yaml"
    path.write_text(content)
    with pytest.raises(UsageError) as said:
        load_draft(path)
    assert words in str(said.value)


def test_saving_where_no_folder_is_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as said:
        save_draft({}, tmp_path / "missing" / "draft.yaml")
    assert "cannot save the draft" in str(said.value)
