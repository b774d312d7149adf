"""SIGINT and SIGTERM: stop the statement in flight, end with one line.

A Python signal handler only runs between bytecodes of the main thread; a
main thread waiting inside the database driver (psycopg2 in libpq, a long
UPDATE) would not see it until the server finished. So the signal's number
also goes to a wakeup pipe, and a watcher thread that reads it cancels the
session's statement on the server at once (``Session.cancel``). The main
thread then sees the statement fail, or meets ``check`` before its next
statement, and ends with ``Interrupted``. Outside a migration session
nothing is in flight that needs stopping: the handler raises at once.
"""
import contextlib
import os
import signal
import sys
import threading

from nova_schema import exception

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# If the run has not ended this long after the cancel, exit regardless.
GRACE_SECONDS = 10.0


def signal_name(number):
    return signal.Signals(number).name


class Guard(object):
    """Use as ``with Guard().installed() as guard``, from the main thread."""

    def __init__(self, grace=GRACE_SECONDS, on_give_up=None):
        self.signal_number = None
        self.grace = grace
        self.on_give_up = on_give_up
        self._event = threading.Event()
        self._session = None
        self._lock = threading.Lock()

    @property
    def interrupted(self):
        return self.signal_number is not None

    def error(self, what='; nothing was changed'):
        """The ``Interrupted`` to raise: ``what`` says what was cut short
        and in what state it left the database."""
        return exception.Interrupted(
            'interrupted by %s%s' % (signal_name(self.signal_number), what),
            self.signal_number)

    def check(self):
        """Raise ``Interrupted`` if a signal came; call between statements."""
        if self.interrupted:
            raise self.error()

    def wait(self, seconds):
        """Sleep up to ``seconds``; True if a signal ended the sleep."""
        return self._event.wait(seconds)

    @contextlib.contextmanager
    def attached(self, session):
        """While inside, a signal cancels ``session``'s statement."""
        with self._lock:
            self._session = session
        try:
            if self.interrupted:
                session.cancel()
            yield
        finally:
            with self._lock:
                self._session = None

    def _note(self, number):
        with self._lock:
            first = self.signal_number is None
            if first:
                self.signal_number = number
            session = self._session
        self._event.set()
        return first, session

    @property
    def completion(self):
        return getattr(self, '_completed', None) or 'the command completed'

    @property
    def is_completed(self):
        return getattr(self, '_completed', None) is not None

    def completed(self, what):
        """The run's changes are committed: a signal from now on says so
        (``what``) instead of claiming nothing changed."""
        self._completed = what

    def _handler(self, number, frame):
        first, session = self._note(number)
        if session is None and first:
            completed = getattr(self, '_completed', None)
            if completed:
                raise self.error(' after %s' % completed)
            raise self.error()

    def _watch(self, read_end):
        while True:
            try:
                data = os.read(read_end, 16)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number not in SIGNALS:
                    continue
                first, session = self._note(number)
                if session is not None:
                    # NOTE: the timer first: a cancel opens a connection,
                    # which a broken network can hold for minutes.
                    if first:
                        self._start_grace_timer()
                    session.cancel()

    def _start_grace_timer(self):
        self._timer = threading.Timer(self.grace, self._give_up)
        self._timer.daemon = True
        self._timer.start()

    def _give_up(self):
        if self.on_give_up is not None:
            self.on_give_up(self)
        os._exit(128 + self.signal_number)

    @contextlib.contextmanager
    def installed(self):
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        previous = {number: signal.signal(number, self._handler)
                    for number in SIGNALS}
        previous_fd = signal.set_wakeup_fd(write_end,
                                           warn_on_full_buffer=False)
        watcher = threading.Thread(target=self._watch, args=(read_end,),
                                   name='nova_schema-interrupt', daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            # NOTE: the run has ended, one way or the other: nothing is
            # left to give up on (an API caller's process lives on).
            timer = getattr(self, '_timer', None)
            if timer is not None:
                timer.cancel()
            signal.set_wakeup_fd(previous_fd)
            for number, handler in previous.items():
                signal.signal(number, handler)
            os.close(write_end)
            watcher.join(1)
            os.close(read_end)
            sys.stderr.flush()
