"""Native NEST 3.10 versions of the benchmark models, written the idiomatic (fast) way.

    python benchmarks/native/nest_native.py tsodyks      # models/tsodyks_depression.yaml
    python benchmarks/native/nest_native.py ei 1000      # benchmarks/models/ei_network.py, N = 1000
    mpiexec -n 2 python benchmarks/native/nest_native.py ei 1000   # on 2 ranks (a NEST built with MPI)

E/I: ``pairwise_bernoulli`` connections drawn by NEST, a ``tsodyks2_synapse`` copy with the
parameters as defaults, one ``poisson_generator`` per population (NEST draws an independent train per
target), one ``spike_recorder``.  Prints one ``NATIVE {json}`` line (per MPI rank: NEST distributes
the nodes itself; spikes and connections are the rank's own).
"""
import os
import time

from common import PARAMS, arguments, report, sizes, weights

os.environ.setdefault("PYNEST_QUIET", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import nest  # noqa: E402

nest.verbosity = nest.VerbosityLevel.ERROR


def tsodyks():
    cell = {"tau_m": 40.0, "C_m": 400.0, "E_L": 0.0, "V_reset": 0.0, "V_th": 15.0, "t_ref": 2.0,
            "tau_syn_ex": 3.0, "tau_syn_in": 3.0, "V_m": 0.0}
    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=1, rng_seed=1)
    pre = nest.Create("iaf_psc_exp", params=cell)
    post = nest.Create("iaf_psc_exp", params=cell)
    dc = nest.Create("dc_generator", params={"amplitude": 214.7, "start": 49.9, "stop": 1049.9})
    nest.Connect(dc, pre)
    nest.Connect(pre, post, syn_spec={"synapse_model": "tsodyks_synapse", "U": 0.5, "tau_psc": 3.0,
                                      "tau_rec": 800.0, "tau_fac": 0.0, "x": 1.0, "y": 0.0, "u": 0.0,
                                      "weight": 250.0, "delay": 0.1})
    meter = nest.Create("multimeter", params={"record_from": ["V_m", "I_syn_ex"], "interval": 0.1})
    nest.Connect(meter, post)
    spikes = nest.Create("spike_recorder")
    nest.Connect(pre, spikes)
    return 1200.0, spikes, 1


def ei(n):
    P = PARAMS
    n_e, n_i = sizes(n)
    w_e, w_i = weights(n)
    nest.ResetKernel()
    nest.set(resolution=P["dt_ms"], local_num_threads=1, rng_seed=P["seed"])
    cells = nest.Create("iaf_cond_exp", n, params={**P["neuron"], "V_m": P["V_init"]})
    exc, inh = cells[:n_e], cells[n_e:]
    nest.CopyModel("tsodyks2_synapse", "tm_exc", {**P["tsodyks2"], "u": P["tsodyks2"]["U"], "x": 1.0,
                                                  "weight": w_e, "delay": P["delay_ms"]})
    nest.CopyModel("static_synapse", "inh", {"weight": -w_i, "delay": P["delay_ms"]})
    bernoulli = {"rule": "pairwise_bernoulli", "p": P["p"], "allow_autapses": True}
    nest.Connect(exc, cells, bernoulli, "tm_exc")
    nest.Connect(inh, cells, bernoulli, "inh")
    drive = nest.Create("poisson_generator", params={"rate": P["drive_rate_hz"]})
    nest.Connect(drive, cells, syn_spec={"weight": P["w_drive_nS"], "delay": P["delay_ms"]})
    spikes = nest.Create("spike_recorder")
    nest.Connect(cells, spikes)
    return P["duration_ms"], spikes, nest.num_connections


def main():
    model, n = arguments()
    started = time.perf_counter()
    duration, recorder, synapses = tsodyks() if model == "tsodyks" else ei(n)
    built = time.perf_counter()
    nest.Simulate(duration)
    simulated = time.perf_counter()
    report(built - started, simulated - built, recorder.n_events, synapses, rank=nest.Rank(),
           ranks=nest.NumProcesses())


if __name__ == "__main__":
    main()
