"""`make fuzz`: a long seeded contract run; prints its table and exits 1 on any failure.

    python -m medinv_tools.fuzz [--examples N] [--seed S] [--database-url URL]

Without --database-url the service gets a migrated SQLite database in a temporary directory;
with it, a scratch database (e.g. on PostgreSQL) that the run migrates and writes to.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from medinv_tools.fuzz.run import contract_run
from medinv_tools.fuzz.service import fuzzed_service
from medinv_tools.paths import MODELS_ROOT

# Per operation in the fuzzing phase (those without parameters or a key have few cases to
# draw): over 10,000 cases in all with the examples and coverage phases.
DEFAULT_EXAMPLES = 1200
DEFAULT_SEED = 15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medinv_tools.fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", help="a scratch database; default: SQLite, temporary")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="medinv-fuzz-") as scratch:
        data_dir = Path(scratch)
        url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'inventory.db'}"
        started = time.monotonic()
        with fuzzed_service(data_dir, MODELS_ROOT, url) as service:
            print(f"fuzzing {service.url} (seed {args.seed}, {args.examples} examples)", flush=True)
            tally = contract_run(
                service.document,
                service.url,
                service.key,
                seed=args.seed,
                max_examples=args.examples,
                progress=lambda line: print(line, flush=True),
            )
    print()
    print(tally.table())
    print(f"\n{tally.cases} cases in {time.monotonic() - started:.0f} s")
    if not tally.clean:
        print("\nfailures (a few per operation):\n" + tally.failures(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
