"""Job functions, written for RQ. Nothing here knows about rq_emulator."""
from rq import get_current_job


def count_words(text):
    """Stands in for RQ's count_words_at_url: there is no network here."""
    return len(text.split())


def shout(text, timeout=None):
    """`timeout` is this function's own argument: RQ passes it through."""
    job = get_current_job()
    job.meta['shouted'] = True
    job.save_meta()
    return f'{text.upper()}! (timeout={timeout})'
