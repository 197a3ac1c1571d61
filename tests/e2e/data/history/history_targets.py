# Targets for the history commands' end-to-end tests: one escapes always, one
# never, one at random, one only for long inputs, and one only while the file
# named by GRAPHENE_E2E_FLAG exists, so that a change between campaigns can be
# made on purpose. Kept out of fixtures/ so run-all never discovers them.
import os
import random
import threading
import time


def _linger():
    time.sleep(2.0)


def _leak(name):
    threading.Thread(target=_linger, name=name, daemon=True).start()


def always_escapes(input_data):
    _leak("always")


def never_escapes(input_data):
    return len(input_data)


def escapes_at_random(input_data):
    if random.random() < 0.5:
        _leak("random")


def escapes_on_long_inputs(input_data):
    if len(input_data) > 8:
        _leak("long")


def escapes_while_flagged(input_data):
    flag = os.environ.get("GRAPHENE_E2E_FLAG", "")
    if flag and os.path.exists(flag):
        _leak("flagged")
