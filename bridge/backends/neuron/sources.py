"""The committed NMODL sources: ``python -m bridge.backends.neuron.sources`` rewrites the catalog's
mechanisms in ``mod/`` (:mod:`.nmodl`) and the shipped models' reaction-network mechanisms in
``mod/networks/`` (:mod:`.kinetic`); ``tests/test_neuron.py`` fails when either is stale."""
from __future__ import annotations

import sys

from . import kinetic, nmodl


def main() -> int:
    changed = nmodl.write_sources() + [f"networks/{name}" for name in kinetic.write_sources()]
    print("rewrote: " + (", ".join(changed) if changed else "nothing (up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
