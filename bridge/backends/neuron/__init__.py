"""The NEURON backend: compiled NMODL mechanisms generated from the catalog (see
:mod:`.nmodl`), compiled once and cached (:mod:`.build`).

How the reference semantics (:mod:`bridge.backends.reference`) are reproduced
-------------------------------------------------------------------------------
* **Point neurons** (every catalog type but ``passive``) are point processes whose state is advanced
  once per fixed step ``dt`` (the model's) by 4th-order Runge–Kutta on the catalog's equations
  (``n_sub`` sub-steps; ``located`` types also locate threshold crossings inside the step); they all
  sit in one host section whose voltage is unused.  A step ending at ``t`` integrates, then applies
  the jumps and DC changes due at ``t``, then tests the threshold on the grid, resets and starts
  the refractory clamp — the reference's order.  NEURON delivers an event due at ``t`` at the end
  of the step *reaching* ``t`` (after ``nrn_state`` and after ``Vector.record``), so bridge
  schedules every event for such a target one step early (NetCon delay = delay - dt) and the
  mechanism buffers it for the next ``nrn_state``.  Hence a ``Vector.record`` sample at ``t`` is
  the state after all events at ``t``, as in the reference.
* **Spikes** are detected by a NetCon with threshold 0.5 on the mechanism's ``spiked`` flag (raised
  for one step).  NEURON checks thresholds at the start of the next step, time-stamped with that
  step's start, i.e. the grid time of the spike (:data:`DETECTION_LAG_STEPS` = 0, measured; kept as
  a named constant that is subtracted from recorded spike times and NetCon delays).  A cell firing
  in two consecutive steps would show one long crossing: the mechanism counts such spikes and the
  run fails with a clear message rather than dropping them.  Cells that spike get gids, and
  connections from them are ``ParallelContext.gid_connect`` NetCons (a NetCon on a range-variable
  pointer costs ~0.1 ms to create).  Spike sources are input gids (:data:`SOURCE_GID_BASE` on)
  fired by one ``PatternStim`` one step before their (grid) spike times, through NetCons one step
  longer; it queues one event at a time (scheduling every spike up front with ``NetCon.event`` cost
  a Python call per spike and an event queue as long as all input spikes: 2 M events for the
  4000-cell benchmark network).  The fixed step runs in ``ParallelContext.psolve`` (a C loop).
* **Cost over a hand-written script** (benchmarks/native/neuron_native.py): a run loads only the
  compiled mechanisms its model uses (:func:`.build.load_mechanisms`); each projection is one
  inlined loop of ``gid_connect`` calls whose NetCons are kept by a hoc ``List`` (no Python object
  per connection), their weight vectors written after ``finitialize`` from one plan per projection;
  the ``PatternStim`` copies its two Vectors, which are then dropped; spikes are recorded into one
  pair of Vectors per population.
* **Passive cells** are real single-compartment sections (area 100 µm², so ``cm`` in µF/cm² equals
  ``C_m`` in pF) with ``pas``, integrated by NEURON itself: backward Euler (``secondorder = 0``)
  or Crank–Nicolson (``secondorder = 2``, the default here: second order in dt), or CVODE with
  ``cvode = True``.  Kinetic NMDA synapses onto them are ``bridge_nmda_kinetic`` point processes
  (``_cvode`` variant with CVODE), one per connection, receiving events at the spike time plus
  the delay (the pulse starts at that grid time and only changes derivatives, so no early scheduling is needed).
  In the fixed step the synapse states are exact to RK4 accuracy and the current uses them half a
  step ahead, so the membrane's Crank–Nicolson step is second order: for models/nmda_kinetic.yaml
  9.3e-5 mV at dt = 0.1 ms and 1.8e-5 mV at dt = 0.05 ms (``secondorder = 0``: 2.6e-3 mV, first
  order); with ``cvode = True`` (atol = rtol = 1e-8) about 2e-6 mV.
* DC steps act on ``[start, stop)``: for point neurons as events on the DC port, for passive
  cells as an ``IClamp`` (NEURON evaluates currents at mid-step, so the grid interval is the same).

Backend options (set as attributes, e.g. ``options={"cvode": True}``): ``cvode`` (bool, only for
models made of passive cells: the per-step propagation of the point neurons is not a CVODE
right-hand side; default: off for cells, on for reaction networks), ``cvode_atol``/``cvode_rtol``
(default 1e-8; for reaction networks atol is in nM and the defaults are
:data:`.reactions.ATOL_NM` and :data:`.reactions.RTOL`), ``secondorder`` (0 or 2) and
``n_sub`` (Runge–Kutta sub-steps per dt; default: see :func:`substeps`).

**Reaction networks** (``model.network`` set) run in :mod:`.reactions` on a generated
KINETIC mechanism (:mod:`.kinetic`), with CVODE unless ``cvode`` is False.
"""
from .backend import NeuronBackend

__all__ = ["NeuronBackend"]
