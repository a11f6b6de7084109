"""Default solver tolerances of the reference backend (no imports: the backend class and the
command line read them without loading SciPy)."""
from __future__ import annotations

#: DOP853's relative tolerance for non-linear cells
RTOL = 1e-10
#: DOP853's absolute tolerance (in each state's unit)
ATOL = 1e-12
