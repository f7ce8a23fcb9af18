"""The peer queue, measured on ClaimFlow's benchmark server: pgqueuer enqueues N no-op jobs,
then drains them with a few dequeue workers (each its own connection, as pgqueuer's own
benchmark runs them), and prints one JSON object with both rates.

    pgqueuer_drain.py DATABASE_URL --jobs 50000 [--workers 2] [--batch-size 10] [--timeout 600]

The database should be a scratch one: pgqueuer's tables are installed into it (once) and its
queue is cleared first.
"""

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager
from pgqueuer.domain.types import QueueExecutionMode

ENTRYPOINT = "noop"


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--enqueue-batch", type=int, default=1_000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    setup = await asyncpg.connect(args.url)
    queries = Queries(AsyncpgDriver(setup))
    if not await queries.schema_is_installed():
        await queries.install()
    await queries.clear_queue()

    # Enqueue: one round trip per batch of jobs, as a producer that has many at once does.
    started = time.perf_counter()
    remaining = args.jobs
    while remaining > 0:
        n = min(args.enqueue_batch, remaining)
        await queries.enqueue([ENTRYPOINT] * n, [None] * n, [0] * n)
        remaining -= n
    enqueue_seconds = time.perf_counter() - started

    done = 0
    connections = [await asyncpg.connect(args.url) for _ in range(args.workers)]
    managers = [QueueManager(Queries(AsyncpgDriver(c))) for c in connections]
    for manager in managers:

        @manager.entrypoint(ENTRYPOINT)
        async def noop(job: Job) -> None:
            nonlocal done
            done += 1

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(
            *[
                m.run(
                    batch_size=args.batch_size,
                    mode=QueueExecutionMode.drain,
                    dequeue_timeout=timedelta(seconds=1),
                )
                for m in managers
            ]
        ),
        timeout=args.timeout,
    )
    drain_seconds = time.perf_counter() - started
    left = sum(s.count for s in await queries.queue_size())
    for c in connections + [setup]:
        await c.close()
    result = {
        "jobs": args.jobs,
        "drained": done,
        "left": left,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "enqueue_seconds": round(enqueue_seconds, 3),
        "enqueue_per_second": round(args.jobs / enqueue_seconds, 1) if enqueue_seconds > 0 else 0,
        "drain_seconds": round(drain_seconds, 3),
        "drain_per_second": round(done / drain_seconds, 1) if drain_seconds > 0 else 0,
    }
    print(json.dumps(result))
    return 0 if done == args.jobs and left == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
