"""Stop a training job cleanly on SIGTERM or SIGUSR1.

Cluster jobs get SIGTERM at walltime or preemption, and SLURM sends SIGUSR1 ahead of
walltime when asked (`--signal=USR1@<seconds>`). The handler only records the request;
the training loop checks it after every batch, writes a checkpoint and raises
`Interrupted`, so the job exits non-zero, Snakemake starts it again (rule `retries`)
and the new job resumes from that batch.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("umxmr.training.interrupt")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Interrupted(RuntimeError):
    """Training stopped on request after a checkpoint; run the job again to resume."""


class StopRequest:
    """Set by a stop signal, read by the training loop."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame) -> None:
        if self.signal is None:
            log.warning("got %s: stopping after the current batch", signal.Signals(signum).name)
        self.signal = signum


@contextmanager
def stop_on_signals(signals=STOP_SIGNALS) -> Iterator[StopRequest]:
    """A `StopRequest` that the stop signals set while the block runs (main thread only)."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # signal handlers can only be installed from the main thread
        return
    previous = {sig: signal.signal(sig, request._handle) for sig in signals}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
