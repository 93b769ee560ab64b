"""What a contract run found, per operation, and the table it prints."""

from collections import Counter
from dataclasses import dataclass, field

# The checks a run fails on, by the name schemathesis gives them.
SERVER_ERROR = "not_a_server_error"
UNDOCUMENTED = "status_code_conformance"


@dataclass
class OperationTally:
    cases: int = 0
    server_errors: int = 0
    undocumented: int = 0
    other_failures: int = 0  # schema, headers, content type, ignored auth
    statuses: Counter[int] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # a few failures, as curl commands


@dataclass
class Tally:
    operations: dict[str, OperationTally] = field(default_factory=dict)

    def of(self, operation: str) -> OperationTally:
        return self.operations.setdefault(operation, OperationTally())

    @property
    def cases(self) -> int:
        return sum(o.cases for o in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(o.server_errors for o in self.operations.values())

    @property
    def undocumented(self) -> int:
        return sum(o.undocumented for o in self.operations.values())

    @property
    def other_failures(self) -> int:
        return sum(o.other_failures for o in self.operations.values())

    @property
    def clean(self) -> bool:
        return not (self.server_errors or self.undocumented or self.other_failures)

    def table(self) -> str:
        width = max([len("operation"), *map(len, self.operations)])
        header = f"{'operation':<{width}}  {'cases':>7}  {'5xx':>5}  {'undoc':>5}  {'other':>5}"
        lines = [header, "-" * len(header)]
        for name in sorted(self.operations):
            o = self.operations[name]
            lines.append(
                f"{name:<{width}}  {o.cases:>7}  {o.server_errors:>5}  {o.undocumented:>5}"
                f"  {o.other_failures:>5}  {_statuses(o.statuses)}"
            )
        lines += [
            "-" * len(header),
            f"{'total':<{width}}  {self.cases:>7}  {self.server_errors:>5}"
            f"  {self.undocumented:>5}  {self.other_failures:>5}",
        ]
        return "\n".join(lines)

    def failures(self) -> str:
        return "\n".join(
            f"{name}: {example}"
            for name, o in sorted(self.operations.items())
            for example in o.examples
        )


def _statuses(statuses: Counter[int]) -> str:
    return " ".join(f"{status}:{count}" for status, count in sorted(statuses.items()))
