"""The screens' words: a label for every field by its path, used for its problems too."""

import re

from screens.review import answer_rows
from screens.words import LABELS, label, label_for_problem, problem_text
from tests.conftest import ROOT
from wizard.answers.model import Problem, parse_answers

# Paths of the steps' own, for what the answers file does not hold.
SCREEN_ONLY = ("mode", "draft", "local", "remote", "plan", "write", "answers", "bundle")


def test_every_field_on_screen_has_a_label() -> None:
    paths = {
        path
        for source in (ROOT / "screens").rglob("*.py")
        for path in re.findall(r'\bpath="([^"]+)"', source.read_text(encoding="utf-8"))
    }
    assert paths
    assert sorted(paths - set(LABELS)) == []


def test_every_label_of_an_answer_names_a_real_answer() -> None:
    answers, _ = parse_answers(
        {
            "homeserver": {"kind": "synapse"},
            "domain": {"server_name": "example.com"},
            "media": {"backend": "s3", "s3": {"bucket": "media", "access_key_id": "AKIA1234"}},
        }
    )
    real = {path for path, _ in answer_rows(answers.model_dump(mode="json"))}
    answer_labels = {path for path in LABELS if path.split(".")[0] not in SCREEN_ONLY}
    assert sorted(answer_labels - real) == []


def test_a_problem_reads_with_the_label_of_its_field() -> None:
    problem = Problem(path="domain.server_name", message="a server name is needed")
    assert problem_text(problem) == "Server name: a server name is needed"
    assert problem_text(Problem(path="plan.ram", message="give a size")) == "RAM: give a size"
    assert label("media.s3.bucket") == "Bucket"


def test_a_problem_beneath_a_field_takes_its_label_and_one_no_field_owns_keeps_its_path() -> None:
    assert label_for_problem("homeserver.workers.count") == "Synapse workers"
    assert label_for_problem("deployment.ports.http") is None
    unowned = Problem(path="deployment.ports.http", message="port 80 is already taken")
    assert problem_text(unowned) == "deployment.ports.http: port 80 is already taken"
    assert problem_text(Problem(path="", message="rendering the bundle...")) == (
        "rendering the bundle..."
    )
