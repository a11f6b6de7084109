"""The NEST backend: runs model types on NEST 3.10's native models, each type naming its NEST model
in its declaration (``native: nest: {model, parameters, current_scale}``).  A neuron type without one
runs as a NESTML model bridge generates from its declaration (:mod:`.nestml`), which needs a NEST
built from source with its headers and NESTML (``scripts/build-nest-mpi``; the PyPI wheel has
neither, and such a type is then refused, saying so).  With a NEST built from source with MPI
(:mod:`.install`) models also run on several MPI ranks (:mod:`.network`).

Built-in mapping (catalog type -> NEST model; parameter and state names are NEST's own, the catalog
uses them, and internal units are NEST's: ms, mV, pA, pF, nS):

==================  =====================  ============================================================
catalog             NEST                   notes
==================  =====================  ============================================================
lif_psc_exp         iaf_psc_exp            becomes iaf_tum_2000 when it receives from a lif_tum_2000
lif_cond_exp        iaf_cond_exp           GSL RKF45 (abs. error 1e-3) between grid points
lif_tum_2000        iaf_tum_2000           x, y, u always set; outgoing static connections onto
                                           iaf_tum_2000 targets use receptor_type 1 (u*x efficacy)
adex                aeif_cond_exp          GSL RKF45, the reset applied inside the step
izhikevich          izhikevich             no C_m in NEST: currents (I_e, DC) are divided by C_m;
                                           forward Euler at dt, threshold tested on the grid, so it
                                           converges to the catalog's equations only as O(dt)
static              static_synapse
tsodyks3            tsodyks_synapse        x, y, u of each connection set from the initial state
tsodyks2            tsodyks2_synapse       u, x set: NEST's first spike uses them as is (u_1, R_1)
dc_step             dc_generator           start/stop shifted by the connection delay dt; a step from
                                           0 ms goes into I_e (a generator cannot act before dt)
spike_times         spike_train_injector   one per train (NEST's spike_generator as a neuron: unlike
                                           the device it can drive tsodyks synapses, no parrot needed)
poisson             spike_train_injector   the trains bridge drew from the seed
==================  =====================  ============================================================

Quirks hidden here (see the reference backend's docstring for the semantics reproduced):

* A device connection has a delay of one step: a ``dc_generator`` active from ``s`` acts on the
  membrane from ``s + dt``; the generator is started ``dt`` early.
* A multimeter sample stamped ``t`` is the state at ``t`` after the events of ``t``, but NEST only
  delivers the sample of the final step after one more step: the kernel runs ``duration + dt`` and
  later samples and spikes are dropped.
* ``iaf_tum_2000``'s spike events carry u*x in their offset field, which a ``spike_recorder`` in
  ms subtracts from the time; spike recorders here record in steps (``time_in_steps``) and ignore
  offsets (all mapped models spike on the grid).
* ``iaf_tum_2000`` starts with x = 0 in NEST; bridge always sets x, y, u.
"""
from .backend import NestBackend

__all__ = ["NestBackend"]
