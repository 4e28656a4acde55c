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


def readme_section(ctx: RenderContext) -> list[str]:
    """Return the README's account of how apply.sh builds Dendrite, and how far that is proven."""
    if not builds_dendrite(ctx):
        return []
    version, go = module_version(), versions.GO_VERSION
    sums = versions.GO_TOOLCHAIN_SHA256
    target = program_dir(ctx)
    programs = " and ".join(f"`{program}`" for program in PROGRAMS)
    return [
        "## Dendrite, built on this server",
        "",
        "Dendrite publishes no package for Debian or Ubuntu, so apply.sh runs "
        f"`{BUILD_SCRIPT}`, which builds Dendrite {version} from its Go module "
        f"`{versions.DENDRITE_MODULE}`:",
        "",
        f"1. It downloads Go {go} from the Go module proxy ({GO_PROXY}, the module "
        f"`golang.org/toolchain@v0.0.1-go{go}.linux-<arch>`, for amd64 and arm64) and refuses "
        "it, installing nothing, unless its sha256 is the one pinned in the script: "
        + ", ".join(f"{arch} `{digest}`" for arch, digest in sums.items())
        + f". It unpacks it into `{cache_dir(ctx)}/go{go}.linux-<arch>`.",
        f"2. It builds {programs} with `go install -trimpath` and that Go alone "
        "(`GOTOOLCHAIN=local`, a clean environment): every module comes from the proxy and is "
        "checked against Go's checksum database (`GOSUMDB=sum.golang.org`, "
        "`GOFLAGS=-mod=readonly`). The build goes to a new folder beside "
        f"`{target}` that is renamed to it once complete. It takes a few minutes.",
        f"3. It links {programs} into `{ctx.host_path(native.LOCAL_BIN)}`.",
        "",
        f"Applied again, it builds nothing while `{target}` holds both programs; a bundle "
        "that pins another release builds that one into its own folder. "
        f"`sudo ./{BUILD_SCRIPT} --dry-run {versions.DENDRITE_MODULE} {version}` prints each "
        "step without taking it (so does `apply.sh --dry-run`). "
        f"`{cache_dir(ctx)}` keeps Go, the modules and the build cache for the next release; "
        "delete it to free the space (over 1 GB).",
        "",
        "How far this is tested: matrix-wizard's tests run this script with Dendrite v0.13.8 "
        "from `github.com/matrix-org/dendrite`, for real against the Go module proxy (the "
        "download of Go and its sha256 check, the checked build, the run again that builds "
        f"nothing) and as a dry run; the build of {version} from `{versions.DENDRITE_MODULE}` "
        "itself is not run by them.",
        "",
    ]


def render(ctx: RenderContext) -> Bundle:
    """Return build-dendrite.sh when apply.sh builds Dendrite, else nothing."""
    if not builds_dendrite(ctx):
        return {}
    return {BUILD_SCRIPT: File(build_script(ctx), EXECUTABLE)}
