# graphene's Python side of the sandbox, embedded in the graphene binary.
#
# The zygote imports this once (warm) and calls install_hooks(); every
# execution then runs in a process forked from it. The C++ runner calls
# load_target(), call_target() and thread_records(); process and OS-thread
# snapshots and the diff are done in C++.
#
# The hooks record *where* concurrent work was started (the first frame of
# the target's own code, not of threading/multiprocessing) and, for processes,
# append one line per child to an inherited O_APPEND file so that even
# grandchildren forked by children are attributed.

import _thread
import asyncio
import concurrent.futures.thread as _cf_thread
import importlib
import importlib.util
import inspect
import multiprocessing
import multiprocessing.pool
import multiprocessing.process
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import traceback
import weakref

_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep
_THIS_FILE = __file__ if "__file__" in globals() else "<graphene>"
_registry_fd = -1          # O_APPEND fd shared by every forked descendant
_raw_threads = {}           # native id -> origin, for _thread.start_new_thread
_loops = weakref.WeakSet()  # every asyncio event loop created in this process
_root = os.getcwd()


def _is_library_frame(frame):
    filename = frame.f_code.co_filename
    if filename == _THIS_FILE or filename.startswith("<frozen"):
        return True
    return os.path.realpath(filename).startswith(_STDLIB)


def _relative(filename):
    try:
        rel = os.path.relpath(filename, _root)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def origin(frame):
    """(file:line, function) of the innermost non-library frame at or above `frame`."""
    first = frame
    while frame is not None and _is_library_frame(frame):
        frame = frame.f_back
    frame = frame or first
    if frame is None:
        return "", ""
    return f"{_relative(frame.f_code.co_filename)}:{frame.f_lineno}", frame.f_code.co_name


