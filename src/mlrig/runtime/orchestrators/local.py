"""The ``local`` orchestrator: steps in the calling process, or in worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from mlrig.runtime.registry import RuntimeContext


def _worker_start() -> None:
    """A worker process starts: the engine's module is imported once, not per step."""
    import mlrig.runtime.engine  # noqa: F401


class LocalOrchestrator:
    """``parallelism: 1`` (the default): every step in the calling process, in order.
    ``parallelism: N``: up to N independent steps at once, each in a worker process (started
    with ``forkserver`` where the platform has it, else ``spawn``; a step is found there by
    its module and name, or by loading the file that defines it)."""

    def __init__(self, parallelism: int = 1, name: str = "local") -> None:
        self.parallelism = parallelism
        self.name = name

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext) -> LocalOrchestrator:
        return cls(int(config.get("parallelism", 1) or 1), context.component_name)

    @property
    def in_process(self) -> bool:
        return self.parallelism <= 1

    def check(self) -> None:
        """Nothing to reach: the local machine is there."""

    @contextlib.contextmanager
    def executor(self) -> Iterator[Any]:
        if self.in_process:
            yield None
            return
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods and sys.platform != "darwin" else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["mlrig.runtime.engine"])
        pool = ProcessPoolExecutor(max_workers=self.parallelism, mp_context=context,
                                   initializer=_worker_start)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
