"""Waiting for a lock without stalling anyone else.

A run never waits for a lock longer than ``lock_wait`` in one go (the
backends bound every wait; see ``nova_schema.backends``): a try that would
wait longer is abandoned (``LockBusy``) and, after a pause that lets the
application's queries through, tried again, until ``lock_timeout`` runs
out. So another session's queries queue behind this run's lock request for
at most ``lock_wait`` at a time, however long the lock stays taken.
"""
import random
import time

from nova_schema import exception

FIRST_PAUSE = 0.25
LONGEST_PAUSE = 4.0
# A wait is reported once it has lasted REPORT_AFTER, then every
# REPORT_EVERY seconds.
REPORT_AFTER = 1.0
REPORT_EVERY = 5.0


class Waiter(object):
    """Calls ``attempt()`` until it does not raise ``LockBusy``.

    ``on_wait(message)`` hears what is being waited for, at the first
    ``LockBusy`` and then every ``REPORT_EVERY`` seconds. ``holders(busy)``
    may name who holds the lock once the try has let go of everything.
    ``interrupt``, if given, ends a pause early (``interrupt.wait``).
    """

    def __init__(self, lock_timeout, on_wait=None, holders=None,
                 interrupt=None, clock=time.monotonic):
        self.lock_timeout = lock_timeout
        self.on_wait = on_wait
        self.holders = holders
        self.interrupt = interrupt
        self.clock = clock
        self.tries = 0

    def run(self, attempt):
        """``attempt(waiter)``, retried while it raises ``LockBusy``."""
        self.started = self.clock()
        self.deadline = self.started + self.lock_timeout
        self._reported = None
        pause = FIRST_PAUSE
        while True:
            self.tries += 1
            try:
                return attempt(self)
            except exception.LockBusy as busy:
                if self.holders and not busy.holders:
                    busy.holders = self.holders(busy)
                now = self.clock()
                if now >= self.deadline:
                    raise GaveUp(busy, now - self.started, self.tries)
                self._report_if_due(lambda busy=busy: busy, now)
                self.pause(min(pause * random.uniform(0.8, 1.2),
                               self.deadline - now))
                pause = min(pause * 2, LONGEST_PAUSE)

    def remaining(self):
        return max(0.0, self.deadline - self.clock())

    def still_waiting(self, busy):
        """For a lock that can be waited for without holding anyone up
        (another db sync's): raise ``busy()`` once the time is up, else
        report the wait when due."""
        if self.interrupt is not None:
            self.interrupt.check()
        now = self.clock()
        if now >= self.deadline:
            raise busy()
        self._report_if_due(busy, now)

    def _report_if_due(self, busy, now):
        if now - self.started < REPORT_AFTER:
            return
        if self._reported is not None and now - self._reported < REPORT_EVERY:
            return
        self._reported = now
        if self.on_wait is not None:
            busy = busy()
            self.on_wait('waiting for %s, held by %s (%d s so far, giving '
                         'up after %g s)' % (busy.what, busy.held_by,
                                             now - self.started,
                                             self.lock_timeout))

    def pause(self, seconds):
        if self.interrupt is not None:
            self.interrupt.wait(seconds)
            self.interrupt.check()
        else:
            time.sleep(seconds)


class GaveUp(Exception):
    """The last ``LockBusy`` once ``lock_timeout`` ran out."""

    def __init__(self, busy, waited, tries):
        super().__init__(str(busy))
        self.busy, self.waited, self.tries = busy, waited, tries
