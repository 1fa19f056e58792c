"""The on-sensor side's subcommands: ``export`` (firmware model + C) and ``emulate-camera`` (a virtual serial camera).

:func:`register` adds them to ``main.py``'s parser; numba is imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json

from firmware_sim.precisions import DEPLOYED, INTEGER, PRECISIONS


def cmd_export(args) -> int:
    from firmware_sim.c_export import write_c
    from firmware_sim.model_file import save_firmware
    from firmware_sim.precisions import PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint, with_overrides

    row = {8: "int8", 4: "int4"}[args.bits] if args.bits else args.precision
    qcfg = with_overrides(PRECISIONS[row].quant_config(), per_channel=False if args.per_layer else None,
                          membrane_bits=args.membrane_bits, frac_bits=args.frac_bits, leak_form=args.leak,
                          leak_shift=args.leak_shift)
    model = quantize_checkpoint(args.checkpoint, qcfg)
    out = save_firmware(model, args.out)
    files = [str(out / "firmware.json"), str(out / "firmware.safetensors")]
    build = None
    if args.c:
        files += [str(p) for p in write_c(model, out)]
        # the no-gesture gate's logistic needs libm (exp, log1p); a model without one builds without it
        build = f"cd {out} && gcc -std=c99 -O2 sast_model.c sast_demo.c -o sast_demo" + \
            (" -lm" if model.decision.gate is not None else "")
    summary = {"files": files, "precision": model.precision, "weight_bits": model.weight_bits, "build": build,
               "membrane_bits": model.membrane_bits,
               "leak": {"form": model.leak.form, "param": model.leak.param, "factor": model.leak.factor,
                        "trained_tau": model.tau}, "memory": model.memory_report()}
    print(json.dumps(summary) if args.json else export_text(summary, model))
    return 0


def export_text(summary: dict, model) -> str:
    m = summary["memory"]
    return (f"wrote {', '.join(summary['files'])}\n"
            f"{model.precision}: INT{model.weight_bits} weights: {m['weights']:,} ({m['weight_bytes']:,} bytes); "
            f"state {m['state_bytes']:,} bytes ({m['neurons']:,} neurons at {model.membrane_bits} bits)\n"
            f"leak: {model.leak.form} {model.leak.param} = {model.leak.factor:.5f} per step (trained tau {model.tau})"
            + (f"\nbuild the C driver: {summary['build']}" if summary.get("build") else ""))


def cmd_emulate(args) -> int:
    import signal

    from firmware_sim.emulate import emulate_camera

    # a board stopped by `kill` tidies up as on Ctrl-C: its link goes before another pty can take its number
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    emulate_camera(args.file, args.protocol, args.port, args.speed, args.loop, args.byte_errors, args.seed,
                   args.wait, link=args.link)
    return 0


def register(sub) -> None:
    """Add this package's subcommands to ``main.py``'s subparsers."""
    p = sub.add_parser("export", help="quantize a checkpoint into a firmware model (INT8/INT4) and, with --c, "
                                      "portable C99")
    p.add_argument("checkpoint", help="OUT/model of a training run")
    rows = p.add_mutually_exclusive_group()
    rows.add_argument("--precision", choices=INTEGER, default=DEPLOYED,
                      help="a row of the precision table: " + "; ".join(
                       f"{n}: INT{PRECISIONS[n].weight_bits} weights, {PRECISIONS[n].membrane_bits}-bit membranes, "
                       f"leak m/2^{PRECISIONS[n].leak_shift}" for n in INTEGER)
                      + f" (default {DEPLOYED}); the options below override it (the model is then 'custom')")
    rows.add_argument("--bits", type=int, choices=[8, 4], help="the same as --precision int8 / int4 (DESIGN.md's name)")
    p.add_argument("--out", required=True, help="output folder (firmware.json, firmware.safetensors, C files)")
    p.add_argument("--c", action="store_true", help="also write portable C99 (sast_model.[ch], sast_demo.c)")
    g = p.add_argument_group("overrides of the precision's quantization (default: the precision's own)")
    g.add_argument("--per-layer", action="store_true", help="one weight scale per layer instead of per channel")
    g.add_argument("--membrane-bits", type=int, help="saturating membrane width (8 12 16 24 32)")
    g.add_argument("--frac-bits", type=int, help="membrane bits below one weight step (0)")
    g.add_argument("--leak", choices=["multiply", "shift"], help="leak as (v*m)>>shift or v - v>>k, both rounded "
                                                                 "toward zero (multiply)")
    g.add_argument("--leak-shift", type=int, help="denominator bits of the multiply leak")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("emulate-camera", help="stream a recording as a virtual serial camera on a pseudo-terminal")
    p.add_argument("file", help="the recording to stream")
    p.add_argument("--protocol", choices=["edvs", "framed"], default="edvs")
    p.add_argument("--port", help="write to this serial device instead of a new pseudo-terminal")
    p.add_argument("--link", metavar="PATH",
                   help="also name the pseudo-terminal by a symbolic link at PATH, removed when the camera stops, "
                        "so a host retrying it cannot reach the next pseudo-terminal given the same /dev/pts number")
    p.add_argument("--speed", type=float, default=1.0, help="pace × the recording's clock")
    p.add_argument("--loop", action="store_true", help="start over at the end")
    p.add_argument("--byte-errors", type=float, default=0.0,
                   help="probability per byte of a flipped, dropped or duplicated byte")
    p.add_argument("--seed", type=int, default=0, help="seed of the injected errors")
    p.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                   help="wait for the host's E+ before streaming (as the real boards do)")
    p.set_defaults(func=cmd_emulate)
