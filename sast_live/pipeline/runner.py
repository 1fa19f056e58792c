"""Threads around the synchronous pipeline (mne-lsl style): a reader that drains the source into a queue so the
source is never blocked, and a worker that loops :meth:`Runner.step` and publishes the latest snapshot.

    runner = Runner(source, pipeline).start()
    snap = runner.latest()          # any thread, any time: an immutable Snapshot (or None before the first)
    runner.call(fn, then)           # any thread: fn(pipeline) runs on the worker before its next chunk
    runner.stop(flush=True)         # flush: the worker reports the window under way before it ends

Errors in either thread are stored (``runner.error``), shown in the snapshot, and re-raised by
:meth:`Runner.raise_error` (tests). ``on_window`` is called on the worker thread with each WindowResult. The
pipeline is only ever touched by the worker thread (or, once the worker has ended, by one caller at a time).
"""

from __future__ import annotations

import queue
import threading
import time

from sast_live.errors import SastLiveError
from sast_live.events import concat

_END = object()
BACKLOG = 64  # chunks a non-realtime source may run ahead of the worker (a file may wait; a camera never)
PUBLISH_S = 1 / 60  # snapshots at most this often: twice the window's refresh, not one per 5-ms slice
MERGE = 8  # queued chunks of a source that waits for us (a file at max speed) processed as one


def _groups(chunks: list, size: int) -> list[list]:
    """Queued ``(chunk, watermark, arrival, jumped)`` items in runs of at most ``size``, a run starting at every
    chunk that follows a seek (``jumped``)."""
    groups: list[list] = []
    for item in chunks:
        if not groups or len(groups[-1]) == size or item[3]:
            groups.append([])
        groups[-1].append(item)
    return groups


