# A target that tries hard to outlive graphene: it double-forks a grandchild
# that starts its own session (leaving the target's process group) and ignores
# SIGTERM, then returns while the grandchild sleeps. graphene must still report
# it and leave nothing running.
import os
import shutil
import signal


def _become_stubborn_grandchild():
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Ignored signals stay ignored across exec. The argv[0] names it on its
    # command line so that the test can find it in /proc.
    os.execv(shutil.which("sleep"), ["graphene-e2e-stubborn", "300"])


def fork_stubborn_grandchild(input_data):
    """
    Double-forks a grandchild that calls setsid() and ignores SIGTERM.

    Expected Behavior: ESCAPE
    Reason: The grandchild is re-parented after its parent exits and keeps running
    """
    child = os.fork()
    if child == 0:
        try:
            if os.fork() == 0:
                _become_stubborn_grandchild()
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    return f"processed: {len(input_data)}"
