"""Print the median time of probe_local() without the disk measurement, over 50 runs."""

import statistics
import sys
import time

from wizard.probe.local import probe_local

RUNS = 50


def main() -> None:
    data_path = sys.argv[1] if len(sys.argv) > 1 else "/var/lib"
    probe_local(data_path)  # the first run pays for imports and cold caches
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        probe_local(data_path)
        times.append(time.perf_counter() - started)
    median = statistics.median(times) * 1000
    print(f"probe_local({data_path!r}): median {median:.2f} ms over {RUNS} runs")


if __name__ == "__main__":
    main()
