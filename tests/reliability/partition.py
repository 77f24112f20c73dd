"""A TCP relay between gateway processes and PostgreSQL that a test can cut: while cut,
every relayed connection is reset and new ones are refused, as a network partition
between the process and its database would look to it.  ``freeze()`` plays a network
that drops packets silently instead: connections stay open, new ones are accepted, and
nothing is ever answered."""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Partition"]


class Partition:
    """Relays ``127.0.0.1:port`` to ``127.0.0.1:target``; ``cut()`` and ``heal()``."""

    def __init__(self, target: int) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._frozen = False
        self._closed = False
        self._held: list[socket.socket] = []  # accepted while frozen, never answered
        threading.Thread(target=self._accept, daemon=True).start()

    def dsn(self, dsn: str) -> str:
        """``dsn`` with its port replaced by this relay's."""
        return " ".join(
            f"port={self.port}" if part.startswith("port=") else part for part in dsn.split()
        )

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for sock in self._open:  # shut down first: a close alone leaves a blocked
                with contextlib.suppress(OSError):  # reader waiting, the peer none the wiser
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._open.clear()

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def freeze(self) -> None:
        """From now on nothing is relayed either way and nothing is reset."""
        with self._lock:
            self._frozen = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        with self._lock:
            for sock in self._held:
                sock.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._cut:
                    client.close()
                    continue
                if self._frozen:
                    self._held.append(client)
                    continue
                try:
                    server = socket.create_connection(("127.0.0.1", self._target))
                except OSError:
                    client.close()
                    continue
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not self._frozen:
                    sink.sendall(data)
        with self._lock:
            for sock in (source, sink):
                self._open.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()
