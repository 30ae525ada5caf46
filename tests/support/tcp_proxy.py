"""A TCP forwarder a test can cut: the database (or anything) behind it becomes unreachable, then comes back."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import make_url

from shared.broker import free_port


class TcpProxy:
    """Forwards 127.0.0.1:port to target; cut() drops every connection and refuses new ones, restore() undoes it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in self._connections:
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def url_of(self, database_url: str) -> str:
        """The database URL with its host and port replaced by the proxy's."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
            try:
                await asyncio.gather(_copy(client_reader, server_writer), _copy(server_reader, client_writer))
            finally:
                server_writer.close()
        finally:
            client_writer.close()
            self._connections.discard(task)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def tcp_proxy_to(database_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy to the database URL's server, listening until the block ends."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
