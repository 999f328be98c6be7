"""``python -m bench``: run the srcdesk benchmarks and print what they measured."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import BENCHES, MODULES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scale", choices=("small", "national", "decade"), default="decade",
                   help="demo data scale to measure at (default: decade)")
    p.add_argument("--seed", type=int, default=1, help="demo data seed (default: 1)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this benchmark (repeatable); --list shows the names")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--data", metavar="DIR",
                   help="reuse this decade-scale office data folder for the UI benchmark; for the sync "
                        "benchmark, a folder (not srcdesk data) caching its establishment and office")
    p.add_argument("--office", metavar="DIR",
                   help="sync benchmark: also import a week into a copy of this decade-scale office data folder "
                        "(never modified; prepared once and cached)")
    p.add_argument("--user", help="who signs in to --data or --office (default: ann)")
    p.add_argument("--password", help="their password (default: password123)")
    p.add_argument("--runs", type=int, metavar="N",
                   help="runs per sync measurement, medians printed (default: 3)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folders and print where")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    for module in MODULES:
        importlib.import_module(module)
    if opts.list:
        for name in BENCHES:
            print(name)
        return 0
    names = opts.only or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name} ({opts.scale}) ==", flush=True)
        BENCHES[name](opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
