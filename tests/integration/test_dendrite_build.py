"""build-dendrite.sh, which a native Dendrite bundle's apply.sh runs, run here for real.

What this proves, with the script exactly as the bundle writes it:
- Go 1.26.8 comes from the Go module proxy as the toolchain module's zip, checked against the
  sha256 pinned in wizard/bundle/versions.py, and unpacks into the cache folder (downloaded on
  the first run on a machine; later runs find the checked Go in the cache and say so);
- a zip whose sha256 is not the pinned one is refused with a line that says what failed and what
  to do, and nothing is installed (a stand-in zip served from a folder through a file:// proxy);
- `go install -trimpath` with that Go alone builds Dendrite, every module checked against the
  checksum database: the binary's build information names Go 1.26.8, -trimpath, cgo and the
  module's checksum, and the built `dendrite -version` answers with its release;
- a second run builds nothing and changes nothing.
The steps its dry run prints, and apply.sh's with it, are checked by
tests/unit/test_bundle_dendrite_build.py and tests/integration/test_native_apply.py.

What it does not prove: the bundle pins Dendrite v0.15.2 from github.com/element-hq/dendrite,
a module path not used here; the tests build v0.13.8 from github.com/matrix-org/dendrite, the
newest release the Go module proxy serves under that path, with the same script and Go.

The cache folder is ~/.cache/matrix-wizard-tests/dendrite-build, kept between runs. Its module
cache is the machine's own Go module cache where there is one (which .ci/run fills when it
builds Dendrite for the end-to-end tests); the go command checks each module it reads from it
against the checksum database as it does a download. A warm run then only links the programs.
"""

import hashlib
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.build_script_support import (
    MODULE,
    VERSION,
    go_architecture,
    release_dir,
    run_build_script,
    staged_build_script,
)
from tests.conftest import require_program
from tests.e2e.dendrite_build import find_go
from wizard.bundle import dendrite_build, native, versions

pytestmark = pytest.mark.integration

CACHE = Path.home() / ".cache" / "matrix-wizard-tests" / "dendrite-build"
BUILD_TIMEOUT = 1800


def _require_build_programs() -> None:
    for program in ("curl", "sha256sum", "unzip", "gcc"):
        require_program(program)


def _share_module_cache(cache: Path) -> None:
    """Make the cache's module folder the machine's Go module cache, when the machine has Go."""
    modules = cache / "gopath" / "pkg" / "mod"
    go = find_go()
    if go is None or modules.exists() or modules.is_symlink():
        return
    found = subprocess.run(
        [go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    Path(found).mkdir(parents=True, exist_ok=True)
    modules.parent.mkdir(parents=True, exist_ok=True)
    modules.symlink_to(found, target_is_directory=True)


def _state(*folders: Path) -> dict[str, tuple[int, int, str]]:
    """Return each path under the folders with its inode, mtime and link target."""
    found: dict[str, tuple[int, int, str]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            stat = path.lstat()
            target = str(path.readlink()) if path.is_symlink() else ""
            found[str(path)] = (stat.st_ino, stat.st_mtime_ns, target)
    return found


def _build_info(go: Path, binary: Path) -> str:
    return subprocess.run(
        [str(go), "version", "-m", str(binary)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.mark.slow
def test_the_script_builds_dendrite_with_the_checked_go_and_a_second_run_builds_nothing(
    tmp_path: Path,
) -> None:
    arch = go_architecture()
    _require_build_programs()
    ctx, script = staged_build_script(tmp_path)
    _share_module_cache(CACHE)
    go_dir = CACHE / f"go{versions.GO_VERSION}.linux-{arch}"
    fresh_go = not go_dir.exists()

    started = time.monotonic()
    first = run_build_script(script, "--cache", str(CACHE), MODULE, VERSION, timeout=BUILD_TIMEOUT)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr
    if fresh_go:
        pinned = versions.GO_TOOLCHAIN_SHA256[arch]
        assert f"v0.0.1-go{versions.GO_VERSION}.linux-{arch}.zip" in first.stdout
        assert f"(must be {pinned})" in first.stdout
    else:
        assert f"Go {versions.GO_VERSION} is in {go_dir}" in first.stdout
    assert f"building Dendrite {VERSION} with Go {versions.GO_VERSION}" in first.stdout
    install = next(line for line in first.stdout.splitlines() if " install -trimpath " in line)
    for setting in ("GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly", "GOSUMDB=sum.golang.org"):
        assert f" {setting} " in install

    built = release_dir(ctx)
    bin_dir = Path(ctx.host_path(native.LOCAL_BIN))
    for program in dendrite_build.PROGRAMS:
        assert (bin_dir / program).readlink() == built / program
    version = subprocess.run(
        [str(bin_dir / "dendrite"), "-version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == VERSION.removeprefix("v"), version
    info = _build_info(go_dir / "bin" / "go", built / "dendrite")
    assert f"go{versions.GO_VERSION}" in info.splitlines()[0]
    assert f"\tmod\t{MODULE}\t{VERSION}\th1:" in info
    assert "\tbuild\t-trimpath=true" in info
    assert "\tbuild\tCGO_ENABLED=1" in info

    before = _state(built.parent, bin_dir)
    started = time.monotonic()
    second = run_build_script(script, "--cache", str(CACHE), MODULE, VERSION)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Dendrite {VERSION} is built in {built}: nothing to build" in second.stdout
    assert not [line for line in second.stdout.splitlines() if line.startswith("+ ")]
    assert _state(built.parent, bin_dir) == before
    print(
        f"\nbuild-dendrite.sh: first run {first_seconds:.1f} s "
        f"({'Go downloaded' if fresh_go else 'Go from the cache'}), "
        f"second run {second_seconds:.2f} s"
    )


def test_a_go_zip_whose_sha256_is_not_the_pinned_one_is_refused_and_nothing_is_installed(
    tmp_path: Path,
) -> None:
    arch = go_architecture()
    _require_build_programs()
    _, script = staged_build_script(tmp_path)
    name = f"go{versions.GO_VERSION}.linux-{arch}"
    served = tmp_path / "proxy" / "golang.org" / "toolchain" / "@v" / f"v0.0.1-{name}.zip"
    served.parent.mkdir(parents=True)
    with zipfile.ZipFile(served, "w") as stand_in:
        stand_in.writestr(f"golang.org/toolchain@v0.0.1-{name}/bin/go", "#!/bin/sh\n")
    cache = tmp_path / "cache"

    done = run_build_script(
        script, "--cache", str(cache), "--proxy", f"file://{tmp_path / 'proxy'}", MODULE, VERSION
    )

    assert done.returncode == 1, done.stdout + done.stderr
    pinned = versions.GO_TOOLCHAIN_SHA256[arch]
    actual = hashlib.sha256(served.read_bytes()).hexdigest()
    assert done.stderr.startswith("build-dendrite.sh: ")
    assert f"has sha256 {actual}, not the pinned {pinned}" in done.stderr
    assert "nothing was installed" in done.stderr
    assert "go install" not in done.stdout
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "host").exists()
