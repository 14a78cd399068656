"""How busy and how fast this machine is right now: its load average, and a fixed pure-Python loop
alone and as two copies at once.

The benchmarks print it before they measure, so that figures from different hours can be compared: on
this shared VM the same code runs a third faster or slower within the hour, and its two cores slow each
other down (two copies of the loop each take longer than one alone), which caps what two workers gain.
"""
from __future__ import annotations

import multiprocessing
import os
import time

LOOP_STEPS = 5_000_000


def _loop(_: object = None) -> float:
    started = time.perf_counter()
    total = 0
    for number in range(LOOP_STEPS):
        total += number * number
    return time.perf_counter() - started


def machine_speed() -> str:
    """One line. Each timing is the best of two runs, alone and per copy at once (~1.2 s in all)."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    alone = min(_loop(), _loop())
    with multiprocessing.get_context("fork").Pool(2) as pool:
        together = [min(pair) for pair in zip(pool.map(_loop, [None, None]), pool.map(_loop, [None, None]))]
    return (f"machine now: load average {load} on {os.cpu_count()} cores; a fixed pure-Python loop took "
            f"{alone:.2f} s alone, {' / '.join(f'{seconds:.2f}' for seconds in together)} s as two copies at once "
            f"(each {max(together) / alone:.2f}x the time alone)")


if __name__ == "__main__":
    print(machine_speed())
