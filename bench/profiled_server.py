"""uvicorn serving one app, profiled by cProfile only while it is told to.

    python -m bench.profiled_server APP PORT OUT

``SIGUSR1`` starts profiling the event loop's thread, ``SIGUSR2`` stops it and writes the
statistics to ``OUT`` (pstats format): start-up, imports and shut-down stay out of them.
Served as the benchmarks serve: one worker, no access log, no proxy-header trust.
"""

from __future__ import annotations

import cProfile
import signal
import sys
from pathlib import Path
from types import FrameType

import uvicorn


def main() -> None:
    app, port, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        # written whole, then renamed: the reader waits for the file to appear
        partial = out.with_suffix(".partial")
        profiler.dump_stats(partial)
        partial.replace(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        access_log=False,
        proxy_headers=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
