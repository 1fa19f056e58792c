"""The on-sensor side's subcommands: ``export`` (firmware model + C) and ``emulate-camera`` (a virtual serial camera).

:func:`register` adds them to ``main.py``'s parser; numba is imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json


def cmd_export(args) -> int:
    from firmware_sim.c_export import write_c
    from firmware_sim.model_file import save_firmware
    from firmware_sim.quantize import QuantConfig, quantize_checkpoint

    qcfg = QuantConfig(weight_bits=args.bits, per_channel=not args.per_layer, membrane_bits=args.membrane_bits,
                       frac_bits=args.frac_bits, leak_form=args.leak, leak_shift=args.leak_shift)
    model = quantize_checkpoint(args.checkpoint, qcfg)
    out = save_firmware(model, args.out)
    files = [str(out / "firmware.json"), str(out / "firmware.safetensors")]
    if args.c:
        files += [str(p) for p in write_c(model, out)]
    summary = {"files": files, "weight_bits": model.weight_bits, "membrane_bits": model.membrane_bits,
               "leak": {"form": model.leak.form, "param": model.leak.param, "factor": model.leak.factor,
                        "trained_tau": model.tau}, "memory": model.memory_report()}
    print(json.dumps(summary) if args.json else export_text(summary, model))
    return 0


def export_text(summary: dict, model) -> str:
    m = summary["memory"]
    return (f"wrote {', '.join(summary['files'])}\n"
            f"INT{model.weight_bits} weights: {m['weights']:,} ({m['weight_bytes']:,} bytes); "
            f"state {m['state_bytes']:,} bytes ({m['neurons']:,} neurons at {model.membrane_bits} bits)\n"
            f"leak: {model.leak.form} {model.leak.param} = {model.leak.factor:.5f} per step (trained tau {model.tau})")


def cmd_emulate(args) -> int:
    from firmware_sim.emulate import emulate_camera

    emulate_camera(args.file, args.protocol, args.port, args.speed, args.loop, args.byte_errors, args.seed,
                   args.wait)
    return 0


def register(sub) -> None:
    """Add this package's subcommands to ``main.py``'s subparsers."""
    p = sub.add_parser("export", help="quantize a checkpoint into a firmware model (INT8/INT4) and, with --c, "
                                      "portable C99")
    p.add_argument("checkpoint", help="OUT/model of a training run")
    p.add_argument("--bits", type=int, choices=[8, 4, 16], default=8, help="weight bits (16: wide, for checks)")
    p.add_argument("--out", required=True, help="output folder (firmware.json, firmware.safetensors, C files)")
    p.add_argument("--c", action="store_true", help="also write portable C99 (sast_model.[ch], sast_demo.c)")
    p.add_argument("--per-layer", action="store_true", help="one weight scale per layer instead of per channel")
    p.add_argument("--membrane-bits", type=int, default=16, help="saturating membrane width (8 12 16 24 32)")
    p.add_argument("--frac-bits", type=int, default=0, help="membrane bits below one weight step")
    p.add_argument("--leak", choices=["multiply", "shift"], default="multiply",
                   help="leak as (v*m)>>shift or v - v>>k, both rounded toward zero")
    p.add_argument("--leak-shift", type=int, default=8, help="denominator bits of the multiply leak")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("emulate-camera", help="stream a recording as a virtual serial camera on a pseudo-terminal")
    p.add_argument("file", help="the recording to stream")
    p.add_argument("--protocol", choices=["edvs", "framed"], default="edvs")
    p.add_argument("--port", help="write to this serial device instead of a new pseudo-terminal")
    p.add_argument("--speed", type=float, default=1.0, help="pace × the recording's clock")
    p.add_argument("--loop", action="store_true", help="start over at the end")
    p.add_argument("--byte-errors", type=float, default=0.0,
                   help="probability per byte of a flipped, dropped or duplicated byte")
    p.add_argument("--seed", type=int, default=0, help="seed of the injected errors")
    p.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                   help="wait for the host's E+ before streaming (as the real boards do)")
    p.set_defaults(func=cmd_emulate)
