"""Untrusted documents are parsed in worker processes, each call under a budget of CPU time, wall time and memory.

Feeds and pages come from strangers. The native parsers (lxml under trafilatura and fastfeedparser) hold the GIL,
so a thread does not protect the event loop: a 1.7 MB feed with 150,000 attributes on one element kept
fastfeedparser busy for 23 s and froze the bot for all of it. Here a document is parsed in another process; a
document over budget is refused with a :class:`~bot.errors.ParseError` sentence, its worker is replaced, and the
pool keeps serving. The event loop only ever awaits a future.

Use :func:`parse_untrusted` (the process-wide pool, configured once by :func:`configure_workers`), or a
:class:`WorkerPool` of one's own (``async with WorkerPool(budget) as pool: await pool.run(fn, ...)``). For many
small documents, :func:`parse_ahead` parses them in batches ahead of the caller's storing: a round trip costs
about 0.3 ms, more than parsing a small article file.

Design, with the figures that decided it (2-core box; ``benchmarks/hostile.py`` measures them again):

* **Start method.** Workers are forked from a *zygote*: a small single-threaded process started once with
  ``python -c`` that imports the parser modules and then only forks. A worker starts in about 5 ms, so one killed
  for going over budget is replaced at once. The zygote forks as soon as it has the parsers (0.35 s,
  :data:`QUICK_PRELOAD`) and imports the rest (aiohttp and the store; 0.6 s in all) while idle. Forking the bot
  itself is unsafe (it runs threads: aiosqlite, executors, discord.py) and ``spawn`` pays the imports for every
  worker. multiprocessing's forkserver would be the ready-made zygote, but each of its children re-runs the
  parent's main script (for the ``newsbot`` console script that imports the CLI and discord.py, 0.5 s per
  worker), and its exit codes come through private API; the zygote here is ~100 lines of ``os.fork`` and
  ``socket.send_fds``.
* **Transport.** One socket pair per worker, length-prefixed pickles: 60 µs for the sockets alone, 0.15–0.4 ms
  for a whole call from the loop and back on the shared box. The parent's
  side runs in one daemon I/O thread per worker: pickling arguments, waiting, and unpickling results (a
  10,000-entry feed) happen there, not on the loop. Being thread-based, the pool works from any event loop: the
  CLI runs several ``asyncio.run`` calls and the tests one loop per test.
* **CPU**: before each call the worker arms its profiling timer (``ITIMER_PROF``) with the budget. The kernel
  then sends SIGPROF, whose default action ends the process even inside native code that holds the GIL, where no
  Python signal handler could run. ``RLIMIT_CPU`` (whole seconds, SIGXCPU) is set a second later as a backstop.
* **Memory**: before each call ``RLIMIT_AS`` is set to the worker's address space at that moment (about 70 MB
  with lxml, trafilatura and both feed parsers imported, because the worker runs no threads and so has no
  per-thread malloc arenas) plus the budget. An allocation over it fails: Python and fastfeedparser raise
  MemoryError, libxml2 reports "Memory allocation failed", and whichever way it surfaces the document is refused
  and the worker is retired, since a heap that hit its limit is not trusted. A worker whose resident memory stays
  high after a big document is retired too, so idle workers do not hoard memory.
* **Wall**: the I/O thread waits at most the wall budget, then kills the worker.
* **Crashes**: a worker that dies (segfault, the kernel's OOM killer) is a refusal of that document only; the
  zygote, its parent, reports how it died, so the refusal says why.
* **Logs**: what the parsers log in a worker is sent back with the result and re-emitted in the bot's own loggers,
  so the operator sees one log with the bot's format and levels.

Functions given to a pool must be importable by name (module-level), as must their arguments and results.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import gc
import importlib
import itertools
import json
import logging
import math
import os
import pickle
import resource
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, ParamSpec, Self, TypeVar

from bot.errors import NewsError, ParseError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
A = TypeVar("A")

MB: Final = 1024 * 1024

#: What the zygote imports before it forks its first worker: every parser, including those the parsing functions
#: import lazily, so that no call pays for an import inside its budget (0.35 s).
QUICK_PRELOAD: Final = (
    "bot.news.loader",
    "bot.news.text",
    "bot.news.feeds",
    "bot.news.html",
    "fastfeedparser",
    "feedparser",
)
#: Everything the zygote imports, the rest whenever it is idle after its first fork (0.6 s in all): the modules
#: whose functions ``bot.sources.service.run_cpu`` sends to workers. A worker that lacks one imports it while
#: unpickling its call, before the budget is armed; a worker forked before the zygote is done is replaced once
#: it is, so that all long-lived workers share the zygote's pages.
DEFAULT_PRELOAD: Final = (*QUICK_PRELOAD, "bot.sources.service", "bot.sources.poller")

#: Log records one call may send back; a hostile document must not flood the operator's log.
MAX_RECORDS_PER_CALL: Final = 50
#: Seconds to wait for the zygote to fork a worker; the first fork waits for its imports.
START_TIMEOUT: Final = 60.0
#: Seconds to wait for the zygote to report how a dead worker ended.
EXIT_REPORT_TIMEOUT: Final = 5.0

TaskOutcome = Literal["ok", "error", "wall", "cpu", "memory", "crashed", "cancelled"]


@dataclass(frozen=True, slots=True)
class ParseBudget:
    """What one call to a parser may use, and how many run at once."""

    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_mb: int = 512
    """Address space one worker may add to what it had at start-up."""
    workers: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseBudget:
        return cls(
            cpu_seconds=settings.parse_cpu_seconds,
            wall_seconds=settings.parse_wall_seconds,
            memory_mb=settings.parse_memory_mb,
            workers=settings.parse_workers,
        )

    def wall_refusal(self) -> str:
        return f"the document took more than {self.wall_seconds:g} s to parse; refused."

    def cpu_refusal(self) -> str:
        return f"the document needed more than {self.cpu_seconds:g} s of CPU time to parse; refused."

    def memory_refusal(self) -> str:
        return f"the document needed more than {self.memory_mb} MB of memory to parse; refused."


@dataclass(frozen=True, slots=True)
class TaskReport:
    """How one call went: for operators' statistics and the hostile-documents benchmark."""

    function: str
    outcome: TaskOutcome
    seconds: float
    """Wall time from handing the call to a worker until its answer (or its end)."""
    peak_mb: float | None
    """The worker's peak resident memory during the call, when it could be read."""
    pid: int


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, attached as the ``__cause__`` of the one re-raised here."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n(in a parser worker)\n{self.text}"


