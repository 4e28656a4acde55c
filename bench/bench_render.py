"""Render one full bundle in-process, and `matrix-wizard generate` as a whole process."""

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.timing import median_process_seconds, median_seconds, report
from wizard.answers.model import parse_answers
from wizard.answers.secret_store import Secrets
from wizard.bundle.render import render

FULL = {
    "homeserver": {"kind": "synapse", "tier": "production"},
    "domain": {"server_name": "example.com"},
    "calls": {"turn": True},
    "monitoring": {"prometheus": True, "grafana": True},
    "registration": {"mode": "token"},
}


def main() -> None:
    """Print the rendering figures."""
    answers, _ = parse_answers(FULL)
    secrets = Secrets()
    in_process = median_seconds(lambda: render(answers, None, secrets), runs=50)
    report("render() of a full Synapse bundle, median of 50", in_process, "under 50 ms")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        answers_file = folder / "answers.yaml"
        answers_file.write_text(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "wizard",
                    "answers",
                    "--homeserver",
                    "synapse",
                    "--server-name",
                    "example.com",
                    "--set",
                    "calls.turn=true",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        command = [
            sys.executable,
            "-m",
            "wizard",
            "generate",
            "--answers",
            str(answers_file),
            "--out",
            str(folder / "bundle"),
        ]
        first = median_seconds(lambda: subprocess.run(command, check=True, capture_output=True), 1)
        again = median_process_seconds(command, runs=10)
    report("matrix-wizard generate, first write", first, "reference")
    report("matrix-wizard generate, re-run (nothing changed), median", again, "reference")


if __name__ == "__main__":
    main()
