"""build-dendrite.sh: the steps it prints and takes, run with stand-ins and without a network."""

import re
import shutil
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
from tests.bundle_support import FIXED_SECRETS, answers_for, context_for
from wizard.bundle import apply_script, dendrite_build, native, readme, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE
from wizard.bundle.render import render

# What the script uses besides the programs a build needs (curl, sha256sum, unzip, gcc).
BASIC_TOOLS = ("mkdir", "mktemp", "ln", "readlink", "rm", "mv", "chmod", "dirname", "cut", "uname")


def _snapshot(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def _commands(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("+ ")]


def _without_build_programs(tmp_path: Path) -> str:
    """Return a PATH with the basic tools alone: a run that tried to build would fail."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in BASIC_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    return str(tools)


def _put_programs(folder: Path, *programs: str) -> None:
    folder.mkdir(parents=True)
    for program in programs:
        (folder / program).write_text("#!/bin/sh\n")
        (folder / program).chmod(0o755)


@pytest.mark.parametrize(
    ("homeserver", "kind", "ships"),
    [
        ("dendrite", "native", True),
        ("dendrite", "compose", False),
        ("synapse", "native", False),
        ("conduit", "native", False),
    ],
)
def test_only_a_native_dendrite_bundle_ships_the_build_script(
    homeserver: str, kind: str, ships: bool
) -> None:
    answers = answers_for(homeserver=homeserver, deployment__kind=kind)
    files = render(answers, None, FIXED_SECRETS)
    assert (dendrite_build.BUILD_SCRIPT in files) is ships
    ctx = context_for(answers)
    assert (dendrite_build.BUILD_SCRIPT in apply_script.script_paths(ctx)) is ships
    if ships:
        assert files[dendrite_build.BUILD_SCRIPT].mode == EXECUTABLE


def test_apply_sh_builds_the_pinned_release_and_the_packages_the_build_needs() -> None:
    ctx = context_for(answers_for(homeserver="dendrite", deployment__kind="native"))
    text = apply_script.apply_script(ctx)
    assert f"DENDRITE_MODULE={versions.DENDRITE_MODULE}\n" in text
    assert f"DENDRITE_VERSION=v{versions.DENDRITE_VERSION}\n" in text
    assert f"DENDRITE_BUILD={dendrite_build.BUILD_SCRIPT}\n" in text
    assert {"curl", "unzip", "gcc", "libc6-dev"} <= set(native.apt_packages(ctx))
    assert (
        dendrite_build.program_dir(ctx) == f"/usr/local/lib/dendrite/v{versions.DENDRITE_VERSION}"
    )


def test_go_is_pinned_by_the_sha256_of_its_zip_for_amd64_and_arm64() -> None:
    ctx = context_for(answers_for(homeserver="dendrite", deployment__kind="native"))
    script = dendrite_build.build_script(ctx)
    assert set(versions.GO_TOOLCHAIN_SHA256) == {"amd64", "arm64"}
    for arch, digest in versions.GO_TOOLCHAIN_SHA256.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert f"GO_SHA256_{arch.upper()}={digest}\n" in script
    assert f"GO_VERSION={versions.GO_VERSION}\n" in script


def test_the_readme_says_how_dendrite_is_built_and_what_the_tests_leave_unproven() -> None:
    ctx = context_for(answers_for(homeserver="dendrite", deployment__kind="native"))
    text = readme.readme_text(ctx)
    assert "## Dendrite, built on this server" in text
    for digest in versions.GO_TOOLCHAIN_SHA256.values():
        assert digest in text
    assert f"`{dendrite_build.program_dir(ctx)}`" in text
    assert f"the build of v{versions.DENDRITE_VERSION} from `{versions.DENDRITE_MODULE}`" in text
    compose = context_for(answers_for(homeserver="dendrite"))
    assert "built on this server" not in readme.readme_text(compose)


def test_a_dry_run_prints_the_download_check_build_and_links_and_creates_nothing(
    tmp_path: Path,
) -> None:
    arch = go_architecture()
    ctx, script = staged_build_script(tmp_path)
    before = _snapshot(tmp_path)
    done = run_build_script(script, "--dry-run", MODULE, VERSION)
    assert done.returncode == 0, done.stderr
    assert _snapshot(tmp_path) == before
    cache = dendrite_build.cache_dir(ctx)
    name = f"go{versions.GO_VERSION}.linux-{arch}"
    work = f"{cache}/.{name}.XXXXXX"
    release = release_dir(ctx)
    staging = f"{release.parent}/.{VERSION}.XXXXXX"
    bin_dir = ctx.host_path(native.LOCAL_BIN)
    go_env = (
        f"env -i PATH={cache}/{name}/bin:/usr/bin:/bin HOME={cache} GOENV=off GOTOOLCHAIN=local "
        f"GOFLAGS=-mod=readonly GOPROXY={dendrite_build.GO_PROXY} GOSUMDB=sum.golang.org "
        f"CGO_ENABLED=1 GOPATH={cache}/gopath GOMODCACHE={cache}/gopath/pkg/mod "
        f"GOCACHE={cache}/go-build GOBIN={staging}"
    )
    packages = " ".join(
        f"{MODULE}/cmd/{program}@{VERSION}" for program in ("dendrite", "create-account")
    )
    assert _commands(done.stdout) == [
        f"+ curl -fsSL --retry 3 -o {work}/{name}.zip "
        f"{dendrite_build.GO_PROXY}/golang.org/toolchain/@v/v0.0.1-{name}.zip",
        f"+ sha256sum {work}/{name}.zip   (must be {versions.GO_TOOLCHAIN_SHA256[arch]})",
        f"+ unzip -q {work}/{name}.zip -d {work}",
        f"+ mv -T {work}/golang.org/toolchain@v0.0.1-{name} {cache}/{name}",
        f"+ rm -rf {work}",
        f"+ {go_env} {cache}/{name}/bin/go install -trimpath {packages}",
        f"+ chmod 0755 {staging}",
        f"+ mv -T {staging} {release}",
        f"+ mkdir -p {bin_dir}",
        f"+ ln -sfn {release}/dendrite {bin_dir}/dendrite",
        f"+ ln -sfn {release}/create-account {bin_dir}/create-account",
    ]
    assert (
        f"building Dendrite {VERSION} with Go {versions.GO_VERSION}; this takes a few minutes"
        in (done.stdout)
    )


def test_go_already_in_the_cache_is_not_downloaded_again(tmp_path: Path) -> None:
    arch = go_architecture()
    ctx, script = staged_build_script(tmp_path)
    goroot = Path(dendrite_build.cache_dir(ctx)) / f"go{versions.GO_VERSION}.linux-{arch}"
    _put_programs(goroot / "bin", "go")
    done = run_build_script(script, "--dry-run", MODULE, VERSION)
    assert done.returncode == 0, done.stderr
    assert f"Go {versions.GO_VERSION} is in {goroot}" in done.stdout
    commands = _commands(done.stdout)
    assert not [line for line in commands if "curl" in line or "sha256sum" in line]
    assert any(" install -trimpath " in line for line in commands)


def _fake_go(ctx: RenderContext, arch: str, body: str) -> None:
    """Put a stand-in go command in the cache, where the script finds its checked Go."""
    goroot = Path(dendrite_build.cache_dir(ctx)) / f"go{versions.GO_VERSION}.linux-{arch}"
    (goroot / "bin").mkdir(parents=True, exist_ok=True)
    (goroot / "bin" / "go").write_text(f"#!/bin/sh\n{body}\n")
    (goroot / "bin" / "go").chmod(0o755)


def test_a_build_stopped_or_incomplete_leaves_nothing_that_looks_built_and_a_rerun_builds(
    tmp_path: Path,
) -> None:
    arch = go_architecture()
    ctx, script = staged_build_script(tmp_path)
    # The stand-in writes one program, then stops the script as Ctrl-C or a kill would.
    _fake_go(ctx, arch, 'touch "$GOBIN/dendrite"; chmod 0755 "$GOBIN/dendrite"; kill -TERM $PPID')
    stopped = run_build_script(script, MODULE, VERSION)
    assert stopped.returncode == 143, stopped.stdout + stopped.stderr
    release = release_dir(ctx)
    assert list(release.parent.iterdir()) == []
    assert not Path(ctx.host_path(native.LOCAL_BIN)).exists()

    # Then one that ends without making the programs executable: refused, nothing kept.
    _fake_go(ctx, arch, 'for p in dendrite create-account; do echo > "$GOBIN/$p"; done')
    rerun = run_build_script(script, MODULE, VERSION)
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "go install ended without building all of dendrite create-account" in rerun.stderr
    assert list(release.parent.iterdir()) == []

    _fake_go(
        ctx,
        arch,
        'for p in dendrite create-account; do echo > "$GOBIN/$p"; chmod 0755 "$GOBIN/$p"; done',
    )
    built = run_build_script(script, MODULE, VERSION)
    assert built.returncode == 0, built.stdout + built.stderr
    assert sorted(path.name for path in release.iterdir()) == ["create-account", "dendrite"]
    assert [path.name for path in release.parent.iterdir()] == [VERSION]


def test_a_release_folder_holding_every_program_is_linked_and_a_second_run_does_nothing(
    tmp_path: Path,
) -> None:
    ctx, script = staged_build_script(tmp_path)
    release = release_dir(ctx)
    _put_programs(release, *dendrite_build.PROGRAMS)
    path = _without_build_programs(tmp_path)
    first = run_build_script(script, MODULE, VERSION, path=path)
    assert first.returncode == 0, first.stderr
    assert f"Dendrite {VERSION} is built in {release}: nothing to build" in first.stdout
    bin_dir = Path(ctx.host_path(native.LOCAL_BIN))
    for program in dendrite_build.PROGRAMS:
        assert (bin_dir / program).readlink() == release / program
    second = run_build_script(script, MODULE, VERSION, path=path)
    assert second.returncode == 0, second.stderr
    assert _commands(second.stdout) == []
    assert f"{bin_dir}/dendrite links to {release}/dendrite" in second.stdout


def test_a_program_put_in_place_by_hand_is_replaced_by_a_link_and_said_so(tmp_path: Path) -> None:
    ctx, script = staged_build_script(tmp_path)
    release = release_dir(ctx)
    _put_programs(release, *dendrite_build.PROGRAMS)
    bin_dir = Path(ctx.host_path(native.LOCAL_BIN))
    _put_programs(bin_dir, "dendrite")
    done = run_build_script(script, MODULE, VERSION, path=_without_build_programs(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"{bin_dir}/dendrite is a program put there by hand: replaced" in done.stdout
    assert (bin_dir / "dendrite").readlink() == release / "dendrite"


def test_a_release_folder_lacking_a_program_is_refused_before_any_download(tmp_path: Path) -> None:
    ctx, script = staged_build_script(tmp_path)
    release = release_dir(ctx)
    _put_programs(release, "dendrite")
    done = run_build_script(script, MODULE, VERSION)
    assert done.returncode == 1
    assert done.stderr == (
        f"build-dendrite.sh: {release} exists but lacks some of dendrite create-account: "
        "move it away and run it again\n"
    )
    assert _commands(done.stdout) == []


def test_a_build_without_its_programs_says_which_are_missing_and_how_to_get_them(
    tmp_path: Path,
) -> None:
    _, script = staged_build_script(tmp_path)
    done = run_build_script(script, MODULE, VERSION, path=_without_build_programs(tmp_path))
    assert done.returncode == 1
    assert (
        "build-dendrite.sh: missing: curl sha256sum unzip gcc; install them (apt-get install"
        in (done.stderr)
    )
    assert not (tmp_path / "host").exists()


def test_a_machine_go_is_not_pinned_for_is_refused_with_what_to_do(tmp_path: Path) -> None:
    ctx, script = staged_build_script(tmp_path)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "uname").write_text("#!/bin/sh\necho riscv64\n")
    (stubs / "uname").chmod(0o755)
    done = run_build_script(script, MODULE, VERSION, path=f"{stubs}:/usr/bin:/bin")
    assert done.returncode == 1
    assert (
        f"Go {versions.GO_VERSION} is pinned for amd64 and arm64 only, and this machine is "
        f"riscv64: build Dendrite {VERSION} yourself and put dendrite create-account in "
        f"{release_dir(ctx)}"
    ) in done.stderr
    assert not (tmp_path / "host").exists()


@pytest.mark.parametrize("args", [[], [MODULE], ["--cache"], ["--bogus", MODULE, VERSION]])
def test_wrong_arguments_are_refused_with_the_usage(tmp_path: Path, args: list[str]) -> None:
    _, script = staged_build_script(tmp_path)
    done = run_build_script(script, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: sudo ./build-dendrite.sh [--dry-run]")
