"""build-dendrite.sh: Dendrite's programs built natively from its Go module with a checked Go."""

from wizard.answers.model import Homeserver
from wizard.bundle import native, shell, versions
from wizard.bundle.context import RenderContext
from wizard.bundle.model import EXECUTABLE, Bundle, File

BUILD_SCRIPT = "build-dendrite.sh"
# The programs the bundle runs: the server (its unit) and create-account (README.md).
PROGRAMS = ("dendrite", "create-account")
LIB_DIR = "/usr/local/lib/dendrite"
CACHE_DIR = "/var/cache/matrix-wizard/dendrite-build"
GO_PROXY = "https://proxy.golang.org"


def builds_dendrite(ctx: RenderContext) -> bool:
    """Return whether apply.sh builds Dendrite: natively, where no package provides it."""
    return ctx.homeserver is Homeserver.DENDRITE and not ctx.compose


def module_version() -> str:
    """Return the pinned Dendrite release as Go names module versions."""
    return f"v{versions.DENDRITE_VERSION}"


def lib_dir(ctx: RenderContext) -> str:
    """Return the host folder that holds one folder of programs per built release."""
    return ctx.host_path(LIB_DIR)


def program_dir(ctx: RenderContext) -> str:
    """Return the folder the pinned release's programs are built into, which apply.sh checks."""
    return f"{lib_dir(ctx)}/{module_version()}"


def cache_dir(ctx: RenderContext) -> str:
    """Return the host folder that keeps Go, the modules and the build cache between builds."""
    return ctx.host_path(CACHE_DIR)


def build_script(ctx: RenderContext) -> str:
    """Return build-dendrite.sh with the pinned Go and this host's folders."""
    sums = versions.GO_TOOLCHAIN_SHA256
    values = {
        "go_version": shell.quote(shell.word(versions.GO_VERSION)),
        "go_sha256_amd64": shell.quote(shell.word(sums["amd64"])),
        "go_sha256_arm64": shell.quote(shell.word(sums["arm64"])),
        "programs": shell.quote(" ".join(PROGRAMS)),
        "lib_dir": shell.quote(shell.word(lib_dir(ctx))),
        "bin_dir": shell.quote(shell.word(ctx.host_path(native.LOCAL_BIN))),
        "cache_dir": shell.quote(shell.word(cache_dir(ctx))),
        "proxy": shell.quote(GO_PROXY),
    }
    return shell.fragment(BUILD_SCRIPT, values)


def render(ctx: RenderContext) -> Bundle:
    """Return build-dendrite.sh when apply.sh builds Dendrite, else nothing."""
    if not builds_dendrite(ctx):
        return {}
    return {BUILD_SCRIPT: File(build_script(ctx), EXECUTABLE)}