# --- framing: length-prefixed messages on a stream socket ---------------------------------------------------------

_LENGTH = struct.Struct("!Q")


def _send_message(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(data)))
    sock.sendall(data)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
        received = sock.recv_into(view[done:])
        if received == 0:
            raise EOFError
        done += received
    return buffer


def _recv_message(sock: socket.socket, deadline: float | None = None) -> bytearray:
    (size,) = _LENGTH.unpack(_recv_exact(sock, _LENGTH.size, deadline))
    return _recv_exact(sock, size, deadline)


# --- the worker process -------------------------------------------------------------------------------------------


def _status_kb(field_name: str, pid: int | str = "self") -> int | None:
    """A ``kB`` figure from ``/proc/<pid>/status`` (VmSize, VmRSS, VmHWM), or None where there is no procfs."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _peak_and_resident_kb() -> tuple[int | None, int | None]:
    """VmHWM and VmRSS in one read of ``/proc/self/status`` (this runs after every call)."""
    peak = resident = None
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    resident = int(line.split()[1])
                    break
    except (OSError, ValueError, IndexError):
        pass
    return peak, resident


def _reset_peak() -> None:
    """Start the peak-memory figure (VmHWM) afresh, so it measures one call (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def _limit_memory(memory_mb: int) -> None:
    size_kb = _status_kb("VmSize")
    if size_kb is None:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size_kb * 1024 + memory_mb * MB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _limit_cpu(seconds: float) -> None:
    """End this process once the call has used ``seconds`` of CPU time, even inside native code.

    The profiling timer counts this process's CPU time and its signal, SIGPROF, ends the process by default: no
    Python handler is involved, which could not run while native code holds the GIL. ``RLIMIT_CPU`` (whole
    seconds, its SIGXCPU also fatal) stands behind it in case something in the parser resets the timer.
    """
    signal.setitimer(signal.ITIMER_PROF, seconds)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _is_memory_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is an allocation that failed: the memory budget was reached."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        text = str(seen).lower()
        if "memory allocation failed" in text or "out of memory" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling both ways, else a RuntimeError that keeps its type name and message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


_RECORD_FIELDS: Final = (
    "name",
    "levelno",
    "levelname",
    "pathname",
    "filename",
    "module",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "process",
    "processName",
    "thread",
    "threadName",
)


class _Capture(logging.Handler):
    """Keeps the log records of one call (formatted, so they pickle), to be re-emitted by the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= MAX_RECORDS_PER_CALL:
            self.dropped += 1
            return
        data = {key: getattr(record, key, None) for key in _RECORD_FIELDS}
        data["msg"] = record.getMessage()
        data["args"] = None
        if record.exc_info:
            data["exc_text"] = logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            data["exc_text"] = record.exc_text
        self.records.append(data)

    def take(self) -> list[dict[str, Any]]:
        records, self.records = self.records, []
        if self.dropped:
            records.append(
                {
                    **records[-1],
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": f"{self.dropped} more log records of this document were dropped",
                    "exc_text": None,
                }
            )
            self.dropped = 0
        return records


def _worker_main(sock: socket.socket, memory_mb: int) -> None:
    """The loop of one worker process: receive a call, run it under the budget, send back what came of it."""
    # SIGXCPU and crashes would otherwise leave core files in the bot's working directory.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    base_kb = _status_kb("VmRSS") or 0
    capture = _Capture()
    root = logging.getLogger()
    root.handlers[:] = [capture]
    while True:
        try:
            request = _recv_message(sock)
        except (EOFError, OSError):
            return  # the pool closed this worker, or the bot is gone
        reply: tuple[str, Any, str | None]
        try:
            # Unpickling imports the function's module if this worker lacks it: that is not the document's cost,
            # so the budget is armed only now, and the memory budget counts from the address space at this point.
            fn, args, kwargs, cpu_seconds, level = pickle.loads(request)
            del request
            root.setLevel(level)
            _limit_memory(memory_mb)
            _limit_cpu(cpu_seconds)
            _reset_peak()
            reply = ("ok", fn(*args, **kwargs), None)
            signal.setitimer(signal.ITIMER_PROF, 0)
        except BaseException as exc:  # everything, SystemExit included, is the caller's to see
            signal.setitimer(signal.ITIMER_PROF, 0)
            if _is_memory_error(exc):
                reply = ("memory", None, None)
            else:
                reply = ("raise", _portable(exc), "".join(traceback.format_exception(exc)))
        stats = (*_peak_and_resident_kb(), base_kb)
        try:
            data = pickle.dumps((*reply, stats, capture.take()), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            reply = ("memory", None, None)
            data = pickle.dumps((*reply, stats, []))
        except Exception as exc:
            error = TypeError(f"the parser's result could not be sent back ({type(exc).__name__}: {exc})")
            reply = ("raise", error, None)
            data = pickle.dumps((*reply, stats, []))
        _send_message(sock, data)
        if reply[0] == "memory":
            return  # the pool replaces a worker whose heap hit its limit


# --- the zygote: imports once, then only forks workers and reports how they end -----------------------------------

# Control messages are fixed-size records on a SOCK_SEQPACKET pair (one record per recv, file descriptors beside).
_REQUEST = struct.Struct("!cq")  # parent → zygote: b"F" memory_mb (with the worker's socket) | b"K" pid
# zygote → parent: b"R" pid 0 (ready to fork) | b"L" pid 0 (all modules loaded) | b"P" pid 0 (forked)
# | b"X" pid exit code
_EVENT = struct.Struct("!cqq")

_ZYGOTE_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[2]); "
    "from bot.workers import _zygote_main; _zygote_main(int(sys.argv[1]), sys.argv[3:])"
)


def _preload(name: str) -> None:
    try:
        importlib.import_module(name)
    except Exception:
        traceback.print_exc()  # the worker that needs it will fail with the same error, to its caller


def _zygote_main(control_fd: int, modules: Sequence[str]) -> None:
    """Entry point of the zygote process (see the module docstring); runs until the pool closes its socket.

    ``modules`` are imported before the first fork, then those after a ``"--"`` whenever no request waits.
    """
    control = socket.socket(fileno=control_fd)
    # Ctrl-C reaches the whole process group; shutting the workers down is the bot's job, not the terminal's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    split = modules.index("--") if "--" in modules else len(modules)
    later = list(modules[split + 1 :])
    for name in modules[:split]:
        _preload(name)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    control.send(_EVENT.pack(b"R", os.getpid(), 0))
    if not later:
        control.send(_EVENT.pack(b"L", os.getpid(), 0))
    try:
        while True:
            events = selector.select(timeout=0 if later else 1.0)
            if not events and later:
                _preload(later.pop(0))
                if not later:
                    control.send(_EVENT.pack(b"L", os.getpid(), 0))
            for key, _events in events:
                if key.fileobj is not control:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_r, 4096)
                    continue
                message, fds, _flags, _address = socket.recv_fds(control, _REQUEST.size, 1)
                if not message:
                    return  # the pool is gone
                kind, value = _REQUEST.unpack(message)
                if kind == b"K":
                    if value in children:  # not yet reaped, so the pid is still this worker's
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(value, signal.SIGKILL)
                    continue
                pid = os.fork()
                if pid == 0:
                    try:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        selector.close()
                        os.close(wake_r)
                        os.close(wake_w)
                        control.close()
                        _worker_main(socket.socket(fileno=fds[0]), int(value))
                    except BaseException:
                        traceback.print_exc()
                        os._exit(70)
                    os._exit(0)
                os.close(fds[0])
                children.add(pid)
                control.send(_EVENT.pack(b"P", pid, 0))
            while children:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                children.discard(pid)
                control.send(_EVENT.pack(b"X", pid, os.waitstatus_to_exitcode(status)))
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class _Zygote:
    """The parent's handle on a zygote process: fork requests, kill requests, and the exits it reports."""

    def __init__(self, preload: Sequence[str], quick: Sequence[str] = ()) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        modules = [*quick, "--", *(name for name in preload if name not in quick)]
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _ZYGOTE_BOOT, str(theirs.fileno()), json.dumps(sys.path), *modules],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.control = ours
        self.dead = False
        self.ready = False
        self.loaded = False
        self._send_lock = threading.Lock()
        self._fork_lock = threading.Lock()
        self._changed = threading.Condition()
        self._forked: collections.deque[int] = collections.deque()
        self._exits: collections.OrderedDict[int, int] = collections.OrderedDict()
        threading.Thread(target=self._read_events, name="newsbot-zygote-events", daemon=True).start()

    def _read_events(self) -> None:
        try:
            while True:
                message = self.control.recv(_EVENT.size)
                if not message:
                    break
                kind, pid, code = _EVENT.unpack(message)
                with self._changed:
                    if kind == b"R":
                        self.ready = True
                    elif kind == b"L":
                        self.loaded = True
                    elif kind == b"P":
                        self._forked.append(pid)
                    elif kind == b"X":
                        self._exits[pid] = code
                        while len(self._exits) > 256:  # exits of retired workers nobody asks about
                            self._exits.popitem(last=False)
                    self._changed.notify_all()
        except OSError:
            pass
        with self._changed:
            self.dead = True
            self._changed.notify_all()

    def wait_loaded(self, timeout: float) -> bool:
        """Wait until every preload module is imported (workers forked now have them all)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.loaded or self.dead, timeout) and not self.dead

    def fork(self, memory_mb: int) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            with self._fork_lock:
                with self._send_lock:
                    socket.send_fds(self.control, [_REQUEST.pack(b"F", memory_mb)], [theirs.fileno()])
                with self._changed:
                    if not self._changed.wait_for(lambda: self._forked or self.dead, START_TIMEOUT) or not self._forked:
                        raise RuntimeError("the parser process could not be started")
                    pid = self._forked.popleft()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return _Worker(pid, ours, self)

    def kill(self, pid: int) -> None:
        if self.dead:
            # Orphaned workers of a dead zygote: no one else can have their pid while we hold their socket open.
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            return
        with contextlib.suppress(OSError), self._send_lock:
            self.control.send(_REQUEST.pack(b"K", pid))

    def exited(self, pid: int) -> bool:
        with self._changed:
            return pid in self._exits

    def wait_exit(self, pid: int, timeout: float) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self.dead, timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)
        self.control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, pid: int, sock: socket.socket, zygote: _Zygote) -> None:
        self.pid = pid
        self.sock = sock
        self.zygote = zygote
        self.closed = False
        self.early = not zygote.loaded
        """Forked before the zygote had imported everything: replaced once it has, so that only the first
        second's calls pay for imports of their own."""

    def usable(self) -> bool:
        if self.early and self.zygote.loaded:
            return False
        return not self.closed and not self.zygote.dead and not self.zygote.exited(self.pid)

    def peak_mb(self) -> float | None:
        peak = _status_kb("VmHWM", self.pid)
        return None if peak is None else peak / 1024

    def kill(self) -> None:
        self.zygote.kill(self.pid)

    def close(self) -> None:
        """Retire: the worker sees the end of its socket and exits."""
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


