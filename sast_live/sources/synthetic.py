"""The synthetic camera as a live source: a person performing random gestures in front of the DVS pixel model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sast_live.events import SensorSize, iter_time_windows
from sast_live.sources.paced import Pacer
from sast_live.sources.replay import SLICE_US, TimedSource
from sast_live.synthetic import gestures


class SyntheticGestures(TimedSource):
    """Endless synthetic gestures (random classes, 2 s each, 200 ms pauses) at 128×128, paced.

    ``labels`` records ``(class, t_start, t_end)`` of each gesture generated so far.
    """

    name = "synthetic gestures"

    def __init__(self, speed: float | None = 1.0, seed: int = 0, count: int | None = None,
                 pacer: Pacer | None = None):
        super().__init__(SensorSize(*gestures.SENSOR), speed, pacer)
        self.seed, self.count = seed, count
        self.labels: list[tuple[int, int, int]] = []

    def _slices(self) -> Iterator[tuple[int, int, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        t_base, k = 0, 0
        while not self.closed and (self.count is None or k < self.count):
            cls = int(rng.integers(0, 11))
            events = gestures.make_sample(cls, self.seed * 100_003 + k, duration_s=2.0)
            events["t"] += t_base
            end = t_base + 2_200_000
            self.labels.append((cls, t_base, t_base + 2_000_000))
            yield from iter_time_windows([events], SLICE_US, t_start=t_base, t_end=end)
            t_base, k = end, k + 1


class SyntheticPeople(TimedSource):
    """A stand-in person (the gestures-v2 renderer: a filled, shaded upper body) in front of the DVS pixel model,
    performing ``motion`` again and again (a class name or one of :data:`people.EXTRA_MOTIONS`; several,
    comma-separated, are performed in turn, one segment each), or random gestures of the 11 classes when ``motion``
    is None; 2.5-s segments, each drawn afresh (tempo, phase, size),
    rendered one at a time (the DVS state starts afresh with each), paced.

    The person is held-out test subject ``TEST_SUBJECTS[seed % 6]`` under one lighting; ``labels`` records
    ``(motion id, t_start, t_end)`` of each segment generated so far (:func:`segment_labels` turns them into a
    model's class labels).
    """

    name = "synthetic person"
    SEGMENT_S = 2.5
    PER_RENDER = 1  # rendering takes about as long as the motion lasts: a short first wait

    def __init__(self, motion: str | None = None, speed: float | None = 1.0, seed: int = 0,
                 pacer: Pacer | None = None):
        from sast_live.errors import SastLiveError
        from sast_live.synthetic import people

        motions = [m.strip() for m in motion.split(",")] if motion else []
        unknown = [m for m in motions if m not in people.MOTIONS]
        if unknown or (motion is not None and not motions):
            raise SastLiveError(f"unknown motion {(unknown or [motion])[0]!r} for synthetic:people; choose one of "
                                f"{', '.join(people.MOTIONS)} (or several, comma-separated, performed in turn)")
        super().__init__(SensorSize(*people.SENSOR), speed, pacer)
        self.motion, self.seed = motion, seed
        self.motions = motions
        self.labels: list[tuple[int, int, int]] = []
        #: segments after which the stream ends (None: performed again and again until closed); ``record`` of
        #: several motions sets it to one pass through them
        self.segments: int | None = None
        self.completed = False  # whether the stream ended after its ``segments``, every one of them whole
        if motion is not None:
            self.name = f"synthetic person: {motion}"

    def _slices(self) -> Iterator[tuple[int, int, np.ndarray]]:
        from concurrent.futures import ThreadPoolExecutor

        from sast_live.synthetic import people

        rng = np.random.default_rng([self.seed, 4242])
        person = people.subject(people.TEST_SUBJECTS[self.seed % len(people.TEST_SUBJECTS)])
        lighting = people.LIGHTINGS[self.seed % len(people.LIGHTINGS)]

        def ids_of(k: int) -> list[int]:  # drawn in segment order, whichever thread renders
            return [people.MOTIONS[self.motions[(k + j) % len(self.motions)]] if self.motions else
                    int(rng.integers(0, 11)) for j in range(self.PER_RENDER)]

        def render(ids: list[int], k: int):
            return people.make_sequence(person, [(c, self.SEGMENT_S, lighting) for c in ids],
                                        seed=self.seed * 100_003 + k)

        # the next segment renders while this one plays: rendered in turn on the reader thread, the stream stalled
        # for a render (about a second) every 2.5 s and then caught up in a burst, so a 2-s take held in the window
        # got anything from 0.1 to 4 s of the person
        pool = ThreadPoolExecutor(1, thread_name_prefix="synthetic-person")
        try:
            t_base, k = 0, 0
            upcoming = pool.submit(render, ids_of(0), 0)
            while not self.closed and (self.segments is None or k < self.segments):
                events, spans = upcoming.result()
                upcoming = pool.submit(render, ids_of(k + 1), k + 1)
                events["t"] += t_base
                self.labels += [(c, a + t_base, b + t_base) for c, a, b in spans]
                end = t_base + spans[-1][2]
                yield from iter_time_windows([events], SLICE_US, t_start=t_base, t_end=end)
                t_base, k = end, k + 1
            self.completed = self.segments is not None and k >= self.segments
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a render under way finishes on its own; nothing waits


def segment_labels(labels, classes) -> tuple[list[tuple[int, int, int]], list[str]]:
    """A stand-in person's segments ``[(motion id, start, end)]`` as IBM-style labels of a model with ``classes``:
    ``([(class index, start_us, end_us)], motions that are not among the classes)``; "no gesture" segments are
    the unlabelled pauses."""
    from sast_live.synthetic import people

    rows, missing = [], []
    for motion, start, end in labels:
        name = people.MOTION_NAMES[motion]
        if name == people.NO_GESTURE:
            continue
        if name not in classes:
            missing.append(name)
            continue
        rows.append((list(classes).index(name), int(start), int(end)))
    return rows, sorted(set(missing))