def _register_process(pid, kind, name, daemon=False):
    """Appends "pid kind name daemon file:line function" (tab-separated) to the registry."""
    if _registry_fd < 0 or not pid:
        return
    started_at, started_in = origin(sys._getframe(2))
    fields = [str(pid), kind, name.replace("\t", " "), "1" if daemon else "0", started_at, started_in]
    line = "\t".join(fields)
    try:
        os.write(_registry_fd, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _hook_threads():
    original_start = threading.Thread.start

    def start(self):
        self._graphene_origin = origin(sys._getframe(1))
        return original_start(self)

    threading.Thread.start = start

    # Threads started with the low-level API are invisible to
    # threading.enumerate(); remember their origin by native id. threading
    # keeps its own reference to the original, so Thread.start is unaffected.
    original_new_thread = _thread.start_new_thread

    def start_new_thread(function, args, kwargs={}):
        where = origin(sys._getframe(1))
        name = getattr(function, "__qualname__", repr(function))

        def bootstrap(*a, **kw):
            _raw_threads[_thread.get_native_id()] = (where, name)
            return function(*a, **kw)

        return original_new_thread(bootstrap, args, kwargs)

    _thread.start_new_thread = start_new_thread
    _thread.start_new = start_new_thread


def _hook_processes():
    original_process_start = multiprocessing.process.BaseProcess.start

    def process_start(self):
        # start() deletes _target, so look before.
        pool_worker = getattr(self, "_target", None) is multiprocessing.pool.worker
        result = original_process_start(self)
        _register_process(self.pid, "pool_worker" if pool_worker else "process", self.name,
                          bool(self.daemon))
        return result

    multiprocessing.process.BaseProcess.start = process_start

    original_popen_init = subprocess.Popen.__init__

    def popen_init(self, *args, **kwargs):
        original_popen_init(self, *args, **kwargs)
        command = args[0] if args else kwargs.get("args", "")
        if not isinstance(command, (str, bytes)):
            command = " ".join(str(part) for part in command)
        _register_process(self.pid, "process", str(command)[:200])

    subprocess.Popen.__init__ = popen_init

    original_fork = os.fork

    def fork():
        pid = original_fork()
        if pid > 0:
            _register_process(pid, "process", "os.fork")
        return pid

    os.fork = fork

    for spawn_name in ("posix_spawn", "posix_spawnp"):
        original_spawn = getattr(os, spawn_name, None)
        if original_spawn is None:
            continue

        def spawn(path, *args, _original=original_spawn, **kwargs):
            pid = _original(path, *args, **kwargs)
            _register_process(pid, "process", os.fsdecode(path))
            return pid

        setattr(os, spawn_name, spawn)


def _hook_asyncio():
    original_init = asyncio.BaseEventLoop.__init__

    def loop_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        _loops.add(self)

    asyncio.BaseEventLoop.__init__ = loop_init

    original_create_task = asyncio.BaseEventLoop.create_task

    def create_task(self, coro, *args, **kwargs):
        task = original_create_task(self, coro, *args, **kwargs)
        try:
            task._graphene_origin = origin(sys._getframe(1))
        except AttributeError:  # a task factory may return objects without a __dict__
            pass
        return task

    asyncio.BaseEventLoop.create_task = create_task


def install_hooks():
    """Called once in the zygote, before any fork."""
    _hook_threads()
    _hook_processes()
    _hook_asyncio()


def pending_tasks():
    """(id, name, started_at, started_in, running) for every unfinished task on
    an event loop that was not closed: work that will never run to its end."""
    records = []
    for loop in list(_loops):
        if loop.is_closed():
            continue
        for _ in range(3):  # a loop running in another thread may add tasks meanwhile
            try:
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                break
            except RuntimeError:
                tasks = []
        for task in tasks:
            where, function = getattr(task, "_graphene_origin", ("", ""))
            coro = task.get_coro()
            frame = getattr(coro, "cr_frame", None)
            running = getattr(coro, "__qualname__", repr(coro))
            if frame is not None:
                running += f" ({_relative(frame.f_code.co_filename)}:{frame.f_lineno})"
            records.append((id(task), task.get_name(), where, function, running))
    return records


def set_registry_fd(fd):
    global _registry_fd
    _registry_fd = fd




def infrastructure_pids():
    """Helper processes multiprocessing keeps for the life of the interpreter."""
    from multiprocessing import forkserver, resource_tracker
    helpers = [(resource_tracker._resource_tracker, "_pid"),
               (forkserver._forkserver, "_forkserver_pid")]
    return [pid for owner, field in helpers if (pid := getattr(owner, field, None))]


# --- loading targets ----------------------------------------------------------

class TargetError(Exception):
    """A target that cannot be loaded; the message is one line for the user."""


def _one_line(text):
    return " ".join(str(text).split())


def _import_file(path):
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise TargetError(f"no such file: {_relative(path)}")
    directory, filename = os.path.split(path)
    module_name = filename[:-3]
    # Importable by name, so multiprocessing's spawn start method can re-import it.
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return _import_module(module_name, shown=_relative(path))


def _import_module(module_name, shown=None):
    shown = shown or module_name
    try:
        return importlib.import_module(module_name)
    except SyntaxError as e:
        where = f"{_relative(e.filename or shown)}:{e.lineno}" if e.lineno else shown
        raise TargetError(f"syntax error in {where}: {e.msg}") from None
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise TargetError(f"no module named '{module_name}'") from None
        raise TargetError(f"importing {shown} failed: {_one_line(e)}") from None
    except BaseException as e:  # noqa: B036 - import runs arbitrary code
        raise TargetError(f"importing {shown} failed: {type(e).__name__}: {_one_line(e)}") from None


def split_spec(spec):
    """'a/b.py:fn' or 'pkg.mod:fn' -> (module_or_path, function)."""
    module, sep, function = spec.rpartition(":")
    if not sep or not module or not function:
        raise TargetError(f"malformed target '{spec}': expected MODULE:FUNCTION or FILE.py:FUNCTION")
    if not function.isidentifier():
        raise TargetError(f"malformed target '{spec}': '{function}' is not a function name")
    return module, function


def load_target(spec, root):
    """Imports the target's module (from `root`) and returns the function."""
    global _root
    _root = root
    if root not in sys.path:
        sys.path.insert(0, root)
    module_part, function = split_spec(spec)
    if module_part.endswith(".py") or os.sep in module_part:
        module = _import_file(os.path.join(root, module_part))
    else:
        module = _import_module(module_part)
    try:
        target = getattr(module, function)
    except AttributeError:
        raise TargetError(f"{module_part} has no function '{function}'") from None
    if not callable(target):
        raise TargetError(f"{module_part}:{function} is not callable (it is a {type(target).__name__})")
    return target


_EXPECTED = re.compile(r"Expected\s+Behaviou?r\s*:\s*(ESCAPE|SAFE)\b", re.IGNORECASE)
_REASON = re.compile(r"^\s*Reason\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def describe(spec, root):
    """dict(file, line, expected, reason) for a loadable target; raises TargetError."""
    target = load_target(spec, root)
    doc = inspect.getdoc(target) or ""
    expected = _EXPECTED.search(doc)
    reason = _REASON.search(doc)
    code = getattr(inspect.unwrap(target), "__code__", None)
    return {
        "file": _relative(code.co_filename) if code else "",
        "line": code.co_firstlineno if code else 0,
        "expected": expected.group(1).upper() if expected else "",
        "reason": reason.group(1) if reason else "",
    }


def discover(path, root):
    """Target specs of every public function defined in the .py files at `path`."""
    global _root
    _root = root
    full = os.path.join(root, path)
    if os.path.isfile(full):
        files = [full]
    elif os.path.isdir(full):
        files = []
        for directory, subdirs, names in os.walk(full):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
            files += [os.path.join(directory, n) for n in sorted(names) if n.endswith(".py")]
    else:
        raise TargetError(f"no such file or folder: {path}")
    specs = []
    for file in files:
        if os.path.basename(file).startswith("_"):
            continue
        module = _import_file(file)
        for name, value in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(value)
                    and value.__module__ == module.__name__):
                specs.append((f"{_relative(file)}:{name}", value.__code__.co_firstlineno))
    return [spec for spec, _ in sorted(specs, key=lambda s: (s[0].rpartition(":")[0], s[1]))]


# --- running them -------------------------------------------------------------

class _Timeout(BaseException):
    """Raised in the target by the supervisor's timeout signal."""


_calling = False


def _on_timeout(signum, frame):
    if _calling:
        raise _Timeout()


def call_target(target, data, timeout_signal):
    """Calls target(data) on this (main) thread: (status, error text). The
    supervisor sends `timeout_signal` when the call runs too long."""
    global _calling
    signal.signal(timeout_signal, _on_timeout)
    try:
        _calling = True
        try:
            target(data)
        finally:
            _calling = False
        return "ok", ""
    except _Timeout:
        return "timeout", ""
    except SystemExit as e:
        return "exception", f"SystemExit: {e.code!r}"
    except BaseException as e:  # noqa: B036 - the target's failure is a result
        # Start at the target's frame: ours would only be noise.
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next, limit=-8))
        return "exception", text[-4000:]
    finally:
        _calling = False
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: B036 - a target may have replaced them
                pass


