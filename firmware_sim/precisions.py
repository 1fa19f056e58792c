"""The one precision table: every way SAST-Live runs a trained network, by name.

The CLI (``--precision``, ``evaluate --hardware``, ``train --dictionary``), the live pipeline's backends, the GUI's
precision box and the evaluation reports all read this table. It imports neither torch nor numba, so the CLI can
list the choices without loading either.

* ``float`` — the trained network in PyTorch with its sigmoid spikes (the surrogate forward it was trained with);
* ``hard``  — the same weights, tau, theta and reset with Heaviside spikes (DESIGN.md §1's swap-only transfer);
* ``int8``  — the integer on-sensor simulator: INT8 per-channel weights, int16 saturating membranes, multiply leak
  ``m/256`` (the default chip);
* ``int4``  — the same with INT4 weights;
* ``wide``  — 16-bit weights, 32-bit membranes, leak ``m/2^24``: the integer pipeline with rounding made negligible,
  to separate quantization loss from simulator error (it agrees with the float hard model).
"""

from __future__ import annotations

from dataclasses import dataclass

from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class Precision:
    """One row of the table.

    Attributes:
        name: what users type (``--precision int8``).
        title: how tables and the GUI name it.
        spike: the spike function, ``"surrogate"`` (sigmoid) or ``"hard"`` (Heaviside).
        weight_bits: integer weight width, or None for the float model in PyTorch.
        membrane_bits / leak_shift: the integer simulator's membrane width and multiply-leak denominator bits.
    """

    name: str
    title: str
    spike: str
    weight_bits: int | None = None
    membrane_bits: int = 16
    leak_shift: int = 8

    @property
    def integer(self) -> bool:
        """Runs in the integer simulator (numba, no torch)."""
        return self.weight_bits is not None

    def quant_config(self):
        """The :class:`~firmware_sim.quantize.QuantConfig` of an integer precision."""
        from firmware_sim.quantize import QuantConfig

        if not self.integer:
            raise SastLiveError(f"{self.name!r} is a float precision; it is not quantized")
        return QuantConfig(self.weight_bits, membrane_bits=self.membrane_bits, leak_shift=self.leak_shift,
                           precision=self.name)


PRECISIONS: dict[str, Precision] = {p.name: p for p in (
    Precision("float", "float surrogate", "surrogate"),
    Precision("hard", "float hard", "hard"),
    Precision("int8", "int8", "hard", 8),
    Precision("int4", "int4", "hard", 4),
    Precision("wide", "wide", "hard", 16, membrane_bits=32, leak_shift=24),
)}
#: the precisions of the integer simulator (``evaluate --hardware``)
INTEGER = tuple(name for name, p in PRECISIONS.items() if p.integer)
#: the precision a model is deployed at: the live app's default, the reports' headline, what fine-tuning exports
DEPLOYED = "int8"


def custom_precision(weight_bits: int, membrane_bits: int, leak_shift: int) -> Precision:
    """The row-less precision of a firmware model exported with overrides (``export --precision int8
    --membrane-bits 24``): it runs as itself, named ``custom``."""
    return Precision("custom", f"custom (INT{weight_bits}, {membrane_bits}-bit membranes)", "hard", weight_bits,
                     membrane_bits, leak_shift)


def get_precision(name: str, allowed: tuple[str, ...] | None = None) -> Precision:
    """The table's row ``name``; a clear error when it is unknown or not one of ``allowed``."""
    choices = tuple(PRECISIONS) if allowed is None else allowed
    if name not in choices:
        raise SastLiveError(f"unknown precision {name!r}; choose from {', '.join(choices)}")
    return PRECISIONS[name]
