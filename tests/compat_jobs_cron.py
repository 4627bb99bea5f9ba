"""Job functions for the cron scenarios (importable by real RQ's workers)."""


def tick(label='tick'):
    return label


def tock(*args, **kwargs):
    return [list(args), kwargs]
