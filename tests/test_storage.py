"""The store primitives (STYLE.md C7, the contract documented on ``BaseStore``), run against
every back-end: ``StorageContract`` is a mixin in the style of huey's ``StorageTests``, and
``MemoryStoreTests`` / ``SqliteStoreTests`` bind it to a store. ``SqliteOnlyTests`` cover what
only a store in a file can do: roll back, be shared by several store objects (as by several
processes), wake a waiter through polling, and survive closing and reopening.

No test sleeps: threads meet on Events, and every wait has a timeout whose result is asserted.
"""
from __future__ import annotations

import math
import os
import tempfile
import threading
import time
import unittest

from rq_emulator import ManualClock, MemoryStore, Queue, SqliteStore

WAIT = 5            # seconds: the longest any healthy wait here should take
SHORT = 0.1         # seconds: how long a waiter that must NOT be woken is left waiting
RECORD = ['job-1', 'operator.add', 'payload']   # opaque to the store: kept as it is given


def importable_job():
    return 'ok'


class StorageContract:
    """Every test here must pass on every store. Subclasses define ``make_store(clock)``."""

    def setUp(self):
        super().setUp()
        self.clock = ManualClock(start=1_700_000_000)
        self.store = self.make_store(self.clock)

    # -- helpers -------------------------------------------------------------

    def start_waiter(self, wait_call):
        """Run ``wait_call(tx, entered)`` inside a transaction in a thread, once it waits.

        ``wait_call`` passes a predicate that calls ``entered.set()``: the predicate runs
        under the store's lock, so once ``entered`` is set, any transaction this thread
        opens begins only after the waiter has released the lock inside its wait.
        """
        entered, result = threading.Event(), []

        def run():
            with self.store.transaction() as tx:
                result.append(wait_call(tx, entered))
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.assertTrue(entered.wait(WAIT), 'the waiter never started waiting')
        return thread, result

    def finish_waiter(self, thread, result, expected=True):
        thread.join(WAIT)
        self.assertFalse(thread.is_alive(), 'the waiter was never woken')
        self.assertEqual(result, [expected])

    def write(self, action):
        with self.store.transaction() as tx:
            return action(tx)

    # -- transactions, now(), wait(), signal() ---------------------------------

    def test_transaction_gives_the_store_and_commits(self):
        with self.store.transaction() as tx:
            self.assertIs(tx, self.store)
            tx.set(('k',), 1)
        with self.store.transaction() as tx:
            self.assertEqual(tx.get(('k',)), 1)

    def test_now_is_the_store_clock(self):
        with self.store.transaction() as tx:
            self.assertEqual(tx.now(), 1_700_000_000)
        self.clock.advance(5)
        with self.store.transaction() as tx:
            self.assertEqual(tx.now(), 1_700_000_005)

    def test_wait_returns_at_once_when_the_predicate_holds(self):
        with self.store.transaction() as tx:
            self.assertIs(tx.wait(lambda: True, WAIT), True)

    def test_wait_times_out_with_false(self):
        began = time.monotonic()
        with self.store.transaction() as tx:
            self.assertFalse(tx.wait(lambda: False, 0.05))
            self.assertFalse(tx.wait_for_work(lambda: False, 0.05))
        self.assertLess(time.monotonic() - began, WAIT)

    def test_a_transaction_that_writes_wakes_a_waiter(self):
        writes = (
            lambda tx: tx.set(('k',), 1),
            lambda tx: tx.job_put('job-1', RECORD),
            lambda tx: tx.queue_push('q', 'job-1'),
            lambda tx: tx.zadd(('z',), 'm', 1.0),
            lambda tx: tx.sadd(('s',), 'm'),
        )
        for index, action in enumerate(writes):
            with self.subTest(write=index):
                seen = []

                def wait_call(tx, entered):
                    return tx.wait(lambda: entered.set() or (bool(seen) and seen[-1] == index),
                                   WAIT)
                thread, result = self.start_waiter(wait_call)
                self.write(lambda tx: (action(tx), seen.append(index)))
                self.finish_waiter(thread, result)

    def test_a_pop_wakes_a_waiter(self):
        self.write(lambda tx: tx.queue_push('q', 'job-1'))
        thread, result = self.start_waiter(
            lambda tx, entered: tx.wait(lambda: entered.set() or tx.queue_len('q') == 0, 1))
        self.assertEqual(self.write(lambda tx: tx.queue_pop('q')), 'job-1')
        began = time.monotonic()
        self.finish_waiter(thread, result)
        self.assertLess(time.monotonic() - began, 0.9, 'woken by the timeout, not the pop')

    def test_wait_with_a_key_is_woken_by_signal(self):
        flag = []
        thread, result = self.start_waiter(lambda tx, entered: tx.wait(
            lambda: entered.set() or bool(flag), WAIT, key='job-1'))
        self.write(lambda tx: (flag.append(1), tx.signal('job-1')))
        self.finish_waiter(thread, result)

    def test_wait_with_a_key_is_woken_by_deleting_that_job(self):
        self.write(lambda tx: tx.job_put('job-1', RECORD))
        thread, result = self.start_waiter(lambda tx, entered: tx.wait(
            lambda: entered.set() or tx.job_get('job-1') is None, WAIT, key='job-1'))
        self.write(lambda tx: tx.job_delete('job-1'))
        self.finish_waiter(thread, result)

    def test_wait_with_a_key_ignores_other_writes(self):
        flag = []
        began = time.monotonic()
        thread, result = self.start_waiter(lambda tx, entered: tx.wait(
            lambda: entered.set() or bool(flag), SHORT, key='job-1'))
        self.write(lambda tx: (flag.append(1), tx.set(('k',), 1), tx.signal('other')))
        self.finish_waiter(thread, result)      # the predicate holds when the wait times out
        self.assertGreaterEqual(time.monotonic() - began, SHORT * 0.9)

    # -- wait_for_work() / wake_workers() --------------------------------------

    def test_wait_for_work_is_woken_by_a_push(self):
        thread, result = self.start_waiter(lambda tx, entered: tx.wait_for_work(
            lambda: entered.set() or tx.queue_len('q') > 0, WAIT))
        self.write(lambda tx: tx.queue_push('q', 'job-1'))
        self.finish_waiter(thread, result)

    def test_wait_for_work_is_woken_by_wake_workers(self):
        flag = []
        thread, result = self.start_waiter(lambda tx, entered: tx.wait_for_work(
            lambda: entered.set() or bool(flag), WAIT))
        self.write(lambda tx: (flag.append(1), tx.wake_workers()))
        self.finish_waiter(thread, result)

    def test_wait_for_work_is_woken_when_the_earliest_timer_moves(self):
        self.write(lambda tx: tx.timer_add(100, ('scheduled', 'q'), 'late'))
        thread, result = self.start_waiter(lambda tx, entered: tx.wait_for_work(
            lambda: entered.set() or tx.timer_next() != 100, WAIT))
        self.write(lambda tx: tx.timer_add(50, ('scheduled', 'q'), 'early'))
        self.finish_waiter(thread, result)

    def test_wait_for_work_ignores_other_writes(self):
        flag = []
        began = time.monotonic()
        thread, result = self.start_waiter(lambda tx, entered: tx.wait_for_work(
            lambda: entered.set() or bool(flag), SHORT))
        self.write(lambda tx: (flag.append(1), tx.set(('k',), 1)))
        self.finish_waiter(thread, result)
        self.assertGreaterEqual(time.monotonic() - began, SHORT * 0.9)

    def test_each_push_wakes_a_worker(self):
        taken, threads = [], []
        lock = threading.Lock()

        def take(tx, entered):
            ok = tx.wait_for_work(lambda: entered.set() or tx.queue_len('q') > 0, WAIT)
            with lock:
                taken.append(tx.queue_pop('q'))
            return ok
        for _ in range(2):
            threads.append(self.start_waiter(take))
        self.write(lambda tx: (tx.queue_push('q', 'a'), tx.queue_push('q', 'b')))
        for thread, result in threads:
            self.finish_waiter(thread, result)
        self.assertEqual(sorted(taken), ['a', 'b'])

    # -- jobs ----------------------------------------------------------------

    def test_job_put_get_delete(self):
        with self.store.transaction() as tx:
            self.assertIsNone(tx.job_get('job-1'))
            tx.job_put('job-1', RECORD)
            self.assertEqual(list(tx.job_get('job-1')), RECORD)
            tx.job_put('job-1', ['job-1', 'operator.mul', 'other'])
            self.assertEqual(list(tx.job_get('job-1')), ['job-1', 'operator.mul', 'other'])
            tx.job_delete('job-1')
            self.assertIsNone(tx.job_get('job-1'))
            tx.job_delete('job-1')              # deleting a missing job is harmless
            tx.job_delete('never-there')

    def test_job_delete_removes_the_record_only(self):
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.set(('results', 'job-1'), ('r',))      # keys of the lifecycle's: not the store's
            tx.job_delete('job-1')
            self.assertIsNone(tx.job_get('job-1'))
            self.assertEqual(tx.get(('results', 'job-1')), ('r',))

    def test_delete_removes_a_value_or_a_set(self):
        with self.store.transaction() as tx:
            tx.set(('results', 'job-1'), ('r',))
            tx.sadd(('dependents', 'job-1'), 'child')
            tx.sadd(('dependents', 'job-2'), 'kept')
            tx.delete(('results', 'job-1'))
            tx.delete(('dependents', 'job-1'))
            self.assertIsNone(tx.get(('results', 'job-1')))
            self.assertEqual(tx.smembers(('dependents', 'job-1')), [])
            self.assertEqual(tx.smembers(('dependents', 'job-2')), ['kept'])

    def test_an_expired_job_vanishes(self):
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.set(('results', 'job-1'), ('r',))
            tx.job_expire('job-1', tx.now() + 10)
        self.clock.advance(9)
        with self.store.transaction() as tx:
            self.assertEqual(list(tx.job_get('job-1')), RECORD)
        self.clock.advance(1)                   # expiry is inclusive: gone at `at`
        with self.store.transaction() as tx:
            self.assertIsNone(tx.job_get('job-1'))
            tx.job_put('job-1', RECORD)         # a new record under the same id, kept for good
        with self.store.transaction() as tx:
            self.assertEqual(list(tx.job_get('job-1')), RECORD)

    def test_job_expire_none_keeps_the_job_for_good(self):
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.job_expire('job-1', tx.now() + 1)
            tx.job_expire('job-1', None)
        self.clock.advance(10 * 365 * 86400)
        with self.store.transaction() as tx:
            self.assertEqual(list(tx.job_get('job-1')), RECORD)

    def test_job_put_keeps_the_expiry(self):
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.job_expire('job-1', tx.now() + 10)
            tx.job_put('job-1', ['job-1', 'operator.mul', 'again'])
        self.clock.advance(10)
        with self.store.transaction() as tx:
            self.assertIsNone(tx.job_get('job-1'))

    # -- queues --------------------------------------------------------------

    def test_queue_push_pop_order(self):
        with self.store.transaction() as tx:
            self.assertIsNone(tx.queue_pop('q'))
            tx.queue_push('q', 'b')
            tx.queue_push('q', 'c')
            tx.queue_push('q', 'a', at_front=True)
            tx.queue_push('q', 'd', False)
            self.assertEqual(tx.queue_ids('q'), ['a', 'b', 'c', 'd'])
            self.assertEqual(tx.queue_len('q'), 4)
            self.assertEqual([tx.queue_pop('q') for _ in range(5)], ['a', 'b', 'c', 'd', None])
            self.assertEqual((tx.queue_ids('q'), tx.queue_len('q')), ([], 0))

    def test_queue_front_push_on_an_empty_queue_and_repeatedly(self):
        with self.store.transaction() as tx:
            tx.queue_push('q', 'x', at_front=True)
            tx.queue_push('q', 'y', at_front=True)
            tx.queue_push('q', 'z')
            self.assertEqual(tx.queue_ids('q'), ['y', 'x', 'z'])

    def test_queue_remove_takes_the_first_occurrence(self):
        with self.store.transaction() as tx:
            for job_id in ('a', 'b', 'a', 'c'):
                tx.queue_push('q', job_id)
            self.assertIs(tx.queue_remove('q', 'a'), True)
            self.assertEqual(tx.queue_ids('q'), ['b', 'a', 'c'])
            self.assertIs(tx.queue_remove('q', 'zzz'), False)
            self.assertIs(tx.queue_remove('nowhere', 'a'), False)
            self.assertEqual(tx.queue_ids('q'), ['b', 'a', 'c'])

    def test_queue_position(self):
        with self.store.transaction() as tx:
            for job_id in ('a', 'b', 'a'):
                tx.queue_push('q', job_id)
            self.assertEqual(tx.queue_position('q', 'a'), 0)
            self.assertEqual(tx.queue_position('q', 'b'), 1)
            self.assertIsNone(tx.queue_position('q', 'zzz'))
            self.assertIsNone(tx.queue_position('nowhere', 'a'))

    def test_queues_are_separate(self):
        with self.store.transaction() as tx:
            tx.queue_push('q1', 'a')
            tx.queue_push('q2', 'b')
            self.assertEqual((tx.queue_ids('q1'), tx.queue_ids('q2')), (['a'], ['b']))
            self.assertEqual(tx.queue_pop('q2'), 'b')
            self.assertEqual(tx.queue_len('q1'), 1)

    def test_queue_names_register_and_forget(self):
        with self.store.transaction() as tx:
            self.assertEqual(tx.queue_names(), [])
            tx.queue_push('zeta', 'a')
            tx.queue_register('alpha')          # known, though nothing was ever pushed
            tx.queue_register('alpha')
            tx.queue_push('mid', 'b')
            tx.queue_pop('mid')                 # an emptied queue keeps its name
            self.assertEqual(tx.queue_names(), ['alpha', 'mid', 'zeta'])
            self.assertEqual(tx.queue_len('alpha'), 0)
            tx.queue_forget('zeta')
            tx.queue_forget('never-there')
            self.assertEqual(tx.queue_names(), ['alpha', 'mid'])
            self.assertEqual(tx.queue_ids('zeta'), [])      # forgetting drops the contents too

    # -- sorted sets ---------------------------------------------------------

    def test_zadd_zscore_zcard_zrem(self):
        key = ('finished', 'q')
        with self.store.transaction() as tx:
            self.assertEqual(tx.zcard(key), 0)
            self.assertIsNone(tx.zscore(key, 'a'))
            tx.zadd(key, 'a', 10)
            tx.zadd(key, 'b', 5.5)
            self.assertEqual((tx.zscore(key, 'a'), tx.zscore(key, 'b'), tx.zcard(key)),
                             (10, 5.5, 2))
            tx.zadd(key, 'a', 1)                # re-adding moves the score, not the count
            self.assertEqual((tx.zscore(key, 'a'), tx.zcard(key)), (1, 2))
            self.assertIs(tx.zrem(key, 'a'), True)
            self.assertIs(tx.zrem(key, 'a'), False)
            self.assertIs(tx.zrem(('nothing',), 'a'), False)
            self.assertEqual(tx.zcard(key), 1)
            self.assertEqual(tx.zcard(('failed', 'q')), 0)   # keys are separate

    def test_zmembers_order_max_score_and_desc(self):
        key = ('scheduled', 'q')
        with self.store.transaction() as tx:
            self.assertEqual(tx.zmembers(key), [])
            for member, score in (('c', 30), ('a', 10), ('inf', math.inf), ('b', 20)):
                tx.zadd(key, member, score)
            self.assertEqual(tx.zmembers(key), ['a', 'b', 'c', 'inf'])
            self.assertEqual(tx.zmembers(key, 20), ['a', 'b'])         # max_score is inclusive
            self.assertEqual(tx.zmembers(key, max_score=19.9), ['a'])
            self.assertEqual(tx.zmembers(key, 5), [])
            self.assertEqual(tx.zmembers(key, desc=True), ['inf', 'c', 'b', 'a'])
            self.assertEqual(tx.zmembers(key, 20, desc=True), ['b', 'a'])
            self.assertEqual(tx.zmembers(key, math.inf), ['a', 'b', 'c', 'inf'])

    def test_zmembers_ties_keep_insertion_order(self):
        key = ('finished', 'q')
        with self.store.transaction() as tx:
            for member in ('m2', 'm1', 'm3'):
                tx.zadd(key, member, 7)
            self.assertEqual(tx.zmembers(key), ['m2', 'm1', 'm3'])

    def test_zmembers_ties_after_re_adding_a_member(self):
        # A re-added member keeps its place among equal scores, on every store.
        key = ('started', 'q')
        with self.store.transaction() as tx:
            for member in ('m2', 'm1', 'm3'):
                tx.zadd(key, member, 7)
            tx.zadd(key, 'm2', 7)               # a heartbeat renewing an entry, say
            self.assertEqual(tx.zmembers(key), ['m2', 'm1', 'm3'])

    def test_zmembers_desc_ties_agree_across_stores(self):
        # Which order ties take in desc is not documented; it must at
        # least be the same on every store. MemoryStore keeps insertion order.
        key = ('finished', 'q')
        with self.store.transaction() as tx:
            for member in ('m2', 'm1', 'm3'):
                tx.zadd(key, member, 7)
            self.assertEqual(tx.zmembers(key, desc=True), ['m2', 'm1', 'm3'])

    # -- timers --------------------------------------------------------------

    def test_timers_pop_in_order(self):
        with self.store.transaction() as tx:
            self.assertIsNone(tx.timer_next())
            self.assertEqual(list(tx.timers_due(1e12)), [])
            tx.timer_add(20, ('scheduled', 'q'), 'b')
            tx.timer_add(10, ('expire',), 'a')
            tx.timer_add(20, ('finished', 'q'), 'c')        # a tie: insertion order
            tx.timer_add(30, ('scheduled', 'q'), 'd')
            self.assertEqual(tx.timer_next(), 10)
            self.assertEqual(list(tx.timers_due(9.9)), [])
            self.assertEqual(list(tx.timers_due(10)), [(('expire',), 'a', 10)])   # inclusive
            self.assertEqual(tx.timer_next(), 20)
            self.assertEqual(list(tx.timers_due(25)), [(('scheduled', 'q'), 'b', 20),
                                                       (('finished', 'q'), 'c', 20)])
            self.assertEqual(tx.timer_next(), 30)
            self.assertEqual(list(tx.timers_due(25)), [])

    def test_timers_due_pops_each_timer_once(self):
        with self.store.transaction() as tx:
            tx.timer_add(50, ('scheduled', 'q'), 'late')    # added first, due last
            tx.timer_add(30, ('scheduled', 'q'), 'early')
            tx.timer_add(40, ('expire',), 'middle')
            self.assertEqual([m for _, m, _ in tx.timers_due(100)], ['early', 'middle', 'late'])
            self.assertEqual(list(tx.timers_due(100)), [])
            self.assertIsNone(tx.timer_next())

    def test_timers_survive_across_transactions(self):
        self.write(lambda tx: tx.timer_add(5, ('expire',), 'a'))
        with self.store.transaction() as tx:
            self.assertEqual(tx.timer_next(), 5)
            self.assertEqual(list(tx.timers_due(5)), [(('expire',), 'a', 5)])
        with self.store.transaction() as tx:
            self.assertIsNone(tx.timer_next())

    # -- sets and values -----------------------------------------------------

    def test_sets(self):
        key = ('dependents', 'p')
        with self.store.transaction() as tx:
            self.assertEqual(tx.smembers(key), [])
            for member in ('b', 'a', 'b', 'c'):
                tx.sadd(key, member)
            self.assertEqual(tx.smembers(key), ['a', 'b', 'c'])     # sorted, no duplicates
            tx.srem(key, 'b')
            tx.srem(key, 'zzz')
            tx.srem(('nothing',), 'a')
            self.assertEqual(tx.smembers(key), ['a', 'c'])
            self.assertEqual(tx.smembers(('dependents', 'other')), [])

    def test_values(self):
        with self.store.transaction() as tx:
            self.assertIsNone(tx.get(('worker', 'w')))
            self.assertEqual(tx.get(('worker', 'w'), 'dflt'), 'dflt')
            tx.set(('worker', 'w'), {'name': 'w', 'expires': math.inf})
            tx.set(('results', 'j'), ((1, b'data', None, 1.5, 'w'),))
            self.assertEqual(tx.get(('worker', 'w')), {'name': 'w', 'expires': math.inf})
            self.assertEqual(tx.get(('results', 'j')), ((1, b'data', None, 1.5, 'w'),))
            tx.set(('worker', 'w'), 2)
            self.assertEqual(tx.get(('worker', 'w')), 2)
            tx.delete(('worker', 'w'))
            tx.delete(('never', 'there'))
            self.assertEqual(tx.get(('worker', 'w'), 'gone'), 'gone')


