#!/bin/sh
# Build Dendrite's programs from its Go module with a pinned Go, checked before it runs.
# Written by matrix-wizard; apply.sh runs it. Safe to run again: a release built once is kept,
# and a build that stops half way leaves nothing that looks finished.
#
# 1. Go: the Go module proxy's zip of the toolchain, refused unless its sha256 is the pinned one.
# 2. Dendrite: `go install -trimpath MODULE/cmd/PROGRAM@VERSION` with that Go only, every module
#    from the proxy and checked against the checksum database, into LIB_DIR/VERSION.
# 3. Each program linked into BIN_DIR, where the units and README.md run it.
set -eu

GO_VERSION=@@go_version
GO_SHA256_AMD64=@@go_sha256_amd64
GO_SHA256_ARM64=@@go_sha256_arm64
PROGRAMS=@@programs
LIB_DIR=@@lib_dir
BIN_DIR=@@bin_dir
CACHE_DIR=@@cache_dir
PROXY=@@proxy
NEEDED="curl sha256sum unzip gcc"

usage() {
    cat <<EOF
usage: sudo ./build-dendrite.sh [--dry-run] [--cache DIR] [--proxy URL] MODULE VERSION
  builds $PROGRAMS of MODULE at VERSION into $LIB_DIR/VERSION and links them into $BIN_DIR;
  nothing is built when that folder holds them all already
  --dry-run    print every action and change nothing
  --cache DIR  keep Go, the modules and the build cache in DIR (default $CACHE_DIR)
  --proxy URL  the Go module proxy to fetch Go and the modules from (default $PROXY)
EOF
}

DRY_RUN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --cache | --proxy)
            [ $# -ge 2 ] || {
                usage >&2
                exit 2
            }
            case "$1" in
                --cache) CACHE_DIR=$2 ;;
                *) PROXY=$2 ;;
            esac
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            usage >&2
            echo "build-dendrite.sh: unknown option '$1'" >&2
            exit 2
            ;;
        *) break ;;
    esac
    shift
done
if [ $# -ne 2 ]; then
    usage >&2
    exit 2
fi
MODULE=$1
VERSION=$2
TARGET=$LIB_DIR/$VERSION
WORK=

note() {
    printf '    %s\n' "$*"
}

fail() {
    printf 'build-dendrite.sh: %s\n' "$*" >&2
    exit 1
}

# Print an action, then do it unless this is a dry run.
run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

# remove_work: remove the unfinished download or build folder, on every exit.
remove_work() {
    [ -z "$WORK" ] || rm -rf "$WORK"
}
trap remove_work EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# holds_every_program DIR: whether DIR holds each program, executable.
holds_every_program() {
    for program in $PROGRAMS; do
        [ -x "$1/$program" ] || return 1
    done
}

# make_work PARENT NAME: set WORK to a new folder in PARENT, on the file system its result is
# renamed into, and WORK_SHOWN to its path; a dry run creates nothing and shows a pattern.
make_work() {
    if [ "$DRY_RUN" = 1 ]; then
        WORK_SHOWN="$1/.$2.XXXXXX"
        return 0
    fi
    mkdir -p "$1"
    WORK=$(mktemp -d "$1/.$2.XXXXXX")
    WORK_SHOWN=$WORK
}

check_programs() {
    missing=
    for program in $NEEDED; do
        command -v "$program" >/dev/null 2>&1 || missing="$missing $program"
    done
    [ -n "$missing" ] || return 0
    if [ "$DRY_RUN" = 1 ]; then
        note "missing:$missing (the real run stops here until they are installed)"
    else
        fail "missing:$missing; install them (apt-get install curl coreutils unzip gcc libc6-dev) and run it again"
    fi
}

architecture() {
    case "$(uname -m)" in
        x86_64 | amd64) echo amd64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) fail "Go $GO_VERSION is pinned for amd64 and arm64 only, and this machine is $(uname -m): build Dendrite $VERSION yourself and put $PROGRAMS in $TARGET" ;;
    esac
}

pinned_sha256() {
    case "$1" in
        amd64) echo "$GO_SHA256_AMD64" ;;
        *) echo "$GO_SHA256_ARM64" ;;
    esac
}

