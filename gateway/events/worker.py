"""The events worker: frames captured changes into the outbox and delivers the outbox.

Any number of workers (threads of gateway processes, or `fno-gateway events worker` processes, on
any machine) share one database. A lease elects the one that frames (so ControlNumbers follow commit
order), and one lease per endpoint the worker that delivers to it (so an endpoint gets its events in
order, from one worker at a time); endpoints are spread over the workers. A worker that dies gives
its leases up when they expire (at once on the same machine).

Every pass also keeps the capture triggers in step with the activations (an activation made with
plain SQL, or by another process, starts capturing within a pass) and prunes delivered events once
they no longer count against the budget.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError

from gateway.events.deliver import Deliverer, DeliveryPolicy
from gateway.events.frame import frame_once
from gateway.events.service import Events
from gateway.events.store import DELIVERED, leases, now, outbox
from gateway.lease import Lease, holder_identity

log = logging.getLogger("fno_gateway.events")
LEASE_SECONDS = 30
RECONCILE_SECONDS = 2.0
RETENTION = dt.timedelta(hours=2)  # delivered events are kept this long (the hourly budget counts them)


class EventsWorker:
    def __init__(self, events: Events, policy: DeliveryPolicy | None = None) -> None:
        self.events = events
        self.identity = holder_identity()
        self.deliverer = Deliverer(events.engine, policy or events.policy)
        self._framer = Lease(events.engine, leases, "frame", self.identity, LEASE_SECONDS)
        self._endpoint_leases: dict[str, Lease] = {}
        self._reconciled = -float("inf")
        self._pruned = -float("inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float = 0.1) -> None:
        self._thread = threading.Thread(target=self.run, args=(interval,), name="events-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.release()

    def release(self) -> None:
        try:
            for lease in [self._framer, *self._endpoint_leases.values()]:
                lease.release()
        except DBAPIError:
            pass  # the database is away: the leases expire by themselves
        self.deliverer.close()

    def run(self, interval: float = 0.1) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except DBAPIError as error:  # the database is down or restarting: try again shortly
                log.warning("events worker: %s", str(error.orig).splitlines()[0] if error.orig else error)
                done = 0
                self._stop.wait(1.0)
            except Exception:
                log.exception("events worker pass failed")
                done = 0
            if not done:
                self._stop.wait(interval)

    def run_once(self) -> int:
        """One pass; returns how many captured rows and events it handled."""
        moment = time.monotonic()
        if moment - self._reconciled >= RECONCILE_SECONDS:
            self.events.reconcile()
            self._reconciled = moment
        handled = 0
        if self._framer.hold():
            while (framed := frame_once(self.events.engine, self.events.catalog, self.events.definitions)):
                handled += framed
                if self._stop.is_set():
                    break
        self.deliverer.throttled = False
        for endpoint in self.deliverer.due_endpoints():
            lease = self._endpoint_leases.setdefault(endpoint.ENDPOINTID, Lease(
                self.events.engine, leases, "endpoint:" + endpoint.ENDPOINTID, self.identity, LEASE_SECONDS))
            if lease.hold():
                handled += self.deliverer.deliver(endpoint, lease.hold)
        if moment - self._pruned >= 60:
            self._prune()
            self._pruned = moment
        return handled

    def _prune(self) -> None:
        with self.events.engine.begin() as connection:
            connection.execute(delete(outbox).where(outbox.c.STATUS == DELIVERED,
                                                    outbox.c.DELIVEREDAT < now() - RETENTION))
