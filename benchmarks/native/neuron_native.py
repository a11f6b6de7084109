"""Native NEURON 9 versions of the benchmark models.

    python benchmarks/native/neuron_native.py tsodyks
    python benchmarks/native/neuron_native.py ei 1000
    mpiexec -n 2 python benchmarks/native/neuron_native.py ei 1000    # (MPI_LIB_NRN_PATH set) on 2 ranks

NEURON has no built-in LIF with conductance synapses and Tsodyks–Markram state per connection, so
this script uses the point-process mechanisms of bridge's ``mod/`` directory (``bridge_lif_cond_exp``,
``bridge_lif_psc_exp``: RK4 / exact stepping inside the mechanism, the Tsodyks–Markram rule in
NET_RECEIVE with the per-connection state in the NetCon weight vector), compiled here with
``nrnivmodl`` (only the two files needed) into ``$NATIVE_CACHE_DIR/nrnmech/``.  The rest is the
usual fast NEURON idiom: all cells in one host section, connectivity drawn with NumPy, one NetCon
per connection, a ``NetStim`` (noise = 1, own Random123 stream) per cell as Poisson drive, spikes
recorded into two shared Vectors, and the run done by ``ParallelContext.psolve`` (a C loop).
Prints one ``NATIVE {json}`` line (per rank: its own cells' spikes and synapses).
"""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from common import PARAMS, arguments, cache_dir, report, sizes, weights

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODS = ("bridge_lif_cond_exp.mod", "bridge_lif_psc_exp.mod")
#: NetCon weight vector: weight, port (0 exc, 1 inh, 2 DC), synapse (0 static, 1 tsodyks3, 2 tsodyks2),
#: U, tau_psc, tau_rec, tau_fac, x, y, u, tlast, first
EXC, INH, DC = 0, 1, 2


def compile_mechanisms():
    """Compile the two mechanisms once (cold run), then reuse the library (warm run)."""
    directory = cache_dir("nrnmech")
    library = os.path.join(directory, "x86_64", "libnrnmech.so")
    compiled = False
    if not os.path.exists(library):
        for name in MODS:
            shutil.copy(os.path.join(ROOT, "mod", name), directory)
        nrnivmodl = os.path.join(os.path.dirname(sys.executable), "nrnivmodl")
        subprocess.run([nrnivmodl, *MODS], cwd=directory, check=True, capture_output=True)
        compiled = True
    return library, compiled


def tsodyks(h):
    cell = {"tau_m": 40.0, "C_m": 400.0, "E_L": 0.0, "V_reset": 0.0, "V_th": 15.0, "t_ref": 2.0,
            "tau_syn_ex": 3.0, "tau_syn_in": 3.0}
    host = h.Section(name="host")
    pre, post = h.bridge_lif_psc_exp(host(0.5)), h.bridge_lif_psc_exp(host(0.5))
    for c in (pre, post):
        for k, v in cell.items():
            setattr(c, k, v)
    dt = 0.1
    # DC step 50..1050 ms into pre's DC port (events arrive one step early: the mechanism buffers them)
    dc = h.NetCon(None, pre)
    syn = h.NetCon(pre._ref_spiked, post, sec=host)
    syn.threshold, syn.delay = 0.5, 0.1 - dt
    spikes = h.Vector()
    watch = h.NetCon(pre._ref_spiked, None, sec=host)
    watch.threshold = 0.5
    watch.record(spikes)
    v, i_syn = h.Vector().record(post._ref_V_m, sec=host), h.Vector().record(post._ref_I_syn_ex, sec=host)

    def start():
        for c in (pre, post):
            c.V_m = 0.0
        for i, v in enumerate([250.0, EXC, 1, 0.5, 3.0, 800.0, 0.0, 1.0, 0.0, 0.0, syn.delay, 1.0]):
            syn.weight[i] = v
        dc.weight[0], dc.weight[1] = 214.7, DC
        dc_off.weight[0], dc_off.weight[1] = -214.7, DC
        dc.event(50.0 - dt)
        dc_off.event(1050.0 - dt)

    dc_off = h.NetCon(None, pre)
    keep = [host, pre, post, dc, dc_off, syn, watch, v, i_syn]
    return 1200.0, start, spikes, 1, keep


