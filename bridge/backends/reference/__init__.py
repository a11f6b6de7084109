"""The reference backend: bridge's own high-accuracy solver, the ground truth of the harness.

Semantics (shared by every backend adapter, see README "Time grid"):

* Time advances on the grid ``t_k = k*dt``.  Between grid points each population is integrated
  exactly (affine equations: matrix exponential, like NEST) or with DOP853 at rtol 1e-10.
* Spikes of sources and neurons happen on the grid; a spike at ``t_s`` with delay ``d`` changes the
  target's receptor variable at ``t_s + d`` (the sample at that time already includes the jump).
  Several spikes of one train on one grid point are processed one after the other: each synapse
  applies its rule to the state the previous one left, with ``h = 0`` between them (NEST's and
  NEURON's order of events within a step).  Times are reported as decimal grid times
  (:mod:`bridge.timegrid`).
* ``grid`` threshold detection tests the threshold at grid points (NEST ``iaf_*``); ``located``
  detection finds the crossing inside the step, resets there and reports the spike at the step end
  (NEST ``aeif_*``).  A refractory cell holds its clamped variables for ``t_ref``.
* A DC step acts on ``[start, stop)``.  Recorded samples at ``t`` are the state at ``t`` after
  every event at ``t``.
"""
from .backend import ReferenceBackend

__all__ = ["ReferenceBackend"]
