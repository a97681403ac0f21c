"""Opens COUNT connections to a server, sends one request on each and keeps them open, idle.

Usage: idle.py HOST PORT COUNT MODE AUTHORITY PATH   (MODE: http1, tls or h2)

Connections come from 127.0.0.2, 127.0.0.3, … (200 each), so that a per-address connection cap
(the edge allows 256) is not what is measured. Each request must get a 200 with its whole body,
or the script fails. Prints "open N" once all are open and idle, then waits for a line on stdin,
closes them all, prints "closed" and exits.
"""

import asyncio
import ssl
import sys

import h2.config
import h2.connection
import h2.events

PER_ADDRESS = 200


async def http1(reader, writer, authority, path):
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept-Encoding: identity\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return status == b"200"


async def http2(reader, writer, authority, path):
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    connection.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path)], end_stream=True)
    writer.write(connection.data_to_send())
    status = None
    while True:
        data = await reader.read(65536)
        if not data:
            return False
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers).get(":status")
            elif isinstance(event, h2.events.DataReceived):
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                writer.write(connection.data_to_send())
                return status == "200"
        writer.write(connection.data_to_send())


async def open_one(index, host, port, mode, authority, path, context):
    source = f"127.0.0.{2 + index // PER_ADDRESS}"
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0), ssl=context,
                                                   server_hostname=authority if context else None)
    ok = await (http2 if mode == "h2" else http1)(reader, writer, authority, path)
    if not ok:
        raise SystemExit(f"connection {index}: the request did not get a 200")
    return writer


async def main():
    host, port, count, mode, authority, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
    context = None
    if mode == "tls":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
    writers = []
    # A few hundred at a time: a connect burst of thousands overflows the listen backlog.
    for start in range(0, count, 250):
        batch = range(start, min(start + 250, count))
        writers += await asyncio.gather(*(open_one(i, host, port, mode, authority, path, context) for i in batch))
    print(f"open {len(writers)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for writer in writers:
        writer.close()
    print("closed", flush=True)


asyncio.run(main())
