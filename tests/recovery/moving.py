"""What the SQLite to PostgreSQL move's tests share: its tables counted, and its port killed."""

import os
import signal
import sqlite3
import threading
from pathlib import Path

from wizard.bundle import migrate

# Tables whose rows the move must carry over, one for one.
COUNTED_TABLES = ("users", "events", "room_memberships", "local_media_repository", "devices")


def background_updates_done(database: Path) -> bool:
    """Return whether Synapse's SQLite database has no background update left to run."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (left,) = connection.execute("SELECT count(*) FROM background_updates").fetchone()
    return int(left) == 0


def sqlite_counts(database: Path) -> dict[str, int]:
    """Return the rows of each counted table in an SQLite database."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in COUNTED_TABLES
        }


def port_processes(sqlite_file: str) -> list[int]:
    """Return the IDs of synapse_port_db processes porting sqlite_file, in containers too."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv]
        if any(word.endswith(migrate.PORT_PROGRAM) for word in words) and sqlite_file in words:
            found.append(int(entry.name))
    return found


def kill_the_port_of(sqlite_file: str, stop: threading.Event) -> threading.Thread:
    """Start a thread that kills the synapse_port_db process porting sqlite_file once it runs."""

    def watch() -> None:
        while not stop.is_set():
            for pid in port_processes(sqlite_file):
                os.kill(pid, signal.SIGKILL)
                return
            stop.wait(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
