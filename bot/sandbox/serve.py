"""``python -m bot.sandbox.serve``: a standalone Discord emulator in its own process, until SIGINT or SIGTERM.

It prints its URL as the first line on stdout, for ``python -m bot.sandbox.attach --emulator URL`` (any number of
bot processes in turn; its state outlives them). A benchmark that also needs to act as members or inspect messages
holds a :class:`~bot.sandbox.emulator.DiscordEmulator` in its own event loop instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from bot.cli.common import setup_logging
from bot.sandbox.emulator import DiscordEmulator


async def serve(port: int, *, rate_limits: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on this platform
            loop.add_signal_handler(sig, stop.set)
    async with DiscordEmulator(port=port, rate_limits=rate_limits) as emulator:
        print(emulator.base_url, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--no-rate-limits", action="store_true", help="answer no request with 429")
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR (default WARNING)")
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        asyncio.run(serve(args.port, rate_limits=not args.no_rate_limits))
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
