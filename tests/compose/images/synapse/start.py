#!/usr/local/synapse/bin/python
"""Start Synapse or a worker as the official image's start.py does in its `run` mode.

`run` (the default) starts the module SYNAPSE_WORKER (synapse.app.homeserver unless set) with
the arguments after `run`; without a --config-path among them, the config is SYNAPSE_CONFIG_PATH
(default $SYNAPSE_CONFIG_DIR/homeserver.yaml). Started as root, it drops to UID:GID.
"""

import os
import sys

mode = sys.argv[1] if len(sys.argv) > 1 else "run"
if mode != "run":
    sys.exit(f"this stand-in image only runs Synapse, not '{mode}'")
args = sys.argv[2:]
if "-m" not in args:
    args = ["-m", os.environ.get("SYNAPSE_WORKER", "synapse.app.homeserver"), *args]
if not any(arg.startswith(("--config-path", "-c")) for arg in args):
    config_dir = os.environ.get("SYNAPSE_CONFIG_DIR", "/data")
    config = os.environ.get("SYNAPSE_CONFIG_PATH", f"{config_dir}/homeserver.yaml")
    if not os.path.exists(config):
        sys.exit(f"Config file '{config}' does not exist.")
    args += ["--config-path", config]
if os.getuid() == 0:
    os.setgid(int(os.environ.get("GID", "991")))
    os.setuid(int(os.environ.get("UID", "991")))
os.execv(sys.executable, [sys.executable, *args])
