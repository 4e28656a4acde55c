#!/usr/local/synapse/bin/python
"""Start Synapse as the official image's start.py does in its default `run` mode."""

import os
import sys

config_dir = os.environ.get("SYNAPSE_CONFIG_DIR", "/data")
config = os.environ.get("SYNAPSE_CONFIG_PATH", f"{config_dir}/homeserver.yaml")
if len(sys.argv) > 1 and sys.argv[1] != "run":
    sys.exit(f"this stand-in image only runs Synapse, not '{sys.argv[1]}'")
if not os.path.exists(config):
    sys.exit(f"Config file '{config}' does not exist.")
if os.getuid() == 0:
    os.setgid(int(os.environ.get("GID", "991")))
    os.setuid(int(os.environ.get("UID", "991")))
argv = [sys.executable, "-m", "synapse.app.homeserver", "--config-path", config]
os.execv(sys.executable, argv)
