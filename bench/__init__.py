"""authgate's benchmark suite (``uv run python -m bench``), over HTTP with wrk.

__main__.py    the command: runs the phases (--phases), writes results/latest.md and .png
options.py     durations and sizes (the full run, --quick), the phases
servers.py     a phase's own database and Redis prefix; uvicorn pinned to core 0
wrk.py         wrk pinned to core 1, its Lua scripts (lua/), its output read
baseline.py    the plain Starlette endpoint every ratio is against
throughput.py  baseline, public endpoint, authenticated with the user cache on and off
refresh.py     refresh rotations per second, each checked
logins.py      logins at bcrypt cost 12; authenticated p99 during a login stream
seeding.py     live sessions through the session store, multiplied inside Redis
scale.py       Redis bytes per session; latency with 1,000 and 1,000,000 sessions
cluster.py     authenticated on a Redis Cluster against a single Redis; Redis CPU a request
redis_cpu.py   what Redis servers spent: INFO commandstats and INFO cpu, before and after
report.py      the table and the plot
machine.py     the machine's description for the table's header
hot_path.py    (separate) the middleware in-process: Redis commands and SQL per request
concurrent_checks.py  (separate) in-process, requests one by one and 32 at once
profile.py     (separate) cProfile of both servers under wrk: own time per request compared
round_trip.py  (separate) CPU per script call: redis-py's pool connection against the pipe
profiled_server.py  uvicorn with cProfile switched on and off by SIGUSR1 / SIGUSR2
"""
