"""apply.sh without containers puts the pinned Element Web release where the proxy serves it.

The real apply.sh runs under a staging prefix with a stand-in release tarball of the pinned
version (index.html and version, in an element-vVERSION folder, as Element packs its releases).
Not proven: a download from GitHub (no network here) and Element Web's real tarball.
"""

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.bundle_support import FIXED_SECRETS, answers_for
from wizard.bundle import element_web, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.render import render

pytestmark = pytest.mark.integration

INDEX = b"<!doctype html><title>stand-in for Element Web</title>\n"


def _stage(tmp_path: Path) -> tuple[RenderContext, Path]:
    answers = answers_for(
        proxy="caddy",
        deployment__kind="native",
        deployment__prefix=str(tmp_path / "host"),
        domain__element_host="element.example.com",
    )
    bundle = tmp_path / "bundle"
    for relative, file in render(answers, None, FIXED_SECRETS).items():
        target = bundle / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        target.chmod(file.mode)
    return RenderContext(answers=answers, facts=None, secrets=FIXED_SECRETS), bundle


def _tarball(path: Path, version: str) -> Path:
    """Write a stand-in release tarball: element-v<version>/index.html and version."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("index.html", INDEX), ("version", f"v{version}\n".encode())):
            member = tarfile.TarInfo(f"element-v{version}/{name}")
            member.size = len(data)
            member.mode = 0o600  # unpacked readable by the proxy's user all the same
            archive.addfile(member, io.BytesIO(data))
    return path


def _apply(bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(bundle / "apply.sh"), *args], capture_output=True, text=True, timeout=120
    )


def test_a_dry_run_prints_the_download_and_unpacking_and_changes_nothing(tmp_path: Path) -> None:
    ctx, bundle = _stage(tmp_path)
    done = _apply(bundle, "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"curl -fsSL -o $DOWNLOAD_FOLDER/element-v{versions.ELEMENT_WEB_VERSION}" in done.stdout
    assert element_web.tarball_url() in done.stdout
    assert f"-C {element_web.web_root(ctx)}" in done.stdout
    assert not Path(element_web.web_root(ctx)).exists()


def test_a_local_tarball_is_unpacked_where_the_proxy_serves_it_once(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("apply.sh runs as root")
    ctx, bundle = _stage(tmp_path)
    tarball = _tarball(tmp_path / "element.tar.gz", versions.ELEMENT_WEB_VERSION)
    first = _apply(bundle, "--skip-start", f"--element-web-tarball={tarball}")
    assert first.returncode == 0, first.stdout + first.stderr
    root = Path(element_web.web_root(ctx))
    assert (root / "index.html").read_bytes() == INDEX
    assert (root / "index.html").stat().st_mode & 0o044 == 0o044  # the proxy's user reads it
    assert "sha256 of" in first.stdout
    assert root.as_posix() in caddy_file(bundle)
    second = _apply(bundle, "--skip-start", f"--element-web-tarball={tarball}")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Element Web {versions.ELEMENT_WEB_VERSION} is in {root}" in second.stdout


def caddy_file(bundle: Path) -> str:
    """Return the bundle's Caddyfile, whose Element site names the web root."""
    return (bundle / "caddy" / "Caddyfile").read_text()


def test_a_tarball_of_another_release_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("apply.sh runs as root")
    ctx, bundle = _stage(tmp_path)
    tarball = _tarball(tmp_path / "old.tar.gz", "1.11.0")
    done = _apply(bundle, "--skip-start", f"--element-web-tarball={tarball}")
    assert done.returncode == 1
    assert f"is not Element Web {versions.ELEMENT_WEB_VERSION}" in done.stderr
    root = Path(element_web.web_root(ctx))
    assert not root.exists()
    assert not list(root.parent.glob("*.unpacking"))


def test_a_missing_tarball_is_named(tmp_path: Path) -> None:
    _, bundle = _stage(tmp_path)
    done = _apply(bundle, "--dry-run", f"--element-web-tarball={tmp_path / 'nowhere.tar.gz'}")
    assert done.returncode == 1
    assert f"--element-web-tarball: no file at {tmp_path / 'nowhere.tar.gz'}" in done.stderr
