"""The shared test base for the files under tests/.

It lives in test_rq_emulator.py, which must run alone (``python test_rq_emulator.py``, for a
user who copied the module and its tests), and is re-exported here: a fresh MemoryStore on a
ManualClock per test (self.store, self.clock, self.q), quiet logging, temporary SQLite files,
gated jobs, wait_status(), and the switch for the slow tier.
"""
from test_rq_emulator import (   # noqa: F401  (re-exported)
    EVENTS, JOB_TIMEOUT, NOTES, SLOW_TESTS, T0, WAIT, BaseTestCase, gated, note, slow_tier,
)
