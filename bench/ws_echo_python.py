#!/usr/bin/python3
"""WebSocket echo server on python3-websockets (Debian's package, asyncio), a peer for
bench/run.sh's ws* scenarios: every message comes back as it was sent.

    /usr/bin/python3 bench/ws_echo_python.py PORT [HOST]     (HOST defaults to 127.0.0.1)

Settings: compression off (as Portico's --ws-no-deflate and the node peer), largest message
64 MiB (max_size; the default 1 MiB would do for 64 KiB messages, this leaves room), no
keep-alive pings (ping_interval=None), one process, one event loop. Prints
"listening on ws://HOST:PORT (websockets X)" on stderr once ready; exits on SIGTERM/SIGINT.
"""

import asyncio
import signal
import sys

import websockets
import websockets.exceptions


async def echo(ws, path=None):  # websockets < 10.1 passes the path; later versions may not
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.exceptions.ConnectionClosed:
        pass


async def main(host, port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, host, port, compression=None, max_size=64 << 20,
                                ping_interval=None):
        print("listening on ws://%s:%d (websockets %s)" % (host, port, websockets.__version__),
              file=sys.stderr, flush=True)
        await stop


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or not sys.argv[1].isdigit():
        sys.exit("usage: ws_echo_python.py PORT [HOST]")
    asyncio.run(main(sys.argv[2] if len(sys.argv) == 3 else "127.0.0.1", int(sys.argv[1])))
