"""The arithmetic and error sorting behind Galera's batched fill and
retries (nova_schema.backends.galera), without a cluster."""
from sqlalchemy.engine import url as sa_url
import testtools

from nova_schema.backends import galera


class FakeError(Exception):
    """A PyMySQL error: (number, message)."""


class TestBatchBounds(testtools.TestCase):

    def test_no_limits_gives_the_defaults(self):
        self.assertEqual((2000, 8 * 1024 * 1024), galera.batch_bounds(
            galera.WriteSetLimits(0, 2147483647)))

    def test_the_cluster_limits_win_when_lower(self):
        # NOTE: half the size limit: the write set is an estimate.
        self.assertEqual((10, 50000), galera.batch_bounds(
            galera.WriteSetLimits(10, 100000)))

    def test_never_below_one_row(self):
        self.assertEqual((1, 1), galera.batch_bounds(
            galera.WriteSetLimits(1, 1)))


class TestErrors(testtools.TestCase):

    def test_certification_failure_is_transient(self):
        self.assertEqual('certification failure', galera.transient(
            FakeError(1213, 'Deadlock found when trying to get lock')))

    def test_a_write_set_too_big_is_not_transient(self):
        self.assertIsNone(galera.transient(
            FakeError(1180, 'wsrep_max_ws_rows exceeded')))
        self.assertIsNone(galera.transient(
            FakeError(1105, 'Maximum writeset size exceeded')))

    def test_a_lost_connection_is_not_transient(self):
        self.assertIsNone(galera.transient(
            FakeError(2013, 'Lost connection to MySQL server')))

    def test_retried_repeats_transient_errors_only(self):
        calls = []

        def work():
            calls.append(1)
            if len(calls) < 3:
                raise FakeError(1213, 'Deadlock found')
            return 'done'

        self.assertEqual('done', galera.retried(work, first_pause=0))
        self.assertEqual(3, len(calls))

        def lost():
            calls.append(1)
            raise FakeError(2013, 'Lost connection')

        del calls[:]
        self.assertRaises(FakeError, galera.retried, lost, first_pause=0)
        self.assertEqual(1, len(calls))

    def test_retried_gives_up(self):
        calls = []

        def work():
            calls.append(1)
            raise FakeError(1213, 'Deadlock found')

        self.assertRaises(FakeError, galera.retried, work, tries=4,
                          first_pause=0)
        self.assertEqual(4, len(calls))


class TestPeers(testtools.TestCase):

    def test_every_other_member(self):
        url = sa_url.make_url('mysql+pymysql://u:p@127.0.0.1:4302/nova')
        peers = galera.peer_urls(url, [('127.0.0.1', 4301),
                                       ('127.0.0.1', 4302),
                                       ('127.0.0.1', 4303)])
        self.assertEqual(['127.0.0.1:4301', '127.0.0.1:4303'],
                         ['%s:%s' % (peer.host, peer.port)
                          for peer in peers])
        self.assertEqual({'nova'}, {peer.database for peer in peers})