# --- the pool -----------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: Future[Any] = field(default_factory=Future)
    worker: _Worker | None = None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, worker: _Worker | None) -> bool:
        with self.lock:
            if self.cancelled:
                return False
            self.worker = worker
            return True

    def cancel(self) -> None:
        """The caller stopped waiting: kill the worker if it is still at this job (a cancelled poll, a shutdown)."""
        with self.lock:
            self.cancelled = True
            worker = self.worker
        if worker is not None:
            worker.kill()


class _Refused(Exception):
    def __init__(self, outcome: TaskOutcome, message: str, peak_mb: float | None) -> None:
        super().__init__(message)
        self.outcome: TaskOutcome = outcome
        self.message = message
        self.peak_mb = peak_mb


_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


class WorkerPool:
    """Worker processes that run module-level functions on untrusted input under a :class:`ParseBudget`.

    Processes start on first use (or at ``start()``/``async with``); ``close()`` ends them. Any event loop, or
    several one after another, may use one pool.
    """

    def __init__(
        self,
        budget: ParseBudget | None = None,
        *,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        quick_preload: Sequence[str] = QUICK_PRELOAD,
    ) -> None:
        self.budget = budget or ParseBudget()
        self.preload = tuple(preload)
        self.quick_preload = tuple(quick_preload)
        self.reports: collections.deque[TaskReport] = collections.deque(maxlen=1000)
        """The latest calls, newest last."""
        # The event loop takes only ``_jobs_lock``, and only for a moment: nothing slow ever happens under it.
        self._jobs_lock = threading.Lock()
        self._job_ready = threading.Condition(self._jobs_lock)
        self._jobs: collections.deque[_Job | None] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._closed = False
        # Workers: an idle slot holds a worker, or None until one is forked for it.
        self._slots_lock = threading.Lock()
        self._slots: collections.deque[_Worker | None] = collections.deque([None] * self.budget.workers)
        self._busy: set[_Worker] = set()
        self._zygote_lock = threading.Lock()
        self._zygote: _Zygote | None = None
        _live_pools.add(self)

    # --- life cycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the zygote and every worker now, rather than when the first document comes; the workers are forked
        once every preload module is imported (a long-running bot wants them all loaded, not started early)."""
        await asyncio.to_thread(self._start_all)

    def _start_all(self) -> None:
        with self._slots_lock:
            empty = [i for i, slot in enumerate(self._slots) if slot is None]
        started = [self._fork(loaded=True) for _ in empty]
        with self._slots_lock:
            for worker in started:
                try:
                    self._slots[self._slots.index(None)] = worker
                except ValueError:  # every slot got a worker meanwhile
                    worker.close()

    def prewarm(self) -> None:
        """Launch the zygote now, without waiting: its imports (0.6 s) then overlap the caller's own start-up
        instead of delaying the first document. Takes a few milliseconds; safe to call from the event loop."""
        with self._zygote_lock:
            if not self._closed and (self._zygote is None or self._zygote.dead):
                self._zygote = _Zygote(self.preload, self.quick_preload)

    async def close(self) -> None:
        """Stop every worker (a call still running is ended and refused) and the zygote."""
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """``close`` for synchronous callers (exit handlers)."""
        with self._jobs_lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.extend([None] * len(self._threads))
            self._job_ready.notify_all()
        with self._slots_lock:
            idle = [w for w in self._slots if w is not None]
            busy = list(self._busy)
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.close()
        with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # --- calls

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a worker under the budget; the event loop only awaits.

        Raises :class:`ParseError` when the call went over budget or its worker died, and whatever ``fn`` raised
        otherwise (an unexpected exception has the worker's traceback as its ``__cause__``).
        """
        job = _Job(fn, args, kwargs)
        self._submit(job)
        try:
            result: T = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.cancel()
            raise
        return result

    def _submit(self, job: _Job) -> None:
        with self._jobs_lock:
            if self._closed:
                raise RuntimeError("the parser pool is closed")
            self._jobs.append(job)
            if len(self._threads) < self.budget.workers:
                thread = threading.Thread(target=self._serve, name="newsbot-parse-io", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._job_ready.notify()

    def _serve(self) -> None:
        """One I/O thread: takes jobs and runs each in a worker process, one at a time."""
        while True:
            with self._jobs_lock:
                self._job_ready.wait_for(lambda: bool(self._jobs))
                job = self._jobs.popleft()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                job.future.set_result(self._call(job))
            except BaseException as exc:
                job.future.set_exception(exc)

    def _fork(self, *, loaded: bool = False) -> _Worker:
        with self._zygote_lock:
            if self._closed:
                raise ParseError("parsing was stopped (the bot is shutting down).")
            zygote = self._zygote
            if zygote is None or zygote.dead:
                if zygote is not None:
                    zygote.close()
                zygote = self._zygote = _Zygote(self.preload, self.quick_preload)
        if loaded:
            zygote.wait_loaded(START_TIMEOUT)
        return zygote.fork(self.budget.memory_mb)

    def _checkout(self) -> _Worker:
        with self._slots_lock:
            if self._closed:
                raise ParseError("parsing was stopped (the bot is shutting down).")
            slot = self._slots.popleft()
        if slot is not None and not slot.usable():
            slot.close()
            slot = None
        try:
            worker = slot if slot is not None else self._fork()
        except BaseException:
            with self._slots_lock:
                self._slots.append(None)
            raise
        with self._slots_lock:
            self._busy.add(worker)
        return worker

    def _checkin(self, worker: _Worker, *, retire: bool = False) -> None:
        with self._slots_lock:
            self._busy.discard(worker)
            keep = not (retire or self._closed or not worker.usable())
            self._slots.append(worker if keep else None)
        if not keep:
            worker.close()

    def _call(self, job: _Job) -> Any:
        budget = self.budget
        name = f"{getattr(job.fn, '__module__', '?')}.{getattr(job.fn, '__qualname__', repr(job.fn))}"
        payload = pickle.dumps(
            (job.fn, job.args, job.kwargs, budget.cpu_seconds, logging.getLogger().getEffectiveLevel()),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        worker = self._checkout()
        try:
            worker.sock.settimeout(None)
            _send_message(worker.sock, payload)
        except OSError:
            # It died while idle (killed from outside): not this document's doing, so it gets a fresh worker.
            self._checkin(worker, retire=True)
            worker = self._checkout()
            try:
                _send_message(worker.sock, payload)
            except OSError:
                self._checkin(worker, retire=True)
                raise
        del payload
        if not job.attach(worker):
            self._checkin(worker, retire=True)
            raise asyncio.CancelledError
        started = time.monotonic()
        try:
            data = self._receive(job, worker, started + budget.wall_seconds)
        except _Refused as refused:
            self._checkin(worker, retire=True)
            outcome: TaskOutcome = "cancelled" if job.cancelled else refused.outcome
            self.reports.append(TaskReport(name, outcome, time.monotonic() - started, refused.peak_mb, worker.pid))
            if outcome != "cancelled":
                log.warning("Parser refused a document in %s: %s", name, refused.message)
            raise ParseError(refused.message) from None
        finally:
            job.attach(None)
        seconds = time.monotonic() - started
        try:
            with _collector_paused(len(data) >= _LARGE_ANSWER):
                status, value, remote_tb, (peak_kb, rss_kb, base_kb), records = pickle.loads(data)
        except Exception as exc:
            self._checkin(worker)
            raise RuntimeError(f"the parser's answer could not be read ({type(exc).__name__}: {exc})") from exc
        del data
        _reemit(records)
        peak_mb = None if peak_kb is None else peak_kb / 1024
        # A worker left holding much more memory than it started with gives it back by being replaced.
        grown = rss_kb is not None and (rss_kb - base_kb) / 1024 > max(64, budget.memory_mb / 4)
        self._checkin(worker, retire=status == "memory" or grown)
        outcome = "ok" if status == "ok" else "memory" if status == "memory" else "error"
        self.reports.append(TaskReport(name, outcome, seconds, peak_mb, worker.pid))
        if status == "ok":
            return value
        if status == "memory":
            log.warning("Parser refused a document in %s: %s", name, budget.memory_refusal())
            raise ParseError(budget.memory_refusal())
        if remote_tb is not None:
            value.__cause__ = RemoteTraceback(remote_tb)
        raise value

    def _receive(self, job: _Job, worker: _Worker, deadline: float) -> bytearray:
        peak: float | None = None
        try:
            # A long call is looked in on twice a second, so that a worker killed for its budget still has a
            # peak memory figure to report.
            ready = select.poll()  # not select.select: a busy bot's descriptors can be numbered above 1024
            ready.register(worker.sock, select.POLLIN)
            while not ready.poll(max(0.0, min(0.5, deadline - time.monotonic())) * 1000):
                if time.monotonic() >= deadline:
                    raise TimeoutError
                peak = worker.peak_mb() or peak
            return _recv_message(worker.sock, deadline)
        except TimeoutError:
            peak = worker.peak_mb() or peak
            worker.kill()
            raise _Refused("wall", self.budget.wall_refusal(), peak) from None
        except (EOFError, OSError):
            if job.cancelled:
                raise _Refused("cancelled", "parsing was stopped before the document was read.", None) from None
            code = worker.zygote.wait_exit(worker.pid, EXIT_REPORT_TIMEOUT)
            outcome, message = _death(code, self.budget)
            raise _Refused(outcome, message, peak) from None


#: Answers at least this large are unpickled with the cyclic garbage collector paused (see _collector_paused).
_LARGE_ANSWER: Final = 256 * 1024
_collector_lock = threading.Lock()
_collector_pausers = 0


@contextlib.contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """Keep the cyclic garbage collector from running while an I/O thread unpickles a large answer.

    Unpickling a 10,000-entry feed allocates some 200,000 objects, enough to set off collections of the older
    generations, which run in C holding the GIL: measured, they kept the event loop waiting 52 ms, against 14 ms
    with the collector paused. Reference counting still frees everything; the collector catches up afterwards,
    in smaller steps.
    """
    global _collector_pausers
    if not pause:
        yield
        return
    with _collector_lock:
        _collector_pausers += 1
        if _collector_pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pausers -= 1
            if _collector_pausers == 0:
                gc.enable()


def _death(code: int | None, budget: ParseBudget) -> tuple[TaskOutcome, str]:
    """What a worker's end (its exit code, negative for a signal) says about the document it was reading."""
    if code in (-signal.SIGPROF, -signal.SIGXCPU):
        return "cpu", budget.cpu_refusal()
    if code == -signal.SIGKILL:
        return "crashed", "the parser was killed while reading this document (out of memory?); refused."
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return "crashed", f"the parser crashed on this document ({name}); refused."
    return "crashed", f"the parser stopped unexpectedly on this document (exit status {code}); refused."


def _reemit(records: list[dict[str, Any]]) -> None:
    """Log what a worker logged, through this process's loggers, handlers and levels."""
    for data in records:
        record = logging.makeLogRecord(data)
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


# --- the process-wide pool ----------------------------------------------------------------------------------------

_default: WorkerPool | None = None
_default_lock = threading.Lock()


def configure_workers(settings: Settings | ParseBudget) -> WorkerPool:
    """Make a pool with these budgets the one :func:`parse_untrusted` uses, and return it.

    Cheap: no process starts until the first document (or ``await pool.start()``). Call it once at start-up; a
    pool it replaces is closed, ending any call still running there. The returned pool is an async context
    manager (``async with configure_workers(settings):``) that starts the workers up front and closes them at the
    end.
    """
    budget = settings if isinstance(settings, ParseBudget) else ParseBudget.from_settings(settings)
    global _default
    with _default_lock:
        old = _default
        if old is not None and not old.closed and old.budget == budget:
            return old
        _default = WorkerPool(budget)
        pool = _default
    if old is not None:
        old.close_now()
    return pool


def default_pool() -> WorkerPool:
    """The pool :func:`parse_untrusted` uses: the configured one, else one with the default budget."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = WorkerPool()
        return _default


async def parse_untrusted(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the module-level function ``fn`` on untrusted input in a worker process under the configured budget.

    A call over budget, or whose worker crashed, raises :class:`ParseError` with a sentence for the user.
    """
    return await default_pool().run(fn, *args, **kwargs)


async def parse_ahead(
    fn: Callable[[A], T],
    items: Iterable[A],
    *,
    ahead: int | None = None,
    batch: int = 1,
    pool: WorkerPool | None = None,
) -> AsyncIterator[tuple[A, asyncio.Future[T]]]:
    """``(item, result)`` for each item in order, where ``result`` is ``fn(item)`` parsed in the pool.

    The workers parse up to ``ahead`` batches (default: twice the pool's workers) in advance, so they parse the
    next documents while the caller stores this one: awaiting ``result`` gives ``fn(item)`` or raises what it
    raised, item by item. ``batch`` items go to a worker in one call, which saves the round trip per document
    (about 0.3 ms, most of the cost of parsing a small article file); a batch that goes over the budget or
    crashes its worker is parsed again one item per call, so that only the document at fault is refused and
    each document still has the whole budget. Results not yet handed out are cancelled if the caller stops early.
    """
    chosen = pool or default_pool()
    window = max(1, ahead if ahead is not None else 2 * chosen.budget.workers)
    size = max(1, batch)
    pending: collections.deque[tuple[list[A], asyncio.Future[list[asyncio.Future[T]]]]] = collections.deque()
    source = iter(items)
    try:
        while True:
            while len(pending) < window:
                group = list(itertools.islice(source, size))
                if not group:
                    break
                pending.append((group, asyncio.ensure_future(_parse_group(chosen, fn, group))))
            if not pending:
                return
            group, results = pending.popleft()
            futures = await results
            for item, future in zip(group, futures, strict=True):
                yield item, future
    finally:
        for _group, results in pending:
            results.cancel()


async def _parse_group(pool: WorkerPool, fn: Callable[[A], T], group: list[A]) -> list[asyncio.Future[T]]:
    """One future per item of ``group``, all settled: parsed in one call, or one call each if that was refused."""
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[T]] = [loop.create_future() for _ in group]
    if len(group) > 1:
        try:
            outcomes = await pool.run(_call_each, fn, group)
        except ParseError:
            outcomes = None  # over budget or crashed as a whole: find the document at fault below
        if outcomes is not None:
            for future, (ok, value, remote_tb) in zip(futures, outcomes, strict=True):
                if ok:
                    future.set_result(value)
                else:
                    if remote_tb is not None:
                        value.__cause__ = RemoteTraceback(remote_tb)
                    future.set_exception(value)
            return futures
    for future, item in zip(futures, group, strict=True):
        try:
            future.set_result(await pool.run(fn, item))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            future.set_exception(exc)
    return futures


def _call_each(fn: Callable[[A], T], group: list[A]) -> list[tuple[bool, Any, str | None]]:
    """In a worker: ``fn`` on each item, each one's result or exception (and its traceback, for a bug) kept apart:
    a batch of :func:`parse_ahead`. Running out of memory is the whole call's, like any other budget: the batch is
    then parsed one by one."""
    outcomes: list[tuple[bool, Any, str | None]] = []
    for item in group:
        try:
            outcomes.append((True, fn(item), None))
        except MemoryError:
            raise
        except Exception as exc:
            if _is_memory_error(exc):
                raise
            remote_tb = None if isinstance(exc, NewsError) else "".join(traceback.format_exception(exc))
            outcomes.append((False, _portable(exc), remote_tb))
    return outcomes


_END: Any = object()


async def shutdown_workers() -> None:
    """Close the process-wide pool (a later :func:`parse_untrusted` starts a new one)."""
    global _default
    with _default_lock:
        pool, _default = _default, None
    if pool is not None:
        await pool.close()


@atexit.register
def _close_pools_at_exit() -> None:
    # Workers and zygotes would also end on their own once this process's sockets close, but a worker busy with a
    # hostile document would run on until its CPU budget.
    for pool in list(_live_pools):
        with contextlib.suppress(Exception):
            pool.close_now()


__all__ = [
    "DEFAULT_PRELOAD",
    "QUICK_PRELOAD",
    "ParseBudget",
    "RemoteTraceback",
    "TaskReport",
    "WorkerPool",
    "configure_workers",
    "default_pool",
    "parse_ahead",
    "parse_untrusted",
    "shutdown_workers",
]
