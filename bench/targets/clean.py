# Clean benchmark targets: nothing they start outlives the call, so graphene
# skips the grace period for them (nothing new is alive at return). Used by
# bench/executions_per_second.sh for the "clean campaign".
import threading


def noop(data):
    """
    Returns its input; the cheapest possible execution.

    Expected Behavior: SAFE
    Reason: Starts nothing
    """
    return data


def _work(box, data):
    box.append(len(data))


def start_and_join_thread(data):
    """
    Starts a thread that does a little work and joins it before returning.

    Expected Behavior: SAFE
    Reason: Thread joined before return
    """
    box = []
    thread = threading.Thread(target=_work, args=(box, data))
    thread.start()
    thread.join()
    return f"processed: {box[0]}"
