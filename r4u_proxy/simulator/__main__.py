"""`python -m r4u_proxy.simulator`: run the simulator in the foreground, for benchmarks and `r4u demo`.

Prints one JSON line (port, host, tls, ca, url) once listening, then serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from r4u_proxy.simulator.simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m r4u_proxy.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with the simulator's own CA")
    parser.add_argument("--cert-dir", help="where ca.pem is kept (reused if present); default: a temp dir")
    parser.add_argument("--fixtures", help="directory that x-sim-fixture paths are relative to")
    parser.add_argument("--name", action="append", default=[], help="extra certificate name (repeatable)")
    args = parser.parse_args(argv)

    simulator = Simulator(
        host=args.host,
        port=args.port,
        tls=args.tls,
        cert_dir=args.cert_dir,
        fixtures_dir=args.fixtures,
        extra_names=args.name,
    )

    def announce(sim: Simulator) -> None:
        print(json.dumps(sim.info()), flush=True)

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await simulator.serve_forever(on_ready=announce)

    try:
        asyncio.run(run())
    except OSError as error:  # most often: the port is taken
        print(f"r4u simulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
