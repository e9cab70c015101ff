"""The ``dask`` orchestrator: each step one task on a Dask cluster.

``address`` names a running scheduler (``tcp://host:8786``); without one, a
``distributed.LocalCluster`` of worker processes is started the first time a run needs it
and kept for the rest of the calling process (the same code then scales to a real cluster
by setting ``address``). Its worker processes are started with ``spawn``: a script that
runs a pipeline on it needs the ``if __name__ == "__main__":`` guard around that call.
Requires ``pip install 'mlrig[dask]'``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from mlrig.exceptions import MlrigError
from mlrig.runtime.registry import RuntimeContext

_cluster_lock = threading.Lock()
#: the process's LocalCluster, once started
_clusters: dict[str, Any] = {}


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MlrigError(
            "The dask orchestrator needs the 'distributed' package.",
            hint="Run: pip install 'mlrig[dask]'.",
        ) from None
    return distributed


def local_cluster(n_workers: int | None) -> Any:
    """The process's LocalCluster, started on first use (loopback only)."""
    with _cluster_lock:
        if "local" not in _clusters:
            distributed = _distributed()
            import dask

            with dask.config.set({"distributed.worker.daemon": False}):
                _clusters["local"] = distributed.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None, silence_logs=40,
                )
        return _clusters["local"]


class DaskOrchestrator:
    def __init__(self, address: str | None, n_workers: int | None, timeout: float,
                 name: str = "dask") -> None:
        self.address = address
        self.n_workers = n_workers
        self.timeout = timeout
        self.name = name
        self._client: Any = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: RuntimeContext) -> DaskOrchestrator:
        return cls(config.get("address"), config.get("n_workers"),
                   float(config.get("timeout", 5.0)), context.component_name)

    in_process = False

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        distributed = _distributed()
        target = self.address if self.address else local_cluster(self.n_workers)
        try:
            self._client = distributed.Client(target, timeout=self.timeout,
                                              set_as_default=False)
        except (OSError, TimeoutError) as exc:
            where = f"the Dask scheduler at '{self.address}'" if self.address else (
                "the local Dask cluster")
            raise MlrigError(
                f"Cannot reach {where} within {self.timeout:g} s: {exc}"
            ) from None
        return self._client

    def check(self) -> None:
        """Preflight: the scheduler at ``address`` answers within ``timeout`` and has a
        worker; without an address, ``distributed`` can be imported (the local cluster is
        started when a step first needs it)."""
        if not self.address:
            _distributed()
            return
        client = self._connect()
        try:
            workers = client.scheduler_info().get("workers", {})
            if not workers:
                try:
                    client.wait_for_workers(1, timeout=self.timeout)
                except Exception:
                    raise MlrigError(
                        f"The Dask scheduler at '{self.address}' has no worker."
                    ) from None
        except MlrigError:
            raise
        except Exception as exc:
            raise MlrigError(f"The Dask scheduler does not answer: {exc}") from None
        finally:  # a run whose steps all come from the cache needs no connection
            self._client = None
            with contextlib.suppress(Exception):
                client.close()

    @contextlib.contextmanager
    def executor(self) -> Iterator[Any]:
        client = self._connect()
        try:
            yield client.get_executor(pure=False)
        finally:
            self._client = None
            with contextlib.suppress(Exception):
                client.close()
