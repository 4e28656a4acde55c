"""Across many stacks, the service files keep every secret in private files and render stably."""

import itertools
from typing import Any

import pytest

from tests.bundle_support import answers_for, context_for
from wizard.bundle import apply_script, backup, calls, compose, firewall, monitoring, readme
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, PRIVATE, Bundle

MODULES = (compose, calls, monitoring, backup, firewall, apply_script, readme)
STACKS = [
    ("synapse", "postgresql"),
    ("synapse", "sqlite"),
    ("dendrite", "postgresql"),
    ("conduit", "rocksdb"),
    ("continuwuity", "rocksdb"),
    ("tuwunel", "rocksdb"),
]
SHAPES: list[dict[str, Any]] = [
    {},
    {"calls__turn": True, "monitoring__prometheus": True, "monitoring__grafana": True},
    {"deployment__kind": "native", "calls__turn": True, "monitoring__prometheus": True},
    {
        "proxy__tls": "files",
        "proxy__cert_path": "/etc/ssl/m.pem",
        "proxy__key_path": "/etc/ssl/m.key",
    },
]
CASES = [
    (hs, db, proxy, shape)
    for (hs, db), proxy, shape in itertools.product(STACKS, ["nginx", "caddy", "traefik"], SHAPES)
]


def render_all(ctx: RenderContext) -> Bundle:
    files: Bundle = {}
    for module in MODULES:
        for path, file in module.render(ctx).items():
            assert path not in files, f"{path} is written twice"
            files[path] = file
    return files


@pytest.mark.parametrize(("homeserver", "database", "proxy", "shape"), CASES)
def test_secrets_only_in_private_files_and_scripts_executable(
    homeserver: str, database: str, proxy: str, shape: dict[str, Any]
) -> None:
    ctx = context_for(answers_for(homeserver, database=database, proxy=proxy, **shape))
    files = render_all(ctx)
    for path, file in files.items():
        if file.mode != PRIVATE:
            for value in ctx.secrets.values():
                assert value not in file.text, f"a secret is in the non-private {path}"
        if path.endswith(".sh"):
            assert file.mode == EXECUTABLE, path
    assert render_all(ctx) == files
