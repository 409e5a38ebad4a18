"""Runs the AWS emulator (moto in server mode) for the local stack and tests.

    .venv/bin/python infra/moto_server.py [--host 127.0.0.1] [--port 0]

Serves every moto backend (DynamoDB with streams, SQS, SES, ...) on
HOST:PORT; port 0 picks a free port. Once listening it prints one line,
``MOTO_PORT=<port>``, on stdout.

It exits as soon as its stdin reaches end of file, so a parent that starts it
with a pipe on stdin never leaves it behind: when the parent exits or dies,
the pipe closes and the emulator stops. (Run by hand, end it with Ctrl-D or
Ctrl-C.)
"""

import argparse
import logging
import os
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free port)")
    args = parser.parse_args()

    # One line per request is noise here; keep warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"MOTO_PORT={port}", flush=True)

    try:
        # Blocks until the parent closes the pipe (or dies).
        while sys.stdin.buffer.read1(65536):
            pass
    except KeyboardInterrupt:
        pass
    # Everything is in memory: nothing to save, no reason to wait for the
    # request threads (long polls) to finish.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
