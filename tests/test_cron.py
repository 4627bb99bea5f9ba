"""Cron: expressions, CronJob, CronScheduler on the store's clock, the registries, RQScheduler."""
import contextlib
import datetime
import io
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

import rq_emulator
from tests.base import slow_tier
from rq_emulator import CronJob, CronScheduler, ManualClock, MemoryStore, Queue, RQScheduler

try:
    import croniter as _croniter
except ImportError:         # the comparison with croniter is skipped without it
    _croniter = None

UTC = datetime.timezone.utc
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLOW = slow_tier        # the suite's one switch for the slow tier


def tick(label='tick'):
    return label


def at(*fields):
    return datetime.datetime(*fields, tzinfo=UTC)


def expected_runs(predicate, start, minutes):
    """Every minute in (start, start + minutes] that the predicate accepts: a plain scan."""
    out = []
    for step in range(1, minutes + 1):
        moment = start + datetime.timedelta(minutes=step)
        if predicate(moment):
            out.append(moment)
    return out


def cron_weekday(moment):
    return moment.isoweekday() % 7          # Sunday 0, as cron


# -- expressions -----------------------------------------------------------------------

EXPRESSIONS = [
    '* * * * *', '*/15 * * * *', '30 10 * * 2', '0 0 29 2 *', '0 0 31 * *', '0 0 1,15 * 1',
    '0 12 * * 0', '0 12 * * 7', '5-1 * * * *', '0 22-2 * * *', '0 0 * * 5-1', '5/15 * * * *',
    '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '0 0 ? * 1', '0 0 1 jan-mar *',
    '0 0 * * MON-FRI/2', '0 0 31 * 1', '0 0 */2 * *', '0 0 1 * */1', '0 0 1-31 * 1',
    '0 9-17/2 * * 1-5', '59 23 31 12 *', '0 0 28-31 2 *', '15,45 */6 1-7 * sun',
    '0 0 29 2 1', '0 0 22-2/2 * *', '0 22-2/2 * * *', '0 0 * * 6-7', '1-5/2,10 1 1 1 *',
    '5-5 * * * *', '0 0 * dec/3 *', '0 0 * * 0-7', '0 0 30 * 5', '*/7 */5 */3 */2 */4',
    '0 0 13 * fri', '0 0 31 1,3 *', '0 0 30 4,6,9,11 *',
]


