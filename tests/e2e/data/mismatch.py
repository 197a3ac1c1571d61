# Targets whose docstrings are wrong on purpose, for the end-to-end tests of
# exit status 1. Kept out of fixtures/ so that run-all never discovers them.
import threading
import time


def _long_worker():
    time.sleep(30.0)


def claims_safe_but_escapes(input_data):
    """
    Starts a sleeping thread and never joins it, yet claims to be safe.

    Expected Behavior: SAFE
    Reason: Wrong on purpose: the thread is never joined
    """
    threading.Thread(target=_long_worker, name="mismatch-thread").start()
    return f"processed: {len(input_data)}"


def claims_escape_but_is_clean(input_data):
    """
    Starts nothing, yet claims to escape.

    Expected Behavior: ESCAPE
    Reason: Wrong on purpose: nothing is started
    """
    return f"processed: {len(input_data)}"
