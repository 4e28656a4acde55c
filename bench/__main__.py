"""Run every benchmark and print the figures beside their goals."""

import sys

from bench import bench_detect, bench_render, bench_ssh, bench_tui

MODULES = [bench_detect, bench_render, bench_ssh, bench_tui]


def main() -> int:
    """Run the benchmarks in order."""
    for module in MODULES:
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