class CronExpressionTest(unittest.TestCase):

    def next_runs(self, expression, start, count=4):
        parsed = rq_emulator._CronExpression(expression)
        out, epoch = [], start.timestamp()
        for _ in range(count):
            epoch = parsed.next_after(epoch)
            out.append(datetime.datetime.fromtimestamp(epoch, UTC))
        return out

    def test_known_answers(self):
        self.assertEqual(self.next_runs('30 10 * * 2', at(2024, 2, 27, 10, 30), 2),
                         [at(2024, 3, 5, 10, 30), at(2024, 3, 12, 10, 30)])
        self.assertEqual(self.next_runs('0 0 29 2 *', at(2024, 3, 1), 3),
                         [at(2028, 2, 29), at(2032, 2, 29), at(2036, 2, 29)])
        self.assertEqual(self.next_runs('0 0 29 2 *', at(2096, 3, 1), 1), [at(2104, 2, 29)])
        self.assertEqual(self.next_runs('0 0 31 * *', at(2024, 1, 31), 3),
                         [at(2024, 3, 31), at(2024, 5, 31), at(2024, 7, 31)])
        # both day fields restricted: the 13th or a Friday
        self.assertEqual(self.next_runs('0 0 13 * 5', at(2024, 9, 1), 4),
                         [at(2024, 9, 6), at(2024, 9, 13), at(2024, 9, 20), at(2024, 9, 27)])
        # Sunday is 0 and 7; names of days and months; a step over a wrapping range
        self.assertEqual(self.next_runs('0 12 * * 7', at(2024, 3, 1), 1), [at(2024, 3, 3, 12)])
        self.assertEqual(self.next_runs('0 12 * * sun', at(2024, 3, 1), 1), [at(2024, 3, 3, 12)])
        self.assertEqual(self.next_runs('0 0 1 feb,DEC *', at(2024, 3, 1), 2),
                         [at(2024, 12, 1), at(2025, 2, 1)])
        self.assertEqual(self.next_runs('0 22-2/2 * * *', at(2024, 1, 1, 12), 3),
                         [at(2024, 1, 1, 22), at(2024, 1, 2, 0), at(2024, 1, 2, 2)])
        # strictly after: a start on a match gives the next one; seconds are dropped
        self.assertEqual(self.next_runs('* * * * *', at(2024, 1, 1, 0, 0, 59), 1),
                         [at(2024, 1, 1, 0, 1)])
        self.assertEqual(self.next_runs('59 23 31 12 *', at(2024, 12, 31, 23, 59), 1),
                         [at(2025, 12, 31, 23, 59)])

    @unittest.skipIf(_croniter is None, 'croniter is not installed')
    def test_same_answers_as_croniter(self):
        rng = random.Random(20240229)
        starts = [at(2024, 2, 28, 23, 59), at(2024, 2, 29, 23, 59), at(2023, 2, 28, 23, 59),
                  at(2024, 12, 31, 23, 59, 30), at(2024, 4, 30, 12), at(2100, 2, 28)]
        starts += [datetime.datetime.fromtimestamp(rng.uniform(946684800, 4102444800), UTC)
                   for _ in range(4)]
        for expression in EXPRESSIONS:
            parsed = rq_emulator._CronExpression(expression)
            for start in starts:
                reference = _croniter.croniter(expression, start)
                epoch = start.timestamp()
                for _ in range(4):
                    epoch = parsed.next_after(epoch)
                    self.assertEqual(epoch, reference.get_next(float), (expression, start))

    def test_far_matches_are_quick(self):
        parsed = rq_emulator._CronExpression('0 0 29 2 *')
        epoch = at(2097, 3, 1).timestamp()
        import time
        started = time.perf_counter()
        for _ in range(200):
            parsed.next_after(epoch)
        self.assertLess(time.perf_counter() - started, 1.0)   # no minute-by-minute scan

    def test_bad_expressions_name_the_expression_and_say_what_is_expected(self):
        cases = {'* * * *': 'has 4 fields', '61 * * * *': "minute '61' is out of range 0-59",
                 '0 24 * * *': "hour '24' is out of range 0-23",
                 '0 0 0 * *': "day of month '0' is out of range 1-31",
                 '0 0 * 13 *': "month '13' is out of range 1-12",
                 '0 0 * * 8': "day of week '8' is out of range 0-7",
                 '0 0 * * funday': "day of week 'funday' is not a number or a name",
                 '*/0 * * * *': "step '0' is out of range", '-1 * * * *': "minute '' is not",
                 '0 0 30 2 *': 'never matches', '0 0 L * *': "'L' is not a number",
                 '? * * * *': "minute '?' is not a number"}
        for expression, message in cases.items():
            with self.assertRaises(ValueError, msg=expression) as caught:
                rq_emulator._CronExpression(expression)
            self.assertIn(repr(expression), str(caught.exception))
            self.assertIn(message, str(caught.exception))
        with self.assertRaisesRegex(ValueError, 'expected five fields'):
            rq_emulator._CronExpression('61 * * * *')
        with self.assertRaises(TypeError):
            rq_emulator._CronExpression(30)


# -- CronJob and CronScheduler on a ManualClock ------------------------------------------

