"""A loopback TCP proxy that delays what the server sends back: a slow broker, seen from its clients.

Each connection gets three threads: client→server bytes pass at once; server→client bytes are stamped when
read and written ``delay_s`` later, so every response (an acknowledgement included) arrives that much late while
the throughput stays the server's. ``delay_s`` may change while connections are open.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time

CHUNK = 64 * 1024


class DelayingProxy:
    def __init__(self, target_port: int, delay_s: float = 0.0, host: str = "127.0.0.1"):
        self.target, self.delay_s = (host, target_port), delay_s
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._closed = threading.Event()

    def start(self) -> DelayingProxy:
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> DelayingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _address = self._listener.accept()
                server = socket.create_connection(self.target)
            except OSError:
                continue
            self._sockets += [client, server]
            later: queue.Queue[tuple[float, bytes]] = queue.Queue()
            for target, args in (
                (self._pump, (client, server)),
                (self._stamp, (server, later)),
                (self._late, (later, client)),
            ):
                threading.Thread(target=target, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(CHUNK):
                sink.sendall(data)
        self._end(sink)

    def _stamp(self, source: socket.socket, later: queue.Queue) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(CHUNK):
                later.put((time.monotonic() + self.delay_s, data))
        later.put((0.0, b""))

    def _late(self, later: queue.Queue, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while (item := later.get())[1]:
                due, data = item
                time.sleep(max(0.0, due - time.monotonic()))
                sink.sendall(data)
        self._end(sink)

    @staticmethod
    def _end(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
