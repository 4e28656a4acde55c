"""A read-only store of images for the engine inside a box, written once per machine per set.

On a VPS the engine pulls the images a bundle pins from a registry. No registry can be reached
here, so this machine's podman writes its images once into a store of their own, kept between
runs, and each box mounts it read-only for its engine to find them there (podman's
`additionalimagestores`), as a nearby mirror would serve them. The engine's own storage in the
box starts empty, as on a fresh machine; only where the images come from differs.
"""

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tests.compose.engine import engine_env, podman

STORES = Path.home() / ".cache" / "matrix-wizard-tests" / "box-images"
# Where a box mounts the store, and the engine settings that make its engine read it.
BOX_STORE = "/var/lib/shared-images"
BOX_STORAGE_CONF = f"""[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"

[storage.options]
additionalimagestores = ["{BOX_STORE}"]
"""
COMPLETE = ".complete"


def image_store(images: Iterable[str]) -> Path:
    """Return a store holding these images, written the first time this set is asked for."""
    names = sorted(set(images))
    ids = [podman("image", "inspect", "--format", "{{.Id}}", name).strip() for name in names]
    key = hashlib.sha256(" ".join(names + ids).encode()).hexdigest()[:16]
    store = STORES / key
    STORES.mkdir(parents=True, exist_ok=True)
    with (STORES / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (store / COMPLETE).is_file():
            _write_store(store, names)
    return store


def _write_store(store: Path, names: list[str]) -> None:
    """Write the images into a new store, leaving no other store behind to fill the disk."""
    for old in STORES.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    with tempfile.TemporaryDirectory(prefix="matrix-wizard-runroot-") as runroot:
        options = ["--root", str(store), "--runroot", runroot, "--storage-driver=overlay"]
        for name in names:
            saved = subprocess.Popen(
                ["podman", "save", name], stdout=subprocess.PIPE, env=engine_env()
            )
            loaded = subprocess.run(
                ["podman", *options, "load"],
                stdin=saved.stdout,
                capture_output=True,
                text=True,
                env=engine_env(),
                timeout=600,
                check=False,
            )
            assert saved.wait(timeout=600) == 0 and loaded.returncode == 0, loaded.stderr
    (store / COMPLETE).touch()
