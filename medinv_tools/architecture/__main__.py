"""`python -m medinv_tools.architecture [--out PNG]` (`make diagram`)."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from medinv_tools.architecture.figure import DEFAULT_OUT, render
from medinv_tools.architecture.imports import RUNTIME


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="docs/img/architecture.png, drawn from the code")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the PNG to write")
    args = parser.parse_args(argv)
    against = render(args.out)
    print(f"wrote {args.out}")
    for source, target in against:
        # Drawn in red; `make lint` (lint-imports) is what fails on it.
        print(f"against the layers: {RUNTIME}.{source} imports {RUNTIME}.{target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
