"""Tasks on a Dask cluster: a local one on this machine's CPUs, or the scheduler at an
address the user gives (`dask scheduler` and `dask worker` processes, possibly on other
machines with the planner installed). Only `planner stress` uses it."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from .solve import usable_cpus

CONNECT_TIMEOUT_S = 10  # a scheduler that does not answer within this is an error


class ClusterError(RuntimeError):
    """The cluster could not be started or reached."""


def map_chunks(task: Callable, chunks: list, shared: tuple, scheduler: str | None,
               workers: int | None) -> Iterator[tuple[int, object]]:
    """(k, task(shared[0], chunks[k], *shared[1:])) for every chunk, as they finish. The
    shared arguments are sent to every worker once, not with each chunk. Cluster and
    client are always closed, also when the caller stops early."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is None:
            # The cluster's own log lines (a worker removed on Ctrl-C, ...) are not the
            # user's business: what goes wrong reaches the caller as an exception.
            cluster = LocalCluster(n_workers=workers or usable_cpus(), threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # refused, timed out, or workers that could not start
        if cluster is not None:
            cluster.close()
        if scheduler is None:
            raise ClusterError(f"could not start a local cluster: {exc}") from None
        raise ClusterError(f"could not reach the scheduler at {scheduler}: {exc}; check the "
                           f"address (tcp://host:port) and that `dask scheduler` runs "
                           f"there (waited up to {CONNECT_TIMEOUT_S} s)") from None
    try:
        try:
            first, *rest = [client.scatter(arg, broadcast=True) for arg in shared]
        except TimeoutError:
            raise ClusterError(f"the cluster at {scheduler or 'this machine'} has no workers "
                               f"to send the work to; start `dask worker {scheduler}` "
                               f"there") from None
        futures = {client.submit(task, first, chunk, *rest, pure=False): k
                   for k, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
