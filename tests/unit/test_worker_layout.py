"""Worker roles in words: a count agrees with its noun."""

from wizard.bundle.worker_layout import Role, role_count


def test_a_count_of_workers_agrees_with_its_noun() -> None:
    assert role_count(Role.TASKS, 1) == "1 task worker"
    assert role_count(Role.SYNC, 2) == "2 sync workers"
    assert role_count(Role.EVENT_PERSISTER, 1) == "1 event persister"
