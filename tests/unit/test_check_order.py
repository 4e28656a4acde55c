"""check_bundle runs its checkers side by side, yet reports them in their fixed order."""

from pathlib import Path

from wizard.verify.checks import CheckResult, check_bundle

SCRIPTS = ("apply.sh", "backup.sh", "firewall.sh")


def test_results_come_in_the_checkers_order_and_each_is_heard_once(tmp_path: Path) -> None:
    for script in SCRIPTS:
        (tmp_path / script).write_text("#!/bin/sh\necho ok\n", encoding="utf-8")
    (tmp_path / "backup.sh").write_text("#!/bin/sh\nif then\n", encoding="utf-8")
    heard: list[CheckResult] = []

    results = check_bundle(tmp_path, on_result=heard.append)

    assert [result.file for result in results] == list(SCRIPTS)
    assert sorted(result.file for result in heard) == sorted(SCRIPTS)
    assert [result.status for result in results] == ["passed", "failed", "passed"]
