"""Bundles on boxes for the workers tests and benchmark: one proxy's bundle, its box, its admin."""

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.support import SERVER_NAME
from tests.journey.box import Box
from tests.journey.support import bundle_answers, generate_bundle
from tests.workers import load, metrics
from wizard.bundle import apply_script, synapse_workers
from wizard.bundle.context import RenderContext

ADMIN = "admin"


@dataclass(frozen=True)
class Side:
    """One proxy's bundle and box."""

    proxy: str
    bundle: Path
    ctx: RenderContext
    box: Box

    @property
    def base_url(self) -> str:
        """Return the homeserver's URL through the box's published HTTPS port."""
        return f"https://{self.ctx.homeserver_host}:{self.box.ports['https']}"


def generate(
    proxy: str, folder: Path, home: Path, *settings: str, workers: bool = True
) -> tuple[Path, RenderContext]:
    """Write a native bundle for one proxy, with or without workers, federation on 443.

    Each of settings is a further answer, such as the machine the box stands for.
    """
    answers = bundle_answers(
        home,
        SERVER_NAME,
        proxy,
        "native",
        f"homeserver.workers={str(workers).lower()}",
        "monitoring.prometheus=true",
        "registration.mode=token",
        "proxy.federation_port=443",
        *settings,
    )
    bundle = folder / f"{proxy}-{'workers' if workers else 'single'}-bundle"
    return bundle, generate_bundle(home, answers, bundle)


def process_metrics(side: Side) -> dict[str, str]:
    """Return every Synapse process's metrics text, read on its own listener inside the box."""
    ports = {metrics.MAIN: side.ctx.ports.metrics}
    for worker in synapse_workers.workers(side.ctx):
        ports[worker.name] = synapse_workers.metrics_port(side.ctx, worker)
    return {
        name: side.box.run(f"curl -fsS http://127.0.0.1:{port}/_synapse/metrics")
        for name, port in ports.items()
    }


def registration_token(side: Side, admin_token: str, uses: int) -> str:
    """Make a registration token with the admin API on the server itself, as the README says."""
    url = f"http://127.0.0.1:{side.ctx.ports.homeserver}/_synapse/admin/v1/registration_tokens/new"
    made = side.box.run(
        f"curl -fsS -X POST -H 'Authorization: Bearer {admin_token}' "
        f"-d '{{\"uses_allowed\": {uses}}}' {url}"
    )
    return str(json.loads(made)["token"])


async def _admin_token(side: Side) -> str:
    admin = await load.login(side.base_url, f"@{ADMIN}:{SERVER_NAME}", load.PASSWORD)
    try:
        return str(admin.access_token)
    finally:
        await admin.close()


def make_admin(side: Side) -> str:
    """Make the admin with the README's command in the box; return its access token."""
    command = apply_script.admin_command(side.ctx)
    assert command is not None
    assert "Success" in side.box.run(f"{command} -u {ADMIN} -p '{load.PASSWORD}'")
    return asyncio.run(_admin_token(side))