def ei(h, n):
    """The E/I network on this process's share of the cells: run under ``mpiexec -n R`` (after
    ``h.nrnmpi_init()``) rank r owns the gids r, r + R, ... (round robin, NEURON's usual layout) and
    creates those cells, their incoming connections and drives only.  Each cell's sources are drawn
    from its own stream (seed, gid), so the network is the same on any number of ranks."""
    P = PARAMS
    n_e, n_i = sizes(n)
    w_e, w_i = weights(n)
    dt, delay = P["dt_ms"], P["delay_ms"]
    host = h.Section(name="host")
    pc = h.ParallelContext()  # gids: a connection is a cheap gid_connect (a pointer NetCon each costs ~0.1 ms)
    rank, nhost = int(pc.id()), int(pc.nhost())
    cells = {}
    times, ids = h.Vector(), h.Vector()
    for gid in range(rank, n, nhost):
        c = h.bridge_lif_cond_exp(host(0.5))
        for k, val in P["neuron"].items():
            setattr(c, k, val)
        cells[gid] = c
        pc.set_gid2node(gid, rank)
        detector = h.NetCon(c._ref_spiked, None, sec=host)
        detector.threshold = 0.5
        pc.cell(gid, detector)
    pc.spike_record(-1, times, ids)
    tm = P["tsodyks2"]
    exc_w = [w_e, EXC, 2, tm["U"], 0.0, tm["tau_rec"], tm["tau_fac"], 1.0, 0.0, tm["U"], delay - dt, 1.0]
    exc_netcons, inh_netcons = [], []
    for gid, target in cells.items():  # pairwise Bernoulli, autapses allowed
        for source in np.flatnonzero(np.random.default_rng([P["seed"], gid]).random(n) < P["p"]).tolist():
            nc = pc.gid_connect(source, target)
            nc.delay = delay - dt
            (exc_netcons if source < n_e else inh_netcons).append(nc)
    stims = []
    for gid, c in cells.items():  # Poisson drive: one NetStim per cell
        ns = h.NetStim()
        ns.interval, ns.number, ns.start, ns.noise = 1000.0 / P["drive_rate_hz"], 1e9, 0.0, 1
        ns.noiseFromRandom123(gid, P["seed"], 0)
        nc = h.NetCon(ns, c)
        nc.delay = delay - dt
        stims += [ns, nc]

    def start():  # after finitialize, which zeroes every NetCon weight but the first (no INITIAL block)
        for c in cells.values():
            c.V_m = P["V_init"]
        for nc in stims[1::2]:
            nc.weight[0], nc.weight[1], nc.weight[2] = P["w_drive_nS"], EXC, 0
        for nc in exc_netcons:
            for k, val in enumerate(exc_w):
                nc.weight[k] = val
        for nc in inh_netcons:  # static: the other fields stay 0
            nc.weight[0], nc.weight[1], nc.weight[10], nc.weight[11] = w_i, INH, delay - dt, 1.0

    synapses = len(exc_netcons) + len(inh_netcons)
    return P["duration_ms"], start, times, synapses, [host, cells, exc_netcons, inh_netcons, stims, ids]


def main():
    model, n = arguments()
    started = time.perf_counter()
    library, compiled = compile_mechanisms()
    from neuron import h

    if "PMI_RANK" in os.environ or "OMPI_COMM_WORLD_RANK" in os.environ:  # started by mpiexec
        h.nrnmpi_init()
    h.nrn_load_dll(library)
    h.dt = PARAMS["dt_ms"]
    duration, start, spikes, synapses, keep = tsodyks(h) if model == "tsodyks" else ei(h, n)
    pc = h.ParallelContext()
    pc.set_maxstep(10)
    h.finitialize()
    start()
    built = time.perf_counter()
    pc.psolve(duration)
    simulated = time.perf_counter()
    report(built - started, simulated - built, len(spikes), synapses, compiled=compiled, rank=int(pc.id()),
           ranks=int(pc.nhost()))
    pc.barrier()
    pc.done()


if __name__ == "__main__":
    main()