class CronSchedulerClockTest(unittest.TestCase):

    def setUp(self):
        self.start = at(2024, 2, 26)        # a Monday; the week runs past the leap day
        self.clock = ManualClock(self.start)
        self.store = MemoryStore(clock=self.clock)
        self.scheduler = CronScheduler(connection=self.store, name='test-cron')

    def tearDown(self):
        self.scheduler.stop(timeout=5)

    def runs(self, cron_job):
        queue = Queue(cron_job.queue_name, connection=self.store)
        return sorted(queue.fetch_job(job_id).enqueued_at
                      for job_id in cron_job.get_job_ids(self.store))

    def advance_minutes(self, minutes, step=60):
        for _ in range(minutes * 60 // step):
            self.clock.advance(step)

    def advance_through_due_times(self, scheduler, until):
        """Move the clock to each next due time in turn (exact, and far fewer steps)."""
        while True:
            due = min(job.next_enqueue_time for job in scheduler.get_jobs())
            if due > until:
                break
            self.clock.advance(due - self.clock.now())
        self.clock.advance(until - self.clock.now())

    def test_a_week_of_interval_and_cron_schedules(self):
        schedules = {
            '*/30 9-17 * * 1-5': lambda d: d.minute % 30 == 0 and 9 <= d.hour <= 17
            and d.isoweekday() <= 5,
            '0 0 * * *': lambda d: d.hour == 0 and d.minute == 0,
            '15 */6 * * sun,sat': lambda d: d.minute == 15 and d.hour % 6 == 0
            and cron_weekday(d) in (0, 6),
            '0 12 29 2 *': lambda d: (d.month, d.day, d.hour, d.minute) == (2, 29, 12, 0),
            '0 8 1 * 3': lambda d: d.hour == 8 and d.minute == 0
            and (d.day == 1 or cron_weekday(d) == 3),
        }
        cron_jobs = {expression: self.scheduler.register(tick, 'cron', args=(expression,),
                                                         cron=expression, name=expression)
                     for expression in schedules}
        hourly = self.scheduler.register(tick, 'interval', interval=3600, name='hourly')
        odd = self.scheduler.register(tick, 'interval', interval=420, name='seven-minutes')
        self.scheduler.start(background=True)
        self.assertEqual(self.runs(hourly), [self.start])    # interval jobs run at start
        week = 7 * 24 * 60
        end = self.start + datetime.timedelta(minutes=week)
        self.advance_through_due_times(self.scheduler, end)
        for expression, predicate in schedules.items():
            self.assertEqual(self.runs(cron_jobs[expression]),
                             expected_runs(predicate, self.start, week), expression)
        self.assertEqual(self.runs(hourly),
                         [self.start + datetime.timedelta(hours=h) for h in range(7 * 24 + 1)])
        every_seven = [self.start + datetime.timedelta(minutes=7 * k) for k in range(week // 7 + 1)]
        self.assertEqual(self.runs(odd), every_seven[-1000:])       # the history keeps 1000
        self.assertEqual(cron_jobs['0 12 29 2 *'].next_enqueue_time, at(2028, 2, 29, 12))

    def test_month_ends_and_leap_days(self):
        self.clock = ManualClock(at(2023, 12, 31, 1))
        self.store = MemoryStore(clock=self.clock)
        self.scheduler = CronScheduler(connection=self.store)
        last = self.scheduler.register(tick, 'q', cron='0 0 31 * *', name='31st')
        leap = self.scheduler.register(tick, 'q', cron='30 6 29 2 *', name='leap')
        ends = self.scheduler.register(tick, 'q', cron='0 23 28-31 * *', name='ends')
        first_monday = self.scheduler.register(tick, 'q', cron='0 9 1-7 * mon', name='or')
        self.scheduler.start(background=True)
        self.advance_through_due_times(self.scheduler, at(2025, 1, 1))
        days = [at(2024, 1, 1) + datetime.timedelta(days=n) for n in range(366)]
        self.assertEqual(self.runs(last), [at(2024, m, 31) for m in (1, 3, 5, 7, 8, 10, 12)])
        self.assertEqual(self.runs(leap), [at(2024, 2, 29, 6, 30)])
        self.assertEqual(self.runs(ends), [at(2023, 12, 31, 23)] +
                         [d.replace(hour=23) for d in days if d.day >= 28])
        # both day fields restricted: days 1-7 of each month, or any Monday
        self.assertEqual(self.runs(first_monday),
                         [d.replace(hour=9) for d in days if d.day <= 7 or d.isoweekday() == 1])
        self.assertEqual(leap.next_enqueue_time, at(2028, 2, 29, 6, 30))

    def test_coarse_clock_steps_enqueue_late_runs_at_the_step(self):
        job = self.scheduler.register(tick, 'q', cron='30 6 * * *')
        self.scheduler.start(background=True)
        for _ in range(8):
            self.clock.advance(3 * 3600)            # 03:00, 06:00, 09:00, ...
        self.assertEqual(self.runs(job), [at(2024, 2, 26, 9)])
        self.assertEqual(job.next_enqueue_time, at(2024, 2, 27, 6, 30))

    def test_a_jump_past_several_due_runs_enqueues_each_job_once(self):
        every = self.scheduler.register(tick, 'q', interval=600, name='every')
        five = self.scheduler.register(tick, 'q', cron='*/5 * * * *', name='five')
        self.scheduler.start(background=True)
        self.assertEqual(len(self.runs(every)), 1)
        self.clock.advance(3 * 3600 + 30)
        jumped = self.start + datetime.timedelta(seconds=3 * 3600 + 30)
        self.assertEqual(self.runs(every), [self.start, jumped])
        self.assertEqual(self.runs(five), [jumped])
        self.assertEqual(every.next_enqueue_time, jumped + datetime.timedelta(seconds=600))
        self.assertEqual(five.next_enqueue_time, at(2024, 2, 26, 3, 5))
        self.clock.advance(60)
        self.assertEqual(len(self.runs(every)) + len(self.runs(five)), 3)

    def test_nothing_is_enqueued_before_start_or_after_stop(self):
        job = self.scheduler.register(tick, 'q', interval=60)
        self.clock.advance(600)
        self.assertEqual(self.runs(job), [])
        self.scheduler.start(background=True)
        self.assertEqual(len(self.runs(job)), 1)
        self.assertTrue(self.scheduler.stop(timeout=5))
        self.clock.advance(600)
        self.assertEqual(len(self.runs(job)), 1)
        self.assertEqual(CronScheduler.all(self.store), [])

    def test_enqueue_jobs_by_hand_and_should_run(self):
        job = self.scheduler.register(tick, 'q', args=('x',), interval=100, job_timeout=30,
                                      result_ttl=60, ttl=900, failure_ttl=120, meta={'m': 1})
        self.assertTrue(job.should_run())
        self.assertEqual(self.scheduler.enqueue_jobs(), [job])
        self.assertEqual(self.scheduler.enqueue_jobs(), [])
        self.assertFalse(job.should_run())
        self.clock.advance(100)
        self.assertTrue(job.should_run())
        self.assertEqual(self.scheduler.calculate_sleep_interval(), 0)
        enqueued = Queue('q', connection=self.store).jobs[0]
        self.assertEqual((enqueued.args, enqueued.timeout, enqueued.result_ttl, enqueued.ttl,
                          enqueued.failure_ttl, enqueued.meta),
                         (('x',), 30, 60, 900, 120, {'m': 1}))

    def test_two_started_schedulers_on_one_store_enqueue_each_run_once(self):
        other = CronScheduler(connection=self.store, name='other-cron')
        jobs = [s.register(tick, 'q', interval=300, name='shared') for s in (self.scheduler, other)]
        minutely = [s.register(tick, 'q', cron='* * * * *', name='minutely')
                    for s in (self.scheduler, other)]
        self.scheduler.start(background=True)
        other.start(background=True)
        try:
            self.advance_minutes(60)
        finally:
            other.stop(timeout=5)
        self.assertEqual(self.runs(jobs[0]), [self.start + datetime.timedelta(minutes=5 * k)
                                              for k in range(13)])
        self.assertEqual(self.runs(minutely[0]), expected_runs(lambda d: True, self.start, 60))
        self.assertEqual(jobs[0].next_enqueue_time, jobs[1].next_enqueue_time)

    def test_a_scheduler_restarted_later_runs_interval_jobs_at_once_again(self):
        job = self.scheduler.register(tick, 'q', interval=3600)
        self.scheduler.start(background=True)
        self.scheduler.stop(timeout=5)
        self.clock.advance(60)
        again = CronScheduler(connection=self.store, name='again')
        again_job = again.register(tick, 'q', interval=3600)
        again.start(background=True)
        again.stop(timeout=5)
        self.assertEqual(len(self.runs(job)), 2)        # the stopped one holds no claim
        self.assertEqual(job.get_job_ids(self.store), again_job.get_job_ids(self.store))

    def test_register_validation(self):
        with self.assertRaisesRegex(ValueError, 'Cannot specify both interval and cron'):
            self.scheduler.register(tick, 'q', interval=10, cron='* * * * *')
        with self.assertRaisesRegex(ValueError, 'Must specify either interval or cron'):
            self.scheduler.register(tick, 'q')
        with self.assertRaisesRegex(ValueError, "cron expression '61 1 \\* \\* \\*'"):
            self.scheduler.register(tick, 'q', cron='61 1 * * *')
        with self.assertRaises(ValueError):
            CronJob('q')
        self.assertEqual(self.scheduler.get_jobs(), [])

    def test_to_dict_from_dict_and_scheduler_records(self):
        job = self.scheduler.register(tick, 'q', args=(1,), kwargs={'k': 2}, cron='0 9 * * 1-5',
                                      meta={'a': 1}, name='nine')
        data = job.to_dict()
        self.assertEqual(data['next_enqueue_time'], '2024-02-26T09:00:00.000000Z')
        self.assertEqual((data['args'], data['kwargs'], data['meta']),
                         ('[1]', '{"k": 2}', '{"a": 1}'))
        back = CronJob.from_dict(data)
        self.assertEqual((back.args, back.kwargs, back.name, back.func, back.next_enqueue_time),
                         ((1,), {'k': 2}, 'nine', None, at(2024, 2, 26, 9)))
        with self.assertRaisesRegex(ValueError, 'no function to enqueue'):
            back.enqueue(self.store)
        self.scheduler.start(background=True)
        [saved] = CronScheduler.all(self.store)
        self.assertEqual((saved.name, [j.name for j in saved.get_jobs()]), ('test-cron', ['nine']))
        self.assertEqual(saved.last_heartbeat, self.start)
        self.clock.advance(9 * 3600)
        self.assertEqual(CronScheduler.fetch('test-cron', self.store).get_jobs()[0].to_dict()[
            'latest_enqueue_time'], '2024-02-26T09:00:00.000000Z')
        self.assertEqual(rq_emulator._cron_overview(self.store)[0]['jobs'][0]['next_enqueue_time'],
                         at(2024, 2, 27, 9))

    def test_a_silent_scheduler_leaves_the_registry(self):
        self.scheduler.register_birth()
        self.assertEqual(len(CronScheduler.all(self.store)), 1)
        self.clock.advance(121)
        self.assertEqual(CronScheduler.all(self.store), [])
        with self.assertRaises(rq_emulator.SchedulerNotFound):
            CronScheduler.fetch('test-cron', self.store)

    def test_history_is_newest_first(self):
        job = self.scheduler.register(tick, 'q', interval=1, name='capped')
        ids = []
        for _ in range(3):
            ids.append(job.enqueue(self.store).id)
            self.clock.advance(1)
        self.assertEqual(job.get_job_ids(self.store), ids[::-1])
        self.assertEqual(job.get_job_ids(self.store, 0, 0), ids[-1:])
        self.assertEqual(rq_emulator.cron.get_cron_job_ids('capped', self.store, 1), ids[1::-1])


class CronConfigTest(unittest.TestCase):

    def setUp(self):
        self.store = MemoryStore(clock=ManualClock(at(2024, 1, 1)))
        self.folder = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(self.folder))

    def write(self, name, text):
        path = os.path.join(self.folder, name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path

    def test_load_config_from_an_absolute_file(self):
        path = self.write('cron_config.py', '''
            from rq_emulator import cron
            from tests.test_cron import tick
            cron.register(tick, queue_name='maintenance', interval=1800)
            cron.register(tick, queue_name='email', args=('weekly',), cron='30 10 * * 2')
            cron.register(tick, queue_name='bad', interval=5, cron='* * * * *')
        ''')
        scheduler = CronScheduler(connection=self.store)
        with self.assertLogs('rq_emulator', 'ERROR'):        # the bad one is logged, skipped
            scheduler.load_config_from_file(path)
        self.assertEqual([(j.queue_name, j.interval, j.cron) for j in scheduler.get_jobs()],
                         [('maintenance', 1800, None), ('email', None, '30 10 * * 2')])
        self.assertEqual(scheduler.config_file, path)
        self.assertEqual(rq_emulator.cron.create_cron(self.store).get_jobs(), [])

    def test_load_config_from_a_module_path_and_a_relative_file(self):
        self.write('cron_cfg_mod.py', '''
            from rq_emulator import cron
            cron.register(print, queue_name='q', interval=60)
        ''')
        sys.path.insert(0, self.folder)
        self.addCleanup(sys.path.remove, self.folder)
        self.addCleanup(sys.modules.pop, 'cron_cfg_mod', None)
        first = CronScheduler(connection=self.store)
        first.load_config_from_file('cron_cfg_mod')
        second = CronScheduler(connection=self.store)
        second.load_config_from_file('cron_cfg_mod.py')      # loaded again: registered again
        self.assertEqual([len(first.get_jobs()), len(second.get_jobs())], [1, 1])

    def test_missing_configs_raise(self):
        scheduler = CronScheduler(connection=self.store)
        with self.assertRaises(FileNotFoundError):
            scheduler.load_config_from_file(os.path.join(self.folder, 'missing.py'))
        with self.assertRaises(ImportError):
            scheduler.load_config_from_file('no_such_cron_config_module')

    def test_module_register_then_create_cron(self):
        data = rq_emulator.cron.register(tick, 'q', interval=5, name='five')
        self.assertEqual(data['name'], 'five')
        scheduler = rq_emulator.cron.create_cron(self.store)
        self.assertEqual([j.name for j in scheduler.get_jobs()], ['five'])
        self.assertEqual(rq_emulator.cron.create_cron(self.store).get_jobs(), [])

    def test_connection_given_after_construction(self):
        class LateConnection(CronScheduler):     # django-rq's DjangoCronScheduler does this
            def register(self, func, queue_name, **kwargs):
                self.connection = late_store
                return super().register(func, queue_name, **kwargs)
        late_store = self.store
        scheduler = LateConnection()
        scheduler.register(tick, 'late', interval=60)
        scheduler.enqueue_jobs()
        self.assertEqual(Queue('late', connection=self.store).count, 1)

    def test_redis_keys_name_store_entries(self):
        key = rq_emulator._cron_store_key
        self.assertEqual(key('rq:cron_job:a:b:jobs'), ('zset', ('cron-job-jobs', 'a:b')))
        self.assertEqual(key('rq:cron_schedulers'), ('zset', ('cron-schedulers',)))
        self.assertEqual(key('rq:cron_scheduler:h:1:x'), ('hash', ('cron-scheduler', 'h:1:x')))
        self.assertEqual(key('rq:scheduler-lock:q'), ('lock', ('scheduler-lock', 'q')))
        self.assertIsNone(key('rq:queue:q'))

    def test_rq_front_door_enqueues_rq_jobs(self):
        modules = rq_emulator._rq_modules()
        scheduler = modules['rq.cron'].CronScheduler(connection=self.store)
        scheduler.register(tick, 'q', kwargs={'label': 'x'}, interval=60)
        scheduler.enqueue_jobs()
        [job] = modules['rq'].Queue('q', connection=self.store).jobs
        self.assertIsInstance(job, rq_emulator._RQJob)
        self.assertEqual(job.kwargs, {'label': 'x'})
        self.assertEqual(modules['rq.cron_scheduler_registry'].get_registry_key(),
                         'rq:cron_schedulers')
        self.assertEqual(modules['rq.scheduler'].RQScheduler, RQScheduler)


class CronThreadTest(unittest.TestCase):
    """The real clock: a started scheduler wakes at the due time (no polling, no sleeps here)."""

    def wait_count(self, store, name, count):
        with store.transaction() as tx:
            return tx.wait(lambda: tx.queue_len(name) >= count, 5)

    def test_background_scheduler_enqueues_when_due_and_stops(self):
        store = MemoryStore()
        scheduler = CronScheduler(connection=store, name='bg')
        scheduler.register(tick, 'q', interval=0.05)
        thread = scheduler.start(background=True)
        self.assertEqual(Queue('q', connection=store).count, 1)    # at once, before returning
        self.assertTrue(self.wait_count(store, 'q', 3))
        self.assertTrue(scheduler.stop(timeout=5))
        self.assertFalse(thread.is_alive())
        self.assertEqual(CronScheduler.all(store), [])

    def test_blocking_start_in_a_thread_stopped_from_another(self):
        store = MemoryStore()
        scheduler = CronScheduler(connection=store)
        scheduler.register(tick, 'q', cron='0 0 1 1 *')
        scheduler.register(tick, 'q', interval=3600)
        done = threading.Event()
        thread = threading.Thread(target=lambda: (scheduler.start(), done.set()))
        thread.start()
        self.assertTrue(self.wait_count(store, 'q', 1))
        self.assertTrue(scheduler.stop(timeout=5))
        self.assertTrue(done.wait(5))
        thread.join(5)
        with self.assertRaisesRegex(RuntimeError, 'already running'):
            scheduler.start(background=True)
            scheduler.start(background=True)
        scheduler.stop(timeout=5)

    def test_manual_clock_scheduler_thread_waits_for_advance(self):
        clock = ManualClock(at(2024, 1, 1))
        store = MemoryStore(clock=clock)
        scheduler = CronScheduler(connection=store)
        scheduler.register(tick, 'q', cron='* * * * *')
        scheduler.start(background=True)
        self.assertEqual(Queue('q', connection=store).count, 0)
        clock.advance(60)
        self.assertEqual(Queue('q', connection=store).count, 1)     # inside advance()
        self.assertTrue(scheduler.stop(timeout=5))


class RQSchedulerTest(unittest.TestCase):

    def setUp(self):
        self.clock = ManualClock(at(2024, 1, 1))
        self.store = MemoryStore(clock=self.clock)

    def test_locks_expire_and_are_taken_over(self):
        one = RQScheduler(['a', 'b'], connection=self.store, name='one')
        two = RQScheduler(['b'], connection=self.store, name='two')
        self.assertEqual(RQScheduler.get_locking_key('a'), 'rq:scheduler-lock:a')
        self.assertEqual(one.acquire_locks(), {'a', 'b'})
        self.assertEqual(two.acquire_locks(), set())
        self.clock.advance(62)                      # interval + 60 without a heartbeat
        self.assertEqual(two.acquire_locks(), {'b'})
        one.heartbeat()
        self.assertEqual(one.acquired_locks, {'a'})
        two.release_locks()
        self.assertEqual(one.acquire_locks(), {'a', 'b'})

    def test_queue_scheduler_pid(self):
        queue = Queue('a', connection=self.store)
        self.assertIsNone(queue.scheduler_pid)
        scheduler = RQScheduler([queue], connection=self.store)
        scheduler.acquire_locks()
        self.assertIsNone(queue.scheduler_pid)      # no record until its birth
        scheduler.register_birth()
        self.assertEqual(queue.scheduler_pid, os.getpid())
        scheduler.stop()
        self.assertIsNone(queue.scheduler_pid)

    def test_enqueue_scheduled_jobs_and_status(self):
        now = [at(2024, 1, 1).timestamp()]
        store = MemoryStore(clock=lambda: now[0])   # a clock that wakes nobody when it moves
        queue = Queue('s', connection=store)
        job = queue.enqueue_in(datetime.timedelta(seconds=30), tick)
        scheduler = RQScheduler([queue], connection=store)
        self.assertEqual(scheduler.status, RQScheduler.Status.STOPPED)
        now[0] += 31
        scheduler.enqueue_scheduled_jobs()          # no lock: nothing happens
        self.assertEqual(job.get_status(), 'scheduled')
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        self.assertEqual(job.get_status(), 'queued')
        self.assertEqual(scheduler.status, RQScheduler.Status.STARTED)

    def test_start_runs_work_in_a_thread_until_request_stop(self):
        scheduler = RQScheduler(['a'], connection=self.store, interval=60)
        thread = scheduler.start()
        with self.store.transaction() as tx:
            self.assertTrue(tx.wait(lambda: tx.get(('scheduler', scheduler.name)) is not None, 5))
        self.assertEqual(RQScheduler.fetch(scheduler.name, self.store).pid, os.getpid())
        scheduler.request_stop()
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertEqual(scheduler.status, RQScheduler.Status.STOPPED)
        with self.assertRaises(rq_emulator.SchedulerNotFound):
            RQScheduler.fetch(scheduler.name, self.store)


class CronCliTest(unittest.TestCase):

    def setUp(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(folder))
        self.db = os.path.join(folder, 'jobs.db')
        self.folder = folder

    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = rq_emulator.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_cron_command_reports_a_missing_config(self):
        code, _, err = self.main('cron', os.path.join(self.folder, 'nope.py'), '--db', self.db)
        self.assertEqual(code, 1)
        self.assertIn('Configuration file not found', err)
        code, out, _ = self.main('cron', '--help')
        self.assertEqual(code, 0)
        self.assertIn('--logging-level', out)

    def test_info_shows_cron_schedulers_and_next_runs(self):
        store = rq_emulator.SqliteStore(self.db)
        try:
            scheduler = CronScheduler(connection=store, name='cli-cron')
            scheduler.register(tick, 'q', cron='0 0 1 1 *', name='new-year')
            scheduler.register_birth()
        finally:
            store.close()
        code, out, _ = self.main('info', '--db', self.db)
        self.assertEqual(code, 0)
        self.assertIn('cron scheduler cli-cron: 1 jobs', out)
        self.assertIn('new-year on q: cron 0 0 1 1 *, next ', out)
        code, out, _ = self.main('info', '--db', self.db, '--raw')
        self.assertIn('cron-scheduler cli-cron 1', out)


class CronProcessesTest(unittest.TestCase):

    @SLOW
    def test_two_cron_processes_on_one_sqlite_file_enqueue_each_run_once(self):
        script = os.path.join(ROOT, 'benchmarks', 'cron_two_processes.py')
        done = subprocess.run([sys.executable, script, '--seconds', '4'], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn('every run exactly once', done.stdout)


if __name__ == '__main__':
    unittest.main()
