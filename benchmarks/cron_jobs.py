"""Job functions for the cron benchmarks (importable by the scheduler processes)."""


def noop(label=None):
    return label
