"""Small timing helpers shared by the benchmarks."""

import statistics
import subprocess
import time
from collections.abc import Callable


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Return the median wall time of an action over a number of runs, after one warm-up."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_process_seconds(argv: list[str], runs: int) -> float:
    """Return the median wall time of a whole process, start to exit."""
    return median_seconds(lambda: subprocess.run(argv, check=True, capture_output=True), runs)


def report(name: str, seconds: float, goal: str) -> None:
    """Print one figure beside its goal."""
    print(f"{name:<52} {seconds * 1000:9.1f} ms   goal: {goal}")
