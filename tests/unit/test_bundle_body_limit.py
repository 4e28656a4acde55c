"""Negative proof: a proxy body limit below the upload limit cannot be generated."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.bundle_support import answers_for, context_for
from wizard import cli
from wizard.bundle.context import RenderContext

PROXIES = ["nginx", "caddy", "traefik"]


def _answers_file(folder: Path, proxy: str) -> Path:
    path = folder / "answers.yaml"
    data = {
        "homeserver": {"kind": "synapse"},
        "domain": {"server_name": "example.com"},
        "proxy": {"kind": proxy},
        "media": {"max_upload_mb": 100},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("proxy", PROXIES)
def test_generate_writes_the_bundle_when_the_limits_agree(
    proxy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    assert (
        cli.main(["generate", "--answers", str(_answers_file(tmp_path, proxy)), "--out", str(out)])
        == 0
    )
    assert (out / "README.md").is_file()


@pytest.mark.parametrize("proxy", PROXIES)
def test_generate_refuses_a_proxy_body_limit_below_the_upload_limit(
    proxy: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The one place the proxy's limit comes from, made one byte short of the upload limit.
    monkeypatch.setattr(
        RenderContext,
        "proxy_body_limit_bytes",
        property(lambda ctx: ctx.upload_limit_bytes - 1),
    )
    out = tmp_path / "bundle"
    code = cli.main(
        ["generate", "--answers", str(_answers_file(tmp_path, proxy)), "--out", str(out)]
    )
    error = capsys.readouterr().err
    assert code == 1
    assert "impossible to generate the proxy configuration" in error
    assert f"below the homeserver's upload limit ({100 * 1024 * 1024} bytes)" in error
    assert "Traceback" not in error
    assert not out.exists()


@given(st.integers(min_value=1, max_value=4096))
def test_the_proxy_limit_the_bundle_uses_is_never_below_the_upload_limit(upload_mb: int) -> None:
    ctx = context_for(answers_for(media__max_upload_mb=upload_mb))
    assert ctx.proxy_body_limit_bytes >= ctx.upload_limit_bytes
