"""Advice written for the command line, said instead as what to do on screen."""

import re

from wizard.probe.blockdev import MEASURE_HINT

# Each piece of command-line advice that reaches the screen, and what to do there instead.
# The command line keeps its own words: only what the screens show is put this way.
_ON_SCREEN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(command_line), screen)
    for command_line, screen in (
        (r", with --data-path", ""),
        (
            r"raise --(connect|banner)-timeout for a slow link",
            "on a slow link, press Connect again",
        ),
        (r"check the port \(--port\)", "check the Port"),
        (r"then run again with --accept-host-key", "then press Connect again and accept the key"),
        (r"give the key with --identity", "give the key in Key file"),
        (
            r"(give|choose) another --remote-dir",
            "write the bundle to a folder of another name (it is uploaded to the folder of that "
            "name in the home folder there)",
        ),
        (
            r"choose a --remote-dir that \S+ may write to( \(such as [^)]*\))?"
            r"(, or log in as a user who may write there)?",
            "connect as a user who may write to the home folder there",
        ),
        (r"run the same command again", "try again"),
    )
)

# What the facts of a machine say of a disk kind that only measuring can tell, by where the
# facts came from: only this machine's disk can be measured from here.
_MEASURE_ON_SCREEN = {
    "local": "unknown unless measured with Measure disk",
    "ssh": "unknown unless measured by running the wizard on that machine",
}


def on_screen(text: str) -> str:
    """Return a message with the command line's advice put as what to do on screen."""
    for command_line, screen in _ON_SCREEN:
        text = command_line.sub(screen, text)
    return text


def facts_on_screen(text: str, source: str) -> str:
    """Return a fact's words with the way to measure the disk as it is done from the screen."""
    return text.replace(MEASURE_HINT, _MEASURE_ON_SCREEN.get(source, "unknown"))