class Runner:
    def __init__(self, source, pipeline, on_window=None, poll_s: float = 0.01):
        self.source, self.pipeline, self.on_window, self.poll_s = source, pipeline, on_window, poll_s
        self.tap = None  # called with every chunk on the reader thread (a Recorder's write)
        self.queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._latest = None
        self._published_stats: dict | None = None
        self._published_at, self._dirty = 0.0, False
        self._stop = threading.Event()
        self._flush = False  # stop(flush=True): report the window under way before the worker ends
        self._calls: list | None = []  # (fn, then) for the worker; None once the worker has ended
        self._calls_lock = threading.Lock()
        self._inline_lock = threading.Lock()
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._threads: list[threading.Thread] = []

    # -- threads ------------------------------------------------------------------------------------------
    def start(self) -> Runner:
        self.source.open()
        for target, name in ((self._read, "sast-source"), (self._work, "sast-pipeline")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _read(self) -> None:
        seeks = getattr(self.source, "seeks", 0)
        try:
            for chunk in self.source:
                now = getattr(self.source, "seeks", 0)
                jumped, seeks = now != seeks, now  # jumped: the first chunk from where a seek went
                tap = self.tap
                if tap is not None:
                    tap(chunk)
                while not self.source.realtime and self.queue.qsize() > BACKLOG and not self._stop.is_set():
                    time.sleep(0.001)
                self.queue.put((chunk, self.source.clock_us(), time.monotonic(), jumped))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - stored and shown, never lost
            self.error = exc
        finally:
            self.queue.put(_END)

    def step(self, timeout: float | None = None) -> bool:
        """Process everything queued (waiting up to ``timeout`` for the first item); False at the stream's end."""
        items = []
        try:
            items.append(self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait())
            while True:
                items.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        ran = self._run_calls()
        chunks = [item for item in items if item is not _END]
        ended = len(chunks) < len(items)
        windows = self.pipeline.n_windows
        realtime = getattr(self.source, "realtime", True)
        # a source that waits for us (a file at max speed) queues up to BACKLOG 5-ms slices: a few at a time are one
        # call, the same events in the same bins (binning and filters carry their state across chunks) with an
        # eighth of the per-chunk Python, which holds the GIL the window's painting waits for
        for group in _groups(chunks, 1 if realtime else MERGE):
            if self._stop.is_set():  # stopping: what is still queued is not worked through
                break
            if group[0][3]:  # a seek: nothing before it may shape what is said after it
                self.pipeline.restart()
            chunk = group[0][0] if len(group) == 1 else concat(c for c, _, _, _ in group)
            _, watermark, arrival, _ = group[-1]
            self.pipeline.realtime = realtime
            # drops are judged against where the source is now, not where it was when the chunk was queued
            for win in self.pipeline.process(chunk, watermark, arrival, live_edge=self.source.clock_us()):
                self._emit(win)
        if ended:
            for win in self.pipeline.finish():
                self._emit(win)
        stats = self.source.stats.as_dict()
        # a paused or silent source changes nothing: no new snapshot, so the window does not redraw an old one
        self._dirty = self._dirty or bool(items) or ran or stats != self._published_stats or self._latest is None
        # at most PUBLISH_S apart (a snapshot is Python work under the GIL the window's painting waits for), except
        # for what must be seen at once: a change asked for, a new window, the end
        now = time.monotonic()
        due = ran or ended or self._latest is None or self.pipeline.n_windows != windows or \
            now - self._published_at >= PUBLISH_S
        if self._dirty and due:
            self._publish(finished=ended, stats=stats)
            self._dirty, self._published_at = False, now
        return not ended

    def _emit(self, win) -> None:
        if self.on_window is not None:
            self.on_window(win)

    def _work(self) -> None:
        try:
            ended = False
            while not self._stop.is_set():
                if not self.step(timeout=self.poll_s):
                    ended = True
                    break
            if not ended and self._flush:  # stopped early: the window under way is still reported
                for win in self.pipeline.finish():
                    self._emit(win)
                self._publish(finished=True)
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
            self._publish(finished=True)
        finally:
            with self._calls_lock:
                calls, self._calls = self._calls, None
            self._run_calls(calls)
            self.finished.set()

    # -- changes to the pipeline, from any thread ---------------------------------------------------------------
    def call(self, fn, then=None) -> None:
        """Run ``fn(pipeline)`` on the worker thread before it takes its next chunk, then ``then(error)`` with
        None or the message of the :class:`SastLiveError` ``fn`` raised. Once the worker has ended, both run on
        the calling thread (nothing else uses the pipeline then)."""
        with self._calls_lock:
            if self._calls is not None:
                self._calls.append((fn, then))
                return
        with self._inline_lock:  # two late callers still take turns with the pipeline
            self._run_calls([(fn, then)])

    def _run_calls(self, calls: list | None = None) -> bool:
        """Run the queued changes (or ``calls``); True if there were any."""
        if calls is None:
            with self._calls_lock:
                if not self._calls:
                    return False
                calls, self._calls = self._calls, []
        for fn, then in calls:
            try:
                fn(self.pipeline)
                err = None
            except SastLiveError as exc:
                err = str(exc)
            if then is not None:
                then(err)
        return True

    def _publish(self, finished: bool = False, stats: dict | None = None) -> None:
        err = None if self.error is None else f"{type(self.error).__name__}: {self.error}"
        self._published_stats = self.source.stats.as_dict() if stats is None else stats
        snap = self.pipeline.snapshot(self._published_stats, finished, err)
        with self._lock:
            self._latest = snap

    # -- any thread -----------------------------------------------------------------------------------------
    def latest(self):
        with self._lock:
            return self._latest

    def stop(self, timeout: float = 60.0, flush: bool = False) -> None:
        """End both threads and wait for them (the source is closed; the worker leaves between chunks), so no
        thread is still inside numba or torch code when the interpreter exits; with ``flush`` the worker
        reports the window under way."""
        self._flush = flush
        self._stop.set()
        self.source.close()
        for t in self._threads:
            t.join(timeout)
            if t.is_alive():
                raise SastLiveError(f"the {t.name} thread did not stop within {timeout:g} s")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream ended (or ``timeout``); True if it did."""
        return self.finished.wait(timeout)

    def raise_error(self) -> None:
        if self.error is not None:
            if isinstance(self.error, SastLiveError):
                raise self.error
            raise SastLiveError(f"pipeline failed: {self.error!r}") from self.error
