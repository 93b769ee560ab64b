"""Contract fuzzing (`make fuzz`, tests/contract): schemathesis against the served API."""
