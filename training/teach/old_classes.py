"""Whether the old classes held after teaching, on the feature bank's validation windows.

A new class taught from one person's few takes can claim windows of an old class that look like it to the sensor
(punching with the right arm and an air guitar's strumming hand). What keeps the old classes is the feature bank's
``fit`` part: with enough of their recordings from many people (:data:`training.teach.bank.PER_CLASS`) the fit
sees the old classes' borders, not only their centres. This module measures what is left: the old classes' top-class
accuracy on the bank's *validation* windows (the validation subjects the model's training held out; never the test
part) under the anchor readout the user started from and under the taught one, and names the classes that lost
most, so that teaching can say so in words when a new class costs the old ones more than :data:`TOLERANCE`.

Tried and not kept: raising the weight of the old classes that lost (a multiplier per violated class, refitting up
to six times). The fit windows of the old classes are already all right, so a weight on them moves little; on a test
person's takes it pushed the multipliers to 32, kept the validation loss at 2 points and cost the new class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the share of the old classes' validation windows teaching may lose before it says so
TOLERANCE = 0.01


@dataclass(frozen=True)
class OldClassesCheck:
    base: float  # the old classes' validation windows, top class, under the anchor (base) readout
    after: float  # the same under the taught readout
    per_class: dict  # class name → (base, after)
    n: int  # windows

    @property
    def held(self) -> bool:
        return self.after >= self.base - TOLERANCE

    def worst(self, k: int = 2) -> list[tuple[str, float, float]]:
        """The ``k`` classes that lost most (name, base, after), only those that lost."""
        lost = sorted(((b - a, name, b, a) for name, (b, a) in self.per_class.items() if a < b), reverse=True)
        return [(name, b, a) for _, name, b, a in lost[:k]]

    def to_dict(self) -> dict:
        return {"what": "the bank's validation windows, top class", "n": self.n, "base": self.base,
                "after": self.after, "held": self.held, "tolerance": TOLERANCE,
                "per_class": {k: list(v) for k, v in self.per_class.items()}, "warning": self.warning()}

    def warning(self) -> str | None:
        """One line for the user when the old classes lost more than :data:`TOLERANCE`, else None."""
        if self.held:
            return None
        most = ", ".join(f"{name} {b:.0%} → {a:.0%}" for name, b, a in self.worst())
        return (f"the old classes lost {100 * (self.base - self.after):.1f} points on their validation windows "
                f"({self.base:.1%} → {self.after:.1%}; most: {most}): to the sensor the new takes look like them. "
                f"Takes that show the gesture more distinctly, or from more people, help")


def check_old_classes(fit_W, fit_b, base_W, base_b, Xv, yv, names) -> OldClassesCheck | None:
    """The old classes' validation windows ``Xv`` (n, F), ``yv`` under the base readout ``(base_W, base_b)`` (its
    own classes) and the taught ``(fit_W, fit_b)`` (all ``names``); None without validation windows."""
    yv = np.asarray(yv)
    if not len(yv):
        return None
    right = {which: (Xv @ W.T + b).argmax(1) == yv for which, (W, b) in
             (("base", (base_W, base_b)), ("after", (fit_W, fit_b)))}
    per_class = {names[k]: tuple(float(right[which][yv == k].mean()) for which in ("base", "after"))
                 for k in sorted(set(yv.tolist()))}
    return OldClassesCheck(float(right["base"].mean()), float(right["after"].mean()), per_class, int(len(yv)))
