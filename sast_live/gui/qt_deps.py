"""Qt's system libraries on Debian/Ubuntu: which ones are missing, and installing them (``make run`` does this).

PyQt6's wheel carries Qt itself but not the X11/xcb and GL libraries of the system. ``ldd`` on the xcb platform
plugin and the Qt GUI libraries names every linked library that is missing (no display needed); Qt ≥ 6.5 also
``dlopen``\\ s ``libxcb-cursor.so.0`` at start-up, which ``ldd`` cannot see, so that one is looked up by name.

    python -m sast_live.gui.qt_deps            # report; as root with apt-get: install what is missing
    python -m sast_live.gui.qt_deps --check    # report only (exit code 1 when something is missing)

Runs without importing Qt: a missing library makes the import itself fail, and a missing xcb library makes Qt
abort the whole process.
"""

from __future__ import annotations

import argparse
import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# the shared libraries PyQt6 needs on a minimal Debian/Ubuntu, and the packages that provide them
DEBIAN_PACKAGES = {
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0", "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0", "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1", "libxcb.so.1": "libxcb1", "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb-util.so.1": "libxcb-util1", "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
DLOPENED = ("libxcb-cursor.so.0",)
_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.M)


def qt_binaries() -> list[Path]:
    """The xcb platform plugin and the Qt GUI libraries inside the installed PyQt6 (empty if PyQt6 is absent)."""
    spec = importlib.util.find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt6"
    paths = [qt / "plugins" / "platforms" / "libqxcb.so", qt / "lib" / "libQt6Gui.so.6",
             qt / "lib" / "libQt6Widgets.so.6"]
    return [p for p in paths if p.is_file()]


def missing_libraries(ldd_output: str | None = None, find_library=ctypes.util.find_library) -> list[str]:
    """Sonames Qt needs that the system lacks (``ldd_output`` and ``find_library`` are injectable for tests)."""
    if ldd_output is None:
        if shutil.which("ldd") is None:
            return []
        ldd_output = "".join(subprocess.run(["ldd", str(p)], capture_output=True, text=True).stdout
                             for p in qt_binaries())
    missing = set(_NOT_FOUND.findall(ldd_output))
    for soname in DLOPENED:
        if find_library(soname[3:].split(".so")[0]) is None:  # "libxcb-cursor.so.0" → "xcb-cursor"
            missing.add(soname)
    return sorted(missing)


def packages_for(libraries: list[str]) -> tuple[list[str], list[str]]:
    """(Debian packages that provide ``libraries``, the libraries no package is known for)."""
    pkgs = sorted({DEBIAN_PACKAGES[lib] for lib in libraries if lib in DEBIAN_PACKAGES})
    return pkgs, [lib for lib in libraries if lib not in DEBIAN_PACKAGES]


def apt_install(packages: list[str], run=subprocess.run) -> bool:
    """``apt-get install -y --no-install-recommends`` (after an ``apt-get update`` when the package lists are
    empty, as on a fresh container); True when it worked."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    if run(cmd, env=env).returncode == 0:
        return True
    return run(["apt-get", "update", "-qq"], env=env).returncode == 0 and run(cmd, env=env).returncode == 0


def ensure(install: bool = True, out=sys.stderr) -> bool:
    """Report missing Qt libraries; install them when ``install`` and this is root with apt-get. True when
    nothing is missing (any more)."""
    libs = missing_libraries()
    if not libs:
        return True
    pkgs, unknown = packages_for(libs)
    print(f"Qt needs system libraries that are missing: {', '.join(libs)}", file=out)
    can_apt = shutil.which("apt-get") is not None and pkgs
    if install and can_apt and os.geteuid() == 0:
        print(f"installing them: apt-get install -y --no-install-recommends {' '.join(pkgs)}", file=out, flush=True)
        if apt_install(pkgs) and not missing_libraries():
            print("Qt's system libraries are installed.", file=out)
            return True
        print("the installation did not complete; the GUI will fall back to a headless replay", file=out)
        return False
    if can_apt:
        print(f"install them with:  sudo apt install {' '.join(pkgs)}", file=out)
    if unknown:
        print(f"(no Debian package known for {', '.join(unknown)}: install it with your system's package manager)",
              file=out)
    print("until then the GUI falls back to a headless replay", file=out)
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sast_live.gui.qt_deps", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report (exit code 1 when something is missing)")
    args = ap.parse_args(argv)
    ok = ensure(install=not args.check)
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
