#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): accepts every message on 127.0.0.1 and writes each
to a folder as <n>.json ({"mail_from", "rcpt_tos", "data"}), written whole then renamed so a
reader never sees half a message. Writes PORT=<port> to --ready-file once it listens.

  python3 smtp_sink.py --dir DIR --ready-file FILE [--port 0]
"""
import argparse
import asyncio
import itertools
import json
import os
import signal

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        tmp = os.path.join(self.folder, f".{n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, f"{n:06d}.json"))
        return "250 OK"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    loop = asyncio.get_running_loop()
    handler = Sink(args.dir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.test"), "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    with open(args.ready_file + ".tmp", "w") as f:
        f.write(f"PORT={port}\n")
    os.rename(args.ready_file + ".tmp", args.ready_file)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


asyncio.run(main())