# check_sha256 FILE URL EXPECTED: refuse FILE, downloaded from URL, unless its sha256 is EXPECTED.
check_sha256() {
    printf '+ sha256sum %s   (must be %s)\n' "$1" "$3"
    [ "$DRY_RUN" = 0 ] || return 0
    actual=$(sha256sum "$1" | cut -d ' ' -f 1)
    [ "$actual" = "$3" ] ||
        fail "Go $GO_VERSION from $2 has sha256 $actual, not the pinned $3: it is damaged or not the toolchain this bundle trusts, so nothing was installed; run apply.sh again, and if it differs again, do not install Go another way: write the bundle again with a newer matrix-wizard"
}

# install_go: set GO to the pinned Go, downloading and checking it when the cache lacks it.
install_go() {
    arch=$(architecture)
    name=go$GO_VERSION.linux-$arch
    goroot=$CACHE_DIR/$name
    GO=$goroot/bin/go
    if [ -x "$GO" ]; then
        note "Go $GO_VERSION is in $goroot (checked against its pinned sha256 when it was downloaded)"
        return 0
    fi
    url=$PROXY/golang.org/toolchain/@v/v0.0.1-$name.zip
    note "downloading Go $GO_VERSION for linux-$arch from the Go module proxy, to be checked against its pinned sha256"
    make_work "$CACHE_DIR" "$name"
    run curl -fsSL --retry 3 -o "$WORK_SHOWN/$name.zip" "$url"
    check_sha256 "$WORK_SHOWN/$name.zip" "$url" "$(pinned_sha256 "$arch")"
    run unzip -q "$WORK_SHOWN/$name.zip" -d "$WORK_SHOWN"
    printf '+ mv -T %s %s\n' "$WORK_SHOWN/golang.org/toolchain@v0.0.1-$name" "$goroot"
    if [ "$DRY_RUN" = 0 ] && ! mv -T "$WORK/golang.org/toolchain@v0.0.1-$name" "$goroot" 2>/dev/null; then
        # Another run may have put the same checked Go there meanwhile.
        [ -x "$GO" ] || fail "could not move Go $GO_VERSION into $goroot"
    fi
    run rm -rf "$WORK_SHOWN"
    WORK=
}

# go_install GOBIN PACKAGE...: build with the pinned Go alone, from a clean environment: every
# module from the proxy and checked against the checksum database, go.mod never rewritten.
go_install() {
    gobin=$1
    shift
    run env -i PATH="$(dirname "$GO"):/usr/bin:/bin" HOME="$CACHE_DIR" GOENV=off \
        GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOPROXY="$PROXY" GOSUMDB=sum.golang.org \
        CGO_ENABLED=1 GOPATH="$CACHE_DIR/gopath" GOMODCACHE="$CACHE_DIR/gopath/pkg/mod" \
        GOCACHE="$CACHE_DIR/go-build" GOBIN="$gobin" "$GO" install -trimpath "$@"
}

build() {
    if holds_every_program "$TARGET"; then
        note "Dendrite $VERSION is built in $TARGET: nothing to build"
        return 0
    fi
    if [ -e "$TARGET" ]; then
        fail "$TARGET exists but lacks some of $PROGRAMS: move it away and run it again"
    fi
    check_programs
    install_go
    note "building Dendrite $VERSION with Go $GO_VERSION; this takes a few minutes"
    set --
    for program in $PROGRAMS; do
        set -- "$@" "$MODULE/cmd/$program@$VERSION"
    done
    make_work "$LIB_DIR" "$VERSION"
    go_install "$WORK_SHOWN" "$@"
    if [ "$DRY_RUN" = 0 ] && ! holds_every_program "$WORK"; then
        fail "go install ended without building all of $PROGRAMS: nothing was installed"
    fi
    run chmod 0755 "$WORK_SHOWN"
    run mv -T "$WORK_SHOWN" "$TARGET"
    WORK=
}

link_programs() {
    [ -d "$BIN_DIR" ] || run mkdir -p "$BIN_DIR"
    for program in $PROGRAMS; do
        link=$BIN_DIR/$program
        if [ "$(readlink "$link" 2>/dev/null || true)" = "$TARGET/$program" ]; then
            note "$link links to $TARGET/$program"
            continue
        fi
        if [ -e "$link" ] && [ ! -L "$link" ]; then
            note "$link is a program put there by hand: replaced by a link to the build"
        fi
        run ln -sfn "$TARGET/$program" "$link"
    done
}

build
link_programs
