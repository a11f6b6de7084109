"""The Brian2 backend: catalog types turned into generated Brian2 code (see :mod:`.codegen`).

Time-grid alignment with the reference semantics (:mod:`bridge.backends.reference`)
-----------------------------------------------------------------------------------
Brian2 step ``m`` (clock ``t = m*dt``) integrates the state from bridge time ``m*dt`` to
``(m+1)*dt``; everything that happens later in that step (delivery, threshold, reset) is what the
reference does at bridge time ``(m+1)*dt``.  Hence:

* the network schedule is ``start, groups, synapses, thresholds, resets, end``: spikes are delivered
  after the state update and *before* the threshold test, as in the reference.  A synaptic pathway
  reads the spikes its source emitted in the previous step, so Brian2's own delay is
  ``delay - dt`` (bridge delays are >= dt);
* spike sources emit at clock ``t_s - dt``; spike monitor times get ``+ dt``; a train with several
  spikes on one grid point is spread over copies of the source, one spike each; a synapse with state
  (Tsodyks–Markram) then keeps it in a per-connection group that every copy links to, so that the
  copies process their spikes one after the other on one state, as the reference does (a continuous
  synapse connects only the first copy: a second pulse at the same time changes nothing);
* samples are taken at the *start* of a step (state after every event of the previous step), with
  the monitor's own clock of period ``interval``; the run lasts ``duration + dt`` so that the sample
  at ``duration`` exists, and spikes after ``duration`` are dropped;
* a DC step acts on ``[start, stop)``: a per-stimulus ``TimedArray`` (one value per step) sets the
  per-cell ``I_dc`` before the state update of each step;
* refractoriness: see :func:`.codegen.refractory_period`.

Integration: ``exact`` (Brian2's linear solver) for types the catalog declares linear and that no
continuous synapse drives, ``rk4`` otherwise (``lif_cond_exp``, AdEx, Izhikevich, QIF, kinetic NMDA
and its target).  A continuous synapse and its target are advanced by separate updaters coupled
through the trapezoidal mean of the synaptic current evaluated before and after the synapse's
update; the membrane potential inside that current is the step-start value, which leaves a small
first-order term (kinetic NMDA at dt = 0.1 ms: 1.8e-4 mV, versus 5.6e-3 mV with one summed
current).  Override with the backend option ``method`` (one Brian2 method for every group).

``located`` threshold types (AdEx, Izhikevich, QIF) are tested at the grid and reported at the
step end, as in the reference; the reset code then accounts for the part of the step after the
crossing (linear interpolation of V, one Euler step over the remainder:
:func:`.codegen.located_remainder`), and the right-hand sides see V capped at the cut-off
(:func:`.codegen.located_cap`) so the upswing cannot overflow within the crossing step.
This is an approximation of the reference's located reset (QIF and Izhikevich test cells: every
spike within one step of the reference).

Cost over a hand-written script: quantities with one value across a population or projection
(parameters, the weight, synaptic states a spike never changes) are namespace constants, not
per-cell/per-connection arrays (:func:`.codegen.event_synapse_code`); populations of one type
and parameter set share one ``NeuronGroup`` (as subgroups), event projections with the same code
from one source into different populations share one ``Synapses`` object, all spike sources are one
``SpikeGeneratorGroup``, a shared group has one ``SpikeMonitor``, and monitors sampling every step
use the default clock.  Each of these keeps every target's inputs and their order, so results are
those of one object per model object up to round-off (Brian2 hoists constant subexpressions out of
its loops).  Connections are made in chunks (:data:`CONNECT_CHUNK`) into pre-sized arrays.

Reaction-network models (``model.network`` set) are run by :mod:`.reactions`, which refuses
networks too stiff for an explicit method at the model's dt.

Options (set as attributes, e.g. ``simulate(..., options={"target": "numpy"})``): ``target``
(``numpy``, ``cython`` default, ``cpp_standalone``), ``method``.  Compiled code lives in
``cache_dir("brian2")``: Cython modules (Brian2 names them by a hash of their source and locks
while compiling) and standalone projects (one directory per model content hash, built and run
under a file lock).  The SymPy solution behind ``exact`` is cached there too (:class:`CachedMethod`).
"""
from .backend import Brian2Backend

__all__ = ["Brian2Backend"]
