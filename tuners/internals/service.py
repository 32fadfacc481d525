"""The chief/worker service: keras-tuner's gRPC oracle service, knowing which worker calls."""

from __future__ import annotations

import collections
import os
from concurrent import futures
from typing import Any

import grpc
import keras_tuner as kt
from keras_tuner.src import protos
from keras_tuner.src.distribute import oracle_chief

from kerastune.tuners.internals.oracle_base import STOPPED

WORKER_METADATA = "kerastune-worker"  # the gRPC metadata key in which a kerastune worker names itself


class OracleServicer(oracle_chief.OracleServicer):
    """keras-tuner's oracle service, knowing which worker calls: a kerastune worker names itself in every
    call's metadata. A worker's `GetTrial` of its own trial is its heartbeat. A trial taken back from a worker
    is no longer its own: its late `UpdateTrial` or `EndTrial` is ignored (so no trial counts twice), and the
    answer to its heartbeat says STOPPED, so that it drops the trial."""

    def GetTrial(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's name)
        worker = _caller(context)
        if worker is not None:
            self.oracle.heard_from(worker)
            if not self.oracle.ran(worker, request.trial_id):
                return protos.get_service().GetTrialResponse(trial=_stopped(self.oracle, request.trial_id))
        return super().GetTrial(request, context)

    def UpdateTrial(self, request: Any, context: Any) -> Any:  # noqa: N802
        worker = _caller(context)
        if worker is not None and not self.oracle.runs(worker, request.trial_id):
            return protos.get_service().UpdateTrialResponse(trial=_stopped(self.oracle, request.trial_id))
        return super().UpdateTrial(request, context)

    def EndTrial(self, request: Any, context: Any) -> Any:  # noqa: N802
        worker = _caller(context)
        if worker is not None and not self.oracle.runs(worker, request.trial.trial_id):
            return protos.get_service().EndTrialResponse()
        return super().EndTrial(request, context)


def _caller(context: Any) -> str | None:
    return dict(context.invocation_metadata() or ()).get(WORKER_METADATA)


def _stopped(oracle: Any, trial_id: str) -> Any:
    trial = kt.engine.trial.Trial(oracle.get_space(), trial_id=trial_id, status=STOPPED)
    return trial.to_proto()


class OracleServer:
    """The chief's gRPC server for its oracle (one thread, as keras-tuner's own: the oracle is not made for
    concurrent calls). keras-tuner's `oracle_chief.start_server` cannot be used: it blocks, and polls every 20 s
    before it lets the chief exit (keras-tuner PR #983). The address is taken first, so that a port in use is
    refused before anything is written."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            self.port = 0
        self.host = host
        self.servicer: OracleServicer | None = None

    def serve(self, oracle: Any) -> None:
        self.servicer = OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=1).wait()

    def search_done(self) -> bool:
        """True once the oracle has told a worker to stop and no worker holds or asks for a trial (what
        keras-tuner's `exit_chief` asks under the oracle's lock; this only reads, so it never waits on it)."""
        oracle = self.servicer.oracle
        return self.servicer.stop_triggered and not oracle.ongoing_trials and not oracle.tuner_ids


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                                            "compression")),
    grpc.ClientCallDetails,
):
    """The details of a gRPC call, with other metadata."""


class _NameWorker(grpc.UnaryUnaryClientInterceptor):
    """Adds the worker's name to the metadata of every call."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = (*(details.metadata or ()), (WORKER_METADATA, self.worker_id))
        return continuation(_CallDetails(details.method, details.timeout, metadata, details.credentials,
                                         details.wait_for_ready, details.compression), request)


def name_worker_calls(client: Any, worker_id: str) -> Any:
    """Make keras-tuner's `OracleClient` name its worker in every call to the chief (see OracleServicer)."""
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    channel = grpc.intercept_channel(grpc.insecure_channel(address), _NameWorker(worker_id))
    client.stub = protos.get_service_grpc().OracleStub(channel)
    return client


def connect_worker(tuner: Any, worker_id: str, wrap: Any) -> Any:
    """Connect a worker's tuner to its chief: the `OracleClient` keras-tuner made for it names the worker in every
    call (`name_worker_calls`), and the tuner asks the chief through `wrap(client)`. Returns the client."""
    client = name_worker_calls(tuner.oracle, worker_id)
    tuner.oracle = wrap(client)
    return client