def _stack_summary(frame, depth=3):
    parts = []
    while frame is not None and len(parts) < depth:
        parts.append(f"{frame.f_code.co_name} ({_relative(frame.f_code.co_filename)}:{frame.f_lineno})")
        frame = frame.f_back
    return " < ".join(parts)


def _thread_kind(thread):
    if isinstance(thread, threading.Timer):
        return "timer"
    target = getattr(thread, "_target", None)
    if target is _cf_thread._worker:
        return "executor_worker"
    if target is multiprocessing.pool.worker:
        return "pool_worker"
    return "thread"


def thread_records():
    """One tuple per live thread other than the main one:
    (native_id, name, daemon, kind, started_at, started_in, running)."""
    frames = sys._current_frames()
    main = threading.main_thread()
    records = []
    seen = set()
    for thread in threading.enumerate():
        if thread is main or thread.native_id is None:
            continue
        where, function = getattr(thread, "_graphene_origin", ("", ""))
        frame = frames.get(thread.ident)
        running = _stack_summary(frame) if frame is not None else ""
        seen.add(thread.native_id)
        records.append((thread.native_id, thread.name, bool(thread.daemon), _thread_kind(thread),
                        where, function, running))
    for native_id, ((where, function), name) in list(_raw_threads.items()):
        if native_id not in seen:
            records.append((native_id, name, True, "thread", where, function, ""))
    return records
