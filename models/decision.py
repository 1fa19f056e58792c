"""What a model's scores mean to its user: calibrated confidences and "no gesture".

A :class:`Decision` is stored with a model (``decision`` in a checkpoint's JSON and in ``firmware.json``) and
applied by every consumer — the live pipeline, ``replay --json``, the GUI, ``evaluate`` — the same way:

1. confidences are ``softmax(logits / temperature)`` (the temperature is fitted on a validation split, with
   per-class offsets that training folds into the readout bias: :mod:`training.decision.calibration`);
2. the answer is "no gesture" (class ``-1``, :data:`NO_GESTURE`) when the top class is the model's own reject
   class (trained on still scenes, noise and non-gesture motion) or its confidence is below ``min_confidence``
   (chosen on the validation split, never on test data), or a learned ``gate`` on the last layer's activity
   (:class:`NoGestureGate`, fitted on the training people's gesture and no-gesture windows) finds the window
   more like a scene without a gesture than its limit allows;
3. the answer is "unfamiliar scene" (class ``-2``, :data:`UNFAMILIAR`) instead of a gesture when the input is
   unlike the training data: the window's energy ``−T·logsumexp(logits / T)`` (Liu et al., 2020: low for inputs
   like the training data, high for others) is above ``max_energy``, its events per second fall outside
   ``event_rate``, or its last layer's activity is far from every class's (``familiar``, a
   :class:`FeatureCheck`: the Mahalanobis distance of the last layer's spikes per channel, Lee et al., 2018) —
   each fitted on validation data (:mod:`training.decision.calibration`, :mod:`training.decision.familiar`), so
   that a chosen small share of its gesture windows is flagged. "No gesture" wins over "unfamiliar": only a
   gesture claim is replaced, so the app never names a gesture for a scene it does not know;
4. streaming (the live app, ``replay``): a prediction over the last ``window_ms`` (None: the model's window)
   whose hops are weighed ``taper`` (``flat`` or ``linear``, :mod:`sast_live.pipeline.pipeline`) — chosen on
   the validation subjects' recordings (:mod:`training.decision.streaming`); ``--window-ms``/``--taper`` override.

NumPy only: the sensor side (``sast_live``, ``firmware_sim``) reads it without torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from sast_live.errors import SastLiveError

NO_GESTURE = "no_gesture"
NO_CLASS = -1  # the class index reported for "no gesture"
UNFAMILIAR = "unfamiliar_scene"
UNFAMILIAR_CLASS = -2  # the class index reported for "unfamiliar scene"
TAPERS = ("flat", "linear")  # how a streaming window weighs its hops (sast_live.pipeline.windows.hop_weights)


def verdict_name(k: int, classes) -> str:
    """What a decided class index (a class, :data:`NO_CLASS` or :data:`UNFAMILIAR_CLASS`) is called."""
    return NO_GESTURE if k == NO_CLASS else UNFAMILIAR if k == UNFAMILIAR_CLASS else classes[k]


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``−T·logsumexp(logits / T)`` over the last axis (float64): the out-of-distribution score."""
    z = np.asarray(logits, np.float64) / temperature
    m = z.max(-1)
    return -temperature * (m + np.log(np.exp(z - m[..., None]).sum(-1)))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis (float64)."""
    z = np.asarray(logits, np.float64) / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class FeatureCheck:
    """How far a window's last-layer activity is from every class the model knows.

    The features are the last layer's spikes per channel per bin, summed over positions (D,) — the readout's input
    pooled, so a person moved across the view keeps them. Class ``k``'s training windows have mean ``μ_k`` and
    all share one covariance ``Σ`` (Ledoit–Wolf shrunk); ``whiten`` is ``W`` (D, D) with ``WᵀW = Σ⁻¹`` and
    ``means`` (K, D) holds ``W·μ_k``, so the squared Mahalanobis distance to class ``k`` is ``|W·f − W·μ_k|²``.
    A window whose distance to its nearest class is above ``max_distance`` is unfamiliar."""

    whiten: np.ndarray
    means: np.ndarray
    max_distance: float
    fitted_on: str = ""

    def distance(self, channels) -> np.ndarray:
        """Squared Mahalanobis distance to the nearest class of features ``channels`` (…, D) → (…,) float64."""
        z = np.asarray(channels, np.float64) @ self.whiten.T
        return ((z[..., None, :] - self.means) ** 2).sum(-1).min(-1)

    def to_dict(self) -> dict:
        return {"whiten": np.round(self.whiten, 9).tolist(), "means": np.round(self.means, 9).tolist(),
                "max_distance": self.max_distance, "fitted_on": self.fitted_on}

    @staticmethod
    def from_dict(d, n_classes: int, where: str) -> FeatureCheck:
        if not isinstance(d, dict) or set(d) != {"whiten", "means", "max_distance", "fitted_on"}:
            raise SastLiveError(f"{where}: must be an object with whiten, means, max_distance, fitted_on")
        try:
            w, m = np.asarray(d["whiten"], np.float64), np.asarray(d["means"], np.float64)
        except (TypeError, ValueError):
            raise SastLiveError(f"{where}: whiten and means must be arrays of numbers") from None
        lim = d["max_distance"]
        if w.ndim != 2 or w.shape[0] != w.shape[1] or not w.shape[0] or m.shape != (n_classes, w.shape[0]) or \
                not (np.isfinite(w).all() and np.isfinite(m).all()):
            raise SastLiveError(f"{where}: whiten must be finite (D, D) and means ({n_classes}, D); got "
                                f"{w.shape} and {m.shape}")
        if isinstance(lim, bool) or not isinstance(lim, int | float) or not np.isfinite(lim) or lim < 0:
            raise SastLiveError(f"{where}.max_distance: {lim!r} is not a distance")
        return FeatureCheck(w, m, float(lim), str(d["fitted_on"]))


#: what a no-gesture gate reads (:class:`NoGestureGate`): the last layer's spikes per channel per bin, or those
#: followed by its spikes per position per bin (summed over channels), sorted from the busiest position
GATE_FEATURES = ("channels", "channels+cells")


def gate_inputs(channels, cells=None, features: str = "channels") -> np.ndarray:
    """``φ`` of :class:`NoGestureGate`: ``log(1 + channels)`` (…, C), for ``"channels+cells"`` followed by
    ``log(1 + cells)`` (…, P) sorted in descending order — how spread the activity is, not where it is (the
    position itself would make the gate close gestures of people who stand off-centre)."""
    x = np.log1p(np.maximum(np.asarray(channels, np.float64), 0.0))
    if features == "channels":
        return x
    if cells is None:
        raise SastLiveError("this no-gesture gate reads the last layer's spikes per position (cells); none given")
    c = np.log1p(np.maximum(np.asarray(cells, np.float64), 0.0))
    return np.concatenate([x, -np.sort(-c, axis=-1)], axis=-1)


@dataclass(frozen=True, eq=False)
class NoGestureGate:
    """A learned check of whether a window shows a gesture at all, on the last layer's activity.

    ``p = σ(w · φ + b)`` is the probability that the window is no gesture, with ``φ`` (:func:`gate_inputs`) the
    window's ``log(1 + f)`` of its last-layer spikes per channel per bin (C,), the features :class:`FeatureCheck`
    reads, and with ``features == "channels+cells"`` also of its spikes per position per bin (P,), sorted:
    logistic regression of the model's no-gesture class against every gesture, fitted on the feature bank's
    training-people windows (:mod:`training.decision.gate`). Above ``limit`` — set where ``lost`` of the validation
    people's correctly named gesture windows would be closed — a gesture claim becomes "no gesture"."""

    weights: np.ndarray
    bias: float
    limit: float
    lost: float
    fitted_on: str = ""
    features: str = "channels"

    def probability(self, channels, cells=None) -> np.ndarray:
        """``p`` of features ``channels`` (…, C) and ``cells`` (…, P; only read by a ``channels+cells`` gate) →
        (…,) float64."""
        x = gate_inputs(channels, cells, self.features)
        if x.shape[-1] != len(self.weights):
            raise SastLiveError(f"the no-gesture gate has {len(self.weights)} weights for {x.shape[-1]} features "
                                f"({self.features}): it belongs to another network")
        z = x @ self.weights + self.bias
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z), without overflow

    def closes(self, channels, cells=None) -> np.ndarray:
        return self.probability(channels, cells) > self.limit

    def to_dict(self) -> dict:
        d = {"weights": np.round(self.weights, 9).tolist(), "bias": round(float(self.bias), 9),
             "limit": float(self.limit), "lost": float(self.lost), "fitted_on": self.fitted_on}
        if self.features != "channels":  # absent for the first form: files written before the second stay as they were
            d["features"] = self.features
        return d

    @staticmethod
    def from_dict(d, n_channels: int | None, where: str) -> NoGestureGate:
        keys = {"weights", "bias", "limit", "lost", "fitted_on"}
        if not isinstance(d, dict) or not keys <= set(d) or set(d) - keys - {"features"}:
            raise SastLiveError(f"{where}: must be an object with weights, bias, limit, lost, fitted_on (and "
                                "features)")
        form = d.get("features", "channels")
        if form not in GATE_FEATURES:
            raise SastLiveError(f"{where}.features: {form!r} is not one of {', '.join(GATE_FEATURES)}")
        try:
            w = np.asarray(d["weights"], np.float64)
        except (TypeError, ValueError):
            raise SastLiveError(f"{where}.weights: must be an array of numbers") from None
        cells = form != "channels"
        if w.ndim != 1 or not len(w) or not np.isfinite(w).all() or (n_channels is not None and (
                len(w) <= n_channels if cells else len(w) != n_channels)):
            want = f"{n_channels or 'C'}{' + positions' if cells else ''}"
            raise SastLiveError(f"{where}.weights: must be {want} finite numbers, got shape {w.shape}")
        for key, lo, hi in (("bias", -1e6, 1e6), ("limit", 0.0, 1.0), ("lost", 0.0, 1.0)):
            v = d[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                raise SastLiveError(f"{where}.{key}: {v!r} is not a number in [{lo:g}, {hi:g}]")
        return NoGestureGate(w, float(d["bias"]), float(d["limit"]), float(d["lost"]), str(d["fitted_on"]), form)


@dataclass(frozen=True)
class Decision:
    temperature: float = 1.0
    reject_class: int | None = None  # index of the model's "no gesture" output, if it has one
    min_confidence: float = 0.0  # calibrated top-1 probability below which the answer is "no gesture"
    fitted_on: str = ""  # which data chose the two numbers above (for the reports)
    window_ms: int | None = None  # the streaming window the app uses with this model (None: the model's own)
    taper: str = "flat"  # how that window weighs its hops
    max_energy: float | None = None  # above it a gesture claim becomes "unfamiliar scene" (None: never)
    event_rate: tuple[float, float] | None = None  # events/s a familiar window has (None: any)
    familiar: FeatureCheck | None = None  # the last layer's activity a familiar window has (None: not checked)
    gate: NoGestureGate | None = None  # the learned "is this a gesture at all" check (None: not made)

    def unfamiliar(self, logits: np.ndarray, events_per_s=None, channels=None) -> np.ndarray | bool:
        """Whether windows with ``logits`` (…, n_classes), ``events_per_s`` (…,) and last-layer ``channels``
        (…, D: spikes per channel per bin, :class:`FeatureCheck`) are unlike the validation data; a check whose
        input is None is not made."""
        out = np.zeros(np.shape(logits)[:-1], bool)
        if self.max_energy is not None:
            out |= energy(logits, self.temperature) > self.max_energy
        if self.event_rate is not None and events_per_s is not None:
            rate = np.asarray(events_per_s, np.float64)
            out |= (rate < self.event_rate[0]) | (rate > self.event_rate[1])
        if self.familiar is not None and channels is not None:
            out |= self.familiar.distance(channels) > self.familiar.max_distance
        return out if out.ndim else bool(out)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits, self.temperature)

    def judge(self, probs: np.ndarray) -> int:
        """The class calibrated probabilities ``probs`` (n_classes,) name, or NO_CLASS."""
        k = int(np.argmax(probs))
        return NO_CLASS if k == self.reject_class or probs[k] < self.min_confidence else k

    def decide(self, logits: np.ndarray, events_per_s: float | None = None,
               channels=None, cells=None) -> tuple[int, float, np.ndarray]:
        """``(answer, calibrated top-1 probability, probabilities)`` of one readout (n_classes,) over a window with
        ``events_per_s`` and last-layer ``channels`` (C,) and ``cells`` (P,) per bin (None: the checks that read
        them are not made); the answer is a class, NO_CLASS or UNFAMILIAR_CLASS."""
        p = self.probabilities(logits)
        k = self.judge(p)
        if k >= 0 and self.gate_reads(channels, cells) and bool(self.gate.closes(channels, cells)):
            k = NO_CLASS
        if k >= 0 and self.unfamiliar(logits, events_per_s, channels):
            k = UNFAMILIAR_CLASS
        return k, float(p.max()), p

    def decide_many(self, logits: np.ndarray, events_per_s=None, channels=None,
                    cells=None) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`decide` for logits (N, n_classes), ``events_per_s`` (N,), ``channels`` (N, C) and
        ``cells`` (N, P): ``(classes (N,), top-1 probabilities (N,))``."""
        p = self.probabilities(logits)
        k = p.argmax(1)
        conf = p.max(1)
        rejected = (conf < self.min_confidence) | ((k == self.reject_class) if self.reject_class is not None else False)
        if self.gate_reads(channels, cells):
            rejected = rejected | self.gate.closes(channels, cells)
        k = np.where(rejected, NO_CLASS, k)
        return np.where((k >= 0) & self.unfamiliar(logits, events_per_s, channels), UNFAMILIAR_CLASS, k), conf

    def gate_reads(self, channels, cells) -> bool:
        """Whether the gate is to be read: there is one and ``channels`` are given (a caller without the features
        makes no check); ``cells`` missing for a gate that reads them is an error, never a silently skipped check."""
        if self.gate is None or channels is None:
            return False
        if cells is None and self.gate.features != "channels":
            raise SastLiveError("the no-gesture gate reads the last layer's spikes per position (cells); none given")
        return True

    def distance(self, channels) -> float:
        """The feature check's distance of one window's ``channels`` (D,), NaN without a check or features."""
        return float(self.familiar.distance(channels)) if self.familiar is not None and channels is not None \
            else float("nan")

    def to_dict(self) -> dict:
        d = asdict(replace(self, familiar=None, gate=None))
        d["familiar"] = None if self.familiar is None else self.familiar.to_dict()
        if self.gate is not None:  # absent rather than null: files from before the gate stay as they were
            d["gate"] = self.gate.to_dict()
        else:
            d.pop("gate")
        return d

    @staticmethod
    def from_dict(d: dict | None, classes, where: str = "decision") -> Decision:
        """A checked Decision from stored JSON (``None`` or absent: plain softmax, no rejection)."""
        if d is None:
            return Decision()
        if not isinstance(d, dict) or set(d) - {"temperature", "reject_class", "min_confidence", "fitted_on",
                                                "window_ms", "taper", "max_energy", "event_rate", "familiar",
                                                "gate"}:
            raise SastLiveError(f"{where}: must be an object with temperature, reject_class, min_confidence, "
                                f"fitted_on, window_ms, taper, max_energy, event_rate, familiar, gate; got "
                                f"{d!r:.200}")
        e, rate = d.get("max_energy"), d.get("event_rate")
        if e is not None and (isinstance(e, bool) or not isinstance(e, int | float) or not np.isfinite(e)):
            raise SastLiveError(f"{where}.max_energy: {e!r} is not a finite number (or null)")
        if rate is not None and not (isinstance(rate, list | tuple) and len(rate) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) and v >= 0 for v in rate)
                and rate[0] <= rate[1]):
            raise SastLiveError(f"{where}.event_rate: {rate!r} is not [low, high] events per second (or null)")
        w, taper = d.get("window_ms"), d.get("taper", "flat")
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= 3_600_000):
            raise SastLiveError(f"{where}.window_ms: {w!r} is not a window in ms (1 … 3600000, or null)")
        if taper not in TAPERS:
            raise SastLiveError(f"{where}.taper: {taper!r} is not one of {', '.join(TAPERS)}")
        t, r, m = d.get("temperature", 1.0), d.get("reject_class"), d.get("min_confidence", 0.0)
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0.01 <= t <= 100:
            raise SastLiveError(f"{where}.temperature: {t!r} is not a number in [0.01, 100]")
        if r is not None and (isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < len(classes)):
            raise SastLiveError(f"{where}.reject_class: {r!r} is not a class index of {len(classes)} classes")
        if isinstance(m, bool) or not isinstance(m, int | float) or not 0 <= m <= 1:
            raise SastLiveError(f"{where}.min_confidence: {m!r} is not a probability")
        f, g = d.get("familiar"), d.get("gate")
        familiar = None if f is None else FeatureCheck.from_dict(f, len(classes), f"{where}.familiar")
        gate = None if g is None else NoGestureGate.from_dict(
            g, None if familiar is None else familiar.whiten.shape[0], f"{where}.gate")
        if gate is not None and r is None:
            raise SastLiveError(f"{where}.gate: a no-gesture gate needs the model's own no-gesture class "
                                "(reject_class)")
        return Decision(float(t), r, float(m), str(d.get("fitted_on", "")), w, taper,
                        None if e is None else float(e), None if rate is None else (float(rate[0]), float(rate[1])),
                        familiar, gate)


def gate_closed(decision: Decision, window) -> bool:
    """Whether ``window`` (a WindowResult, or None) was answered "no gesture" by ``decision``'s no-gesture gate: its
    answer is no gesture, though its top class is a gesture at or above the floor — the gate is the only rule that
    does that (:meth:`Decision.decide`). The GUI holds its smoothed answer to it, as it does to "unfamiliar"."""
    return (decision.gate is not None and window is not None and window.class_index == NO_CLASS
            and window.top_index >= 0 and window.top_index != decision.reject_class
            and window.confidence >= decision.min_confidence)


@dataclass(frozen=True)
class Explanation:
    """Why the app says what it says, in words a user reads beside the confidence bars.

    Attributes:
        headline: the answer with its confidence ("hand clap 92%", "no gesture 64%", "no gesture", "unfamiliar
            scene").
        reason: the rule that gave it, with the numbers ("below the 70% floor: hand clap 48% most likely").
        highlight: the bar of the decided class — the named gesture, or for "no gesture" the model's own
            no_gesture class (whether it was most likely or the floor decided); −1 for an unfamiliar scene or a
            model without such a class.
    """

    headline: str
    reason: str
    highlight: int


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def explain(decision: Decision, probs, verdict: int, classes, window=None) -> Explanation:
    """The :class:`Explanation` of ``verdict`` (a class, NO_CLASS or UNFAMILIAR_CLASS) reached from the calibrated
    ``probs`` (n_classes,) under ``decision``; ``window`` (a WindowResult or None): the last window, whose energy and
    events per second decide "unfamiliar scene"."""
    p = np.asarray(probs, np.float64)
    top = int(np.argmax(p))
    top_name, top_p = _pretty(classes[top]), float(p[top])
    floor = f"the {decision.min_confidence:.0%} floor"
    if verdict >= 0:
        why = f"most likely, at or above {floor}" if decision.min_confidence > 0 else "most likely"
        return Explanation(f"{_pretty(classes[verdict])} {p[verdict]:.0%}", why, verdict)
    if verdict == UNFAMILIAR_CLASS:
        why = []
        if window is not None and decision.max_energy is not None and window.energy > decision.max_energy:
            why.append(f"energy {window.energy:.2f} is above the {decision.max_energy:.2f} limit")
        if window is not None and decision.event_rate is not None and window.t_end_us > window.t_start_us:
            rate = window.events / ((window.t_end_us - window.t_start_us) * 1e-6)
            lo, hi = decision.event_rate
            if not lo <= rate <= hi:
                why.append(f"{rate:,.0f} events/s is outside {lo:,.0f}–{hi:,.0f}")
        dist = getattr(window, "distance", float("nan")) if window is not None else float("nan")
        if decision.familiar is not None and dist > decision.familiar.max_distance:
            why.append(f"its activity is {dist:,.0f} from the nearest class, above the "
                       f"{decision.familiar.max_distance:,.0f} limit")
        detail = " and ".join(why) or "the last window was flagged"
        return Explanation("unfamiliar scene", f"unlike the training data ({detail}): {top_name} {top_p:.0%} "
                                               "not named", -1)
    if decision.reject_class is not None and top == decision.reject_class:
        return Explanation(f"no gesture {top_p:.0%}", f"{top_name} most likely", top)
    if decision.gate is not None and top_p >= decision.min_confidence:  # neither the class nor the floor: the gate
        return Explanation("no gesture", f"the no-gesture gate closed (more like a scene without a gesture than "
                                         f"its {decision.gate.limit:.0%} limit): {top_name} {top_p:.0%} not named",
                           decision.reject_class)
    # the floor decided: the model's own no-gesture bar is the decided class's (whatever its height)
    own = decision.reject_class if decision.reject_class is not None else -1
    return Explanation("no gesture", f"below {floor}: {top_name} {top_p:.0%} most likely", own)


def rule_text(decision: Decision, classes) -> str:
    """The decision rule of ``decision`` in a few sentences (the prediction panel's tooltip)."""
    parts = ["A gesture is named when it is the most likely class"]
    if decision.reject_class is not None:
        parts[0] += f" (not the model's own {_pretty(classes[decision.reject_class])} class)"
    if decision.min_confidence > 0:
        parts[0] += f" and its calibrated confidence is at least {decision.min_confidence:.0%} (the floor)"
    if decision.gate is not None:
        parts[0] += (f" and the no-gesture gate does not find the scene more than {decision.gate.limit:.0%} likely to "
                     "hold no gesture")
    parts[0] += "; otherwise the answer is no gesture."
    checks = []
    if decision.max_energy is not None:
        checks.append(f"the window's energy is above {decision.max_energy:.2f}")
    if decision.event_rate is not None:
        checks.append(f"its events/s fall outside {decision.event_rate[0]:,.0f}–{decision.event_rate[1]:,.0f}")
    if decision.familiar is not None:
        checks.append("its last layer's activity is further than "
                      f"{decision.familiar.max_distance:,.0f} (squared Mahalanobis) from every class's")
    if checks:
        parts.append("A gesture claim becomes unfamiliar scene when " + " or ".join(checks) + ".")
    parts.append(f"Confidences are softmax(logits / {decision.temperature:.3g})"
                 + (f"; the numbers were fitted on {decision.fitted_on}." if decision.fitted_on else "."))
    return " ".join(parts)
