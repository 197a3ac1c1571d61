# A target that tells which bytes it was given: inputs are bytes, and those
# that are not UTF-8 arrive as text with lone surrogates (PEP 383), which
# encode back to the very same bytes.
import threading
import time


def _linger():
    time.sleep(30.0)


def escapes_on_exact_bytes(input_data):
    """
    Leaves a thread running when the input is exactly b"\\xff\\xfe raw".

    Expected Behavior: ESCAPE
    Reason: The thread is never joined
    """
    if input_data.encode("utf-8", "surrogateescape") == b"\xff\xfe raw":
        threading.Thread(target=_linger, name="saw-the-bytes", daemon=True).start()
