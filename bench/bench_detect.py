"""Local detection in-process, and `matrix-wizard detect --json` as a whole process."""

import sys

from bench.timing import median_process_seconds, median_seconds, report
from wizard.probe.local import probe_local


def main() -> None:
    """Print the detection figures."""
    in_process = median_seconds(probe_local, runs=50)
    report("probe_local() in-process, median of 50", in_process, "under 20 ms")
    bare = median_process_seconds([sys.executable, "-c", "pass"], runs=10)
    detect = median_process_seconds([sys.executable, "-m", "wizard", "detect", "--json"], runs=10)
    report("python -c pass, median of 10", bare, "reference")
    report("matrix-wizard detect --json, median of 10", detect, "reference")
    report("detect --json minus python -c pass", detect - bare, "under 350 ms")


if __name__ == "__main__":
    main()
