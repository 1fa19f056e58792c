"""Fixed-point conventions of the on-sensor simulator (DESIGN.md §7): bit widths, saturation and the leak.

All arithmetic is on Python/NumPy integers; every rounding is written out here once and used by the numba
kernels, the NumPy reference and the generated C alike.

Bit widths (defaults follow real chips: Xylo/Speck 8-bit weights and 16-bit state, Loihi shift/multiply
decay):

* weights: symmetric, ``±WEIGHT_QMAX[bits]`` (INT8 ±127, INT4 ±7; 16 for the "wide" agreement check);
* membranes: ``membrane_bits`` two's-complement, *saturating* (``[-2^(b-1), 2^(b-1) − 1]``); every clamp is
  counted, nothing wraps;
* the synaptic input of one step is summed in a 64-bit accumulator before it is committed to the membrane,
  so the sum does not depend on the order in which events arrive (it cannot overflow: |input| ≤ 255 counts
  × 9 taps × 64 channels × 32767 < 2^33);
* the readout accumulates in ``READOUT_BITS`` (32), saturating and counted.

The leak ``u ← tau·u`` becomes one of two discrete factors, both rounding the *leaked value toward zero*:

* shift form ``v − ⌈|v| / 2^k⌉·sign(v)`` (tau = 1 − 2^−k). The naive ``v − (v >> k)`` floors the decrement,
  so any ``0 < v < 2^k`` loses nothing and stays stuck above zero forever (see ``leak_naive``);
* multiply form ``sign(v)·((|v|·m) >> s)`` (tau = m / 2^s, s = 8 by default). The naive ``(v·m) >> s``
  floors toward −∞, so a small negative ``v`` (e.g. −1) never decays.

Rounding toward zero makes ``|v|`` strictly decrease for every ``v ≠ 0``, so a silent neuron always returns
to rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from sast_live.errors import SastLiveError

#: largest weight magnitude per weight bit width (symmetric: −qmax … qmax, the code −2^(b−1) unused)
WEIGHT_QMAX = {4: 7, 8: 127, 16: 32767}
#: membrane bit widths the simulator accepts (state is held in int64, clamped to these)
MEMBRANE_BITS = (8, 12, 16, 24, 32)
#: width of the readout accumulator
READOUT_BITS = 32
#: leak encodings
LEAK_FORMS = ("multiply", "shift")
#: leak form ids used inside the kernels (numba takes ints, not strings)
LEAK_MULTIPLY, LEAK_SHIFT = 0, 1


def int_range(bits: int) -> tuple[int, int]:
    """``(min, max)`` of a two's-complement integer of ``bits`` bits."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


@dataclass(frozen=True)
class Leak:
    """A discrete leak factor.

    Attributes:
        form: ``"multiply"`` (``factor = m / 2^shift``) or ``"shift"`` (``factor = 1 − 2^−k``).
        param: ``m`` (multiply) or ``k`` (shift).
        shift: the denominator's bits of the multiply form (unused by the shift form).
    """

    form: str
    param: int
    shift: int = 8

    def __post_init__(self):
        if self.form not in LEAK_FORMS:
            raise SastLiveError(f"leak form must be one of {LEAK_FORMS}, got {self.form!r}")
        if not 1 <= self.shift <= 24:
            raise SastLiveError(f"leak shift must be 1..24 bits, got {self.shift}")
        if self.form == "multiply" and not 0 <= self.param < (1 << self.shift):
            raise SastLiveError(f"leak multiplier must be 0..{(1 << self.shift) - 1}, got {self.param}")
        if self.form == "shift" and not 1 <= self.param <= 30:
            raise SastLiveError(f"leak shift k must be 1..30, got {self.param}")

    @property
    def factor(self) -> float:
        """The effective tau this leak applies per time step."""
        return self.param / (1 << self.shift) if self.form == "multiply" else 1.0 - 2.0 ** -self.param

    @property
    def form_id(self) -> int:
        return LEAK_MULTIPLY if self.form == "multiply" else LEAK_SHIFT


def nearest_leak(tau: float, form: str = "multiply", shift: int = 8) -> Leak:
    """The discrete leak closest to ``tau`` (0 < tau < 1) in the given form."""
    if not 0.0 < tau < 1.0:
        raise SastLiveError(f"tau must be in (0, 1) for a discrete leak, got {tau}")
    if form == "multiply":
        return Leak("multiply", min(round(tau * (1 << shift)), (1 << shift) - 1), shift)
    if form == "shift":
        # tau = 1 − 2^−k ⇒ k = −log2(1 − tau); compare the two integer neighbours by the factor they give
        k0 = max(1, math.floor(-math.log2(1.0 - tau)))
        k = min((k0, k0 + 1), key=lambda k: abs((1.0 - 2.0 ** -k) - tau))
        return Leak("shift", min(k, 30), shift)
    raise SastLiveError(f"leak form must be one of {LEAK_FORMS}, got {form!r}")


@numba.njit(nogil=True, cache=True, inline="always")
def leak_value(v, form_id, param, shift):  # pragma: no cover - compiled
    """One leak step of one membrane value, rounded toward zero (the scalar form; the kernels inline it)."""
    a = v if v >= 0 else -v
    if form_id == LEAK_MULTIPLY:
        r = (a * param) >> shift
    else:
        r = a - ((a + (1 << param) - 1) >> param)
    return r if v >= 0 else -r


def leak_array(v: np.ndarray, leak: Leak) -> np.ndarray:
    """NumPy twin of :func:`leak_value` over an int64 array."""
    a = np.abs(v)
    if leak.form == "multiply":
        r = (a * leak.param) >> leak.shift
    else:
        r = a - ((a + (1 << leak.param) - 1) >> leak.param)
    return np.where(v >= 0, r, -r)


def leak_naive(v: np.ndarray, leak: Leak) -> np.ndarray:
    """The textbook forms with floor rounding — kept to show (in a test) the values they leave stuck."""
    if leak.form == "multiply":
        return (v * leak.param) >> leak.shift
    return v - (v >> leak.param)


def quantize_symmetric(w: np.ndarray, bits: int, per_channel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Float weights ``(C_out, …)`` → ``(q int16 (C_out, …), scale float64 (C_out,))`` with ``w ≈ q·scale``.

    Symmetric round-to-nearest (ties to even, NumPy's rule) with ``|q| ≤ WEIGHT_QMAX[bits]``; a channel that
    is all zero gets scale 1 (its weights stay 0). ``per_channel=False`` shares one scale over the tensor.
    """
    if bits not in WEIGHT_QMAX:
        raise SastLiveError(f"weight bits must be one of {sorted(WEIGHT_QMAX)}, got {bits}")
    qmax = WEIGHT_QMAX[bits]
    w = np.asarray(w, dtype=np.float64)
    flat = w.reshape(w.shape[0], -1)
    peak = np.abs(flat).max(axis=1) if per_channel else np.full(w.shape[0], np.abs(flat).max())
    scale = np.where(peak > 0, peak / qmax, 1.0)
    q = np.clip(np.rint(flat / scale[:, None]), -qmax, qmax).astype(np.int16)
    return q.reshape(w.shape), scale
