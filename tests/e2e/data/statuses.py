# Targets that end badly after starting concurrent work: they raise, exit,
# crash or hang. graphene records each with its status and still reports what
# it left running.
import os
import signal
import sys
import threading
import time


def _long_worker():
    time.sleep(30.0)


def _fork_sleeper():
    child = os.fork()
    if child == 0:
        time.sleep(30.0)
        os._exit(0)
    return child


def raises_after_thread(input_data):
    """
    Starts a sleeping thread, then raises.

    Expected Behavior: ESCAPE
    Reason: The thread is never joined; the exception does not stop it
    """
    threading.Thread(target=_long_worker, name="raises-worker").start()
    raise ValueError(f"bad input: {input_data!r}")


def sys_exit_after_thread(input_data):
    """
    Starts a sleeping thread, then calls sys.exit.

    Expected Behavior: ESCAPE
    Reason: The thread is never joined; SystemExit does not stop it
    """
    threading.Thread(target=_long_worker, name="sys-exit-worker").start()
    sys.exit(4)


def os_exit_after_fork(input_data):
    """
    Forks a sleeping child, then ends its own process with os._exit.

    Expected Behavior: ESCAPE
    Reason: The child outlives the process that forked it
    """
    _fork_sleeper()
    os._exit(7)


def killed_by_signal_after_fork(input_data):
    """
    Forks a sleeping child, then kills its own process with SIGKILL.

    Expected Behavior: ESCAPE
    Reason: The child outlives the process that forked it
    """
    _fork_sleeper()
    os.kill(os.getpid(), signal.SIGKILL)


def hangs_after_fork(input_data):
    """
    Forks a sleeping child, then sleeps far longer than any test's --timeout.

    Expected Behavior: ESCAPE
    Reason: The child is still running when the call is stopped
    """
    _fork_sleeper()
    time.sleep(600.0)


def no_expectation(input_data):
    """Returns at once; its docstring states no expected behavior."""
    return f"processed: {len(input_data)}"