class MemoryStoreTests(StorageContract, unittest.TestCase):

    def make_store(self, clock):
        return MemoryStore(clock=clock)


def _temp_path(test):
    folder = tempfile.TemporaryDirectory()
    test.addCleanup(folder.cleanup)
    return os.path.join(folder.name, 'rq.sqlite3')


def _open(test, path, clock=None, poll_interval=0.02):
    store = SqliteStore(path, clock=clock, poll_interval=poll_interval)
    test.addCleanup(store.close)
    return store


class SqliteStoreTests(StorageContract, unittest.TestCase):

    def make_store(self, clock):
        # A long poll interval: a waiter woken within WAIT was woken by a notify, not a poll.
        return _open(self, _temp_path(self), clock, poll_interval=60)


class SqliteOnlyTests(unittest.TestCase):
    """What only a store in a file does."""

    def setUp(self):
        self.path = _temp_path(self)
        self.store = _open(self, self.path)

    def test_a_transaction_that_raises_is_rolled_back(self):
        with self.assertRaises(RuntimeError):
            with self.store.transaction() as tx:
                tx.job_put('job-1', RECORD)
                tx.queue_push('q', 'job-1')
                tx.zadd(('finished', 'q'), 'job-1', 1)
                tx.timer_add(1, ('expire',), 'job-1')
                tx.sadd(('s',), 'm')
                tx.set(('k',), 1)
                raise RuntimeError('halfway')
        with self.store.transaction() as tx:
            self.assertIsNone(tx.job_get('job-1'))
            self.assertEqual((tx.queue_names(), tx.queue_ids('q')), ([], []))
            self.assertEqual(tx.zcard(('finished', 'q')), 0)
            self.assertIsNone(tx.timer_next())
            self.assertEqual(tx.smembers(('s',)), [])
            self.assertIsNone(tx.get(('k',)))
        with self.store.transaction() as tx:                # the store is still usable
            tx.set(('k',), 2)
        with self.store.transaction() as tx:
            self.assertEqual(tx.get(('k',)), 2)

    def test_two_store_objects_on_one_file_see_each_others_writes(self):
        other = _open(self, self.path)
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.queue_push('q', 'job-1')
            tx.zadd(('finished', 'q'), 'job-0', 5)
            tx.timer_add(7, ('expire',), 'job-0')
            tx.sadd(('s',), 'm')
            tx.set(('k',), {'v': 1})
        with other.transaction() as tx:
            self.assertEqual(list(tx.job_get('job-1')), RECORD)
            self.assertEqual(tx.queue_pop('q'), 'job-1')
            self.assertEqual(tx.zmembers(('finished', 'q')), ['job-0'])
            self.assertEqual(tx.timer_next(), 7)
            self.assertEqual(tx.smembers(('s',)), ['m'])
            self.assertEqual(tx.get(('k',)), {'v': 1})
            tx.job_delete('job-1')
        with self.store.transaction() as tx:
            self.assertEqual((tx.queue_len('q'), tx.queue_names()), (0, ['q']))
            self.assertIsNone(tx.job_get('job-1'))

    def test_a_write_through_another_store_object_wakes_a_waiter_by_polling(self):
        other = _open(self, self.path)
        for name, wait_call, action in (
            ('wait', lambda tx, entered: tx.wait(
                lambda: entered.set() or tx.get(('k',)) == 1, WAIT), lambda tx: tx.set(('k',), 1)),
            ('wait with key', lambda tx, entered: tx.wait(
                lambda: entered.set() or tx.get(('k',)) == 2, WAIT, key='job-1'),
             lambda tx: tx.set(('k',), 2)),
            ('wait_for_work', lambda tx, entered: tx.wait_for_work(
                lambda: entered.set() or tx.queue_len('q') > 0, WAIT),
             lambda tx: tx.queue_push('q', 'job-1')),
        ):
            with self.subTest(name):
                entered, result = threading.Event(), []

                def run():
                    with self.store.transaction() as tx:
                        result.append(wait_call(tx, entered))
                thread = threading.Thread(target=run, daemon=True)
                thread.start()
                self.assertTrue(entered.wait(WAIT))
                began = time.monotonic()
                with other.transaction() as tx:     # must not block: the waiter polls outside
                    action(tx)                      # its database transaction
                thread.join(WAIT)
                self.assertFalse(thread.is_alive(), 'the waiter never noticed the write')
                self.assertEqual(result, [True])
                self.assertLess(time.monotonic() - began, 2)

    def test_data_survives_closing_and_reopening(self):
        with self.store.transaction() as tx:
            tx.job_put('job-1', RECORD)
            tx.job_expire('job-1', 4e9)
            tx.queue_push('q', 'job-1')
            tx.queue_push('q', 'job-0', at_front=True)
            tx.zadd(('failed', 'q'), 'job-2', math.inf)
            tx.timer_add(9, ('scheduled', 'q'), 'job-3')
            tx.sadd(('dependents', 'job-1'), 'job-4')
            tx.set(('results', 'job-1'), ((1, b'x', None, 2.0, 'w'),))
        self.store.close()
        reopened = _open(self, self.path)
        with reopened.transaction() as tx:
            self.assertEqual(list(tx.job_get('job-1')), RECORD)
            self.assertEqual(tx.queue_ids('q'), ['job-0', 'job-1'])
            self.assertEqual(tx.queue_names(), ['q'])
            self.assertEqual(tx.zscore(('failed', 'q'), 'job-2'), math.inf)
            self.assertEqual(list(tx.timers_due(9)), [(('scheduled', 'q'), 'job-3', 9)])
            self.assertEqual(tx.smembers(('dependents', 'job-1')), ['job-4'])
            self.assertEqual(tx.get(('results', 'job-1')), ((1, b'x', None, 2.0, 'w'),))

    def test_job_functions_are_stored_by_import_path(self):
        queue = Queue('q', connection=self.store)
        for func, path in ((importable_job, f'{__name__}.importable_job'), (len, 'builtins.len')):
            job = queue.create_job(func)
            self.store.portable(job)                # what enqueue does before its transaction
            self.assertEqual(job.func_name, path)
            self.assertIs(job.func, func)

    def test_functions_that_cannot_be_imported_are_refused_before_any_write(self):
        def nested():
            return 1
        main_function = type(nested)(nested.__code__, {'__name__': '__main__'}, 'in_main')
        main_function.__qualname__ = 'in_main'
        queue = Queue('q', connection=self.store)
        for func in (lambda: 1, nested, main_function):
            with self.subTest(func=func):
                with self.assertRaises(ValueError) as cm:
                    queue.enqueue(func)
                self.assertIn('cannot store job function', str(cm.exception))
        self.assertEqual(queue.count, 0)


if __name__ == '__main__':
    unittest.main()
