"""Child processes that cannot outlive the process that started them (Linux: PR_SET_PDEATHSIG)."""

import ctypes
import ctypes.util
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _prctl()  # looked up here, not in the child between fork and exec


def die_with_parent() -> None:
    """A preexec_fn: the child gets SIGKILL when the process that started it dies, even by SIGKILL.

    Without it, a runner killed with -9 leaves its broker and services running, holding their
    ports and the state directory's databases. Elsewhere than Linux it does nothing.
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
