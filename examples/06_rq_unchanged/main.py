"""Code written for RQ runs unchanged once install_as_rq() has run: no Redis server needed."""
import os
import sys

# Lets the example run from a checkout, from the repository root or from its own folder.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
import rq_emulator
rq_emulator.install_as_rq()            # e.g. in a test suite's conftest.py

# ---- everything below is plain RQ 2.x code ----
try:
    from redis import Redis
    connection = Redis()               # never contacted: any connection means the emulator's store
except ImportError:
    connection = None
from rq import Queue, SimpleWorker
from rq.job import Job

from tasks import count_words, shout

q = Queue(connection=connection)
job = q.enqueue(count_words, 'the quick brown fox jumps over the lazy dog')
loud = q.enqueue(shout, 'hello', timeout=30, job_timeout=10)   # timeout= goes to the function
print('queued:', q.count, '- is_finished:', job.is_finished)

SimpleWorker([q], connection=connection).work(burst=True)
print('words:', job.return_value())
print('shout:', loud.return_value(), '- meta:', Job.fetch(loud.id, connection=connection).meta)
print('job timeout:', loud.timeout)

same = Job(job.id, connection=connection)  # RQ's Job(id, connection) names an existing job
print('fetched:', same.get_status().value, same.latest_result().return_value)
q.enqueue(count_words, 'one two')
q.enqueue(count_words, 'three')
print('emptied:', q.empty(), '- left:', q.count)    # RQ's empty() deletes and returns how many
