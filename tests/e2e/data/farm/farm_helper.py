# A helper module the farm targets import: it exists only in the bundle the
# coordinator ships, never on the agents' own filesystem.
import time


def _linger():
    time.sleep(3.0)


def _describe(text):
    return f"{len(text)} characters"
