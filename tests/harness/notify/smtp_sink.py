#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): accepts every message on 127.0.0.1 and writes each
to a folder as <n>.json ({"mail_from", "rcpt_tos", "data"}), written whole then renamed so a
reader never sees half a message. Writes PORT=<port> to --ready-file once it listens.

  python3 smtp_sink.py --dir DIR --ready-file FILE [--port 0] [--tls-cert PEM --tls-key PEM]

With --tls-cert and --tls-key it offers STARTTLS and refuses mail until the session is encrypted.
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl

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
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    loop = asyncio.get_running_loop()
    handler = Sink(args.dir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.test", tls_context=tls,
                     require_starttls=tls is not None),
        "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    with open(args.ready_file + ".tmp", "w") as f:
        f.write(f"PORT={port}\n")
    os.rename(args.ready_file + ".tmp", args.ready_file)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


asyncio.run(main())
