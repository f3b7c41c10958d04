"""`make bench`: Flip launched against the sandbox EHR over real HTTP, measured end to end.

Run `python -m benchmarks --help`. The harness here deliberately does not import `tests/`:
it owns its own small deployment (`servers`), browser (`browser`) and measurements
(`measure`), and `__main__` prints the table and writes the JSON.
"""
