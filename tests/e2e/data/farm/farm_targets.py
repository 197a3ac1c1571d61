# Targets for the farm's end-to-end tests: each takes a few milliseconds, so
# a campaign lasts long enough to kill machines in the middle of it. They
# import a sibling module, which must reach the agents in the bundle.
import threading
import time

import farm_helper


def leaks_a_thread(input_data):
    """
    Leaves a sleeping thread behind.

    Expected Behavior: ESCAPE
    Reason: The thread is never joined
    """
    time.sleep(0.01)
    threading.Thread(target=farm_helper._linger, name="farm-leak", daemon=True).start()
    return len(input_data)


def joins_its_thread(input_data):
    """
    Starts a thread and joins it.

    Expected Behavior: SAFE
    Reason: The thread is joined before returning
    """
    worker = threading.Thread(target=time.sleep, args=(0.01,))
    worker.start()
    worker.join()
    return len(input_data)


def leaks_on_long_inputs(input_data):
    """
    Leaves a thread behind only for inputs longer than 8 characters.

    Expected Behavior: ESCAPE
    Reason: Input-dependent: long inputs start a thread that is never joined
    """
    time.sleep(0.01)
    if len(input_data) > 8:
        threading.Thread(target=farm_helper._linger, name="farm-long", daemon=True).start()
    return farm_helper._describe(input_data)
