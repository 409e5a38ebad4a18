"""Runs the AWS emulator (moto in server mode) for the local stack and tests.

    .venv/bin/python infra/moto_server.py [--host 127.0.0.1] [--port 0]

Serves every moto backend (DynamoDB with streams, SQS, SES, ...) on
HOST:PORT; port 0 picks a free port. Once listening it prints one line,
``MOTO_PORT=<port>``, on stdout.

DynamoDB writes are serialized (see `serialize_dynamodb_writes`).

It exits as soon as its stdin reaches end of file, so a parent that starts it
with a pipe on stdin never leaves it behind: when the parent exits or dies,
the pipe closes and the emulator stops. (Run by hand, end it with Ctrl-D or
Ctrl-C.)
"""

import argparse
import functools
import logging
import os
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer


def serialize_dynamodb_writes() -> None:
    """Makes DynamoDB writes take turns.

    To undo a cancelled transaction, moto restores a copy of the tables taken
    when the transaction began; a write that another request thread made in
    between is lost with it (and the table's stream is replaced). DynamoDB
    itself never does that. With every write holding one lock, no write can
    fall between a transaction's copy and its restore. Reads do not wait.
    """
    lock = threading.RLock()

    def locked(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            with lock:
                return method(*args, **kwargs)

        return wrapper

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free port)")
    args = parser.parse_args()

    # One line per request is noise here; keep warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    serialize_dynamodb_writes()
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
