"""Render a whole bundle: a pure function of the answers, the facts and the secrets."""

from collections.abc import Callable

from wizard.answers.model import Answers, Homeserver, dump_answers
from wizard.answers.secret_store import SECRETS_FILE, Secrets, secrets_text
from wizard.bundle import (
    apply_script,
    backup,
    backup_timer,
    calls,
    compose,
    conduit,
    dendrite,
    dendrite_build,
    discovery,
    element_web,
    firewall,
    mas,
    matrix_rtc,
    monitoring,
    postgres,
    proxy,
    readme,
    restore,
    synapse,
    synapse_image,
    systemd,
)
from wizard.bundle.context import RenderContext
from wizard.bundle.model import PRIVATE, Bundle, File
from wizard.errors import WizardError
from wizard.probe.facts import HostFacts

Renderer = Callable[[RenderContext], Bundle]

HOMESERVER_RENDERERS: dict[Homeserver, Renderer] = {
    Homeserver.SYNAPSE: synapse.render,
    Homeserver.DENDRITE: dendrite.render,
    Homeserver.CONDUIT: conduit.render,
    Homeserver.CONTINUWUITY: conduit.render,
    Homeserver.TUWUNEL: conduit.render,
}

SHARED_RENDERERS: tuple[Renderer, ...] = (
    postgres.render,
    proxy.render,
    discovery.render,
    element_web.render,
    compose.render,
    synapse_image.render,
    systemd.render,
    dendrite_build.render,
    calls.render,
    matrix_rtc.render,
    mas.render,
    monitoring.render,
    backup.render,
    backup_timer.render,
    restore.render,
    firewall.render,
    apply_script.render,
    readme.render,
)


def render(answers: Answers, facts: HostFacts | None, secrets: Secrets) -> Bundle:
    """Return every file of the bundle, keyed by relative path, in a stable order."""
    context = RenderContext(answers=answers, facts=facts, secrets=secrets)
    files: Bundle = {
        "answers.yaml": File(dump_answers(answers)),
        SECRETS_FILE: File(secrets_text(secrets), PRIVATE),
    }
    for renderer in (HOMESERVER_RENDERERS[answers.homeserver.kind], *SHARED_RENDERERS):
        for path, file in renderer(context).items():
            if path in files:
                raise WizardError(f"two parts of the bundle both write {path}")
            files[path] = file
    return dict(sorted(files.items()))
