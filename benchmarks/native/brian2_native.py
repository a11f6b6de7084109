"""Native Brian2 2.9 versions of the benchmark models (runtime mode, Cython target, as bridge uses).

    python benchmarks/native/brian2_native.py tsodyks
    python benchmarks/native/brian2_native.py ei 1000

Written the idiomatic way: hand-written equations with units, parameters as namespace constants
(not per-neuron or per-synapse arrays), ``Synapses.connect(p=...)`` drawn by Brian2, the
Tsodyks–Markram recursion event-driven in ``on_pre``, and ``PoissonInput`` as the drive (a binomial
draw per step and neuron instead of a spike source and synapses).  The numerical methods match
bridge's: ``exact`` for the current-based LIF, ``rk4`` for the conductance-based one.  Compiled
Cython code is cached in ``$NATIVE_CACHE_DIR/brian2``.  The first ``run(0*ms)`` generates and
compiles the code (setup), the second run simulates.  Prints one ``NATIVE {json}`` line.
"""
import time

from common import PARAMS, arguments, cache_dir, report, sizes, weights

import brian2 as b2  # noqa: E402
from brian2 import Hz, Network, NeuronGroup, PoissonInput, SpikeMonitor, StateMonitor, Synapses, TimedArray, ms, mV, nS, pA, pF  # noqa: E402,E501


def configure():
    b2.prefs.codegen.target = "cython"
    b2.prefs.codegen.runtime.cython.cache_dir = cache_dir("brian2")
    b2.prefs.logging.file_log = False
    b2.defaultclock.dt = 0.1 * ms


def tsodyks():
    ns = dict(tau_m=40 * ms, C_m=400 * pF, E_L=0 * mV, V_reset=0 * mV, V_th=15 * mV, tau_syn=3 * ms,
              U=0.5, tau_psc=3 * ms, tau_rec=800 * ms, w=250 * pA)
    steps = [0.0] * 500 + [214.7] * 10000 + [0.0] * 2000  # DC on [50, 1050) ms, one value per step
    ns["drive"] = TimedArray(steps * pA, dt=0.1 * ms)
    eqs = """dV_m/dt = (E_L - V_m)/tau_m + (I_syn_ex + I_dc)/C_m : volt (unless refractory)
             dI_syn_ex/dt = -I_syn_ex/tau_syn : amp
             I_dc : amp"""
    cells = NeuronGroup(2, eqs, threshold="V_m >= V_th", reset="V_m = V_reset", refractory=2 * ms,
                        method="exact", namespace=ns)
    cells.run_regularly("I_dc = drive(t) * int(i == 0)", when="before_groups")
    syn = Synapses(cells[:1], cells[1:], model="""x : 1
                   y : 1
                   u : 1
                   lastupdate : second""",
                   on_pre="""h = t - lastupdate
                   z = 1 - x - y
                   P_yy = exp(-h/tau_psc)
                   P_zz = exp(-h/tau_rec)
                   x += (((P_zz - 1)*tau_rec - (P_yy - 1)*tau_psc)/(tau_psc - tau_rec))*y + (1 - P_zz)*z
                   y *= P_yy
                   u = U
                   efficacy = u*x
                   x -= efficacy
                   y += efficacy
                   I_syn_ex_post += w*efficacy
                   lastupdate = t""", delay=0 * ms, namespace=ns)
    syn.connect()
    syn.x, syn.y, syn.u = 1.0, 0.0, 0.0
    monitor = StateMonitor(cells, ["V_m", "I_syn_ex"], record=[1])
    spikes = SpikeMonitor(cells[:1])
    return Network(cells, syn, monitor, spikes), 1200 * ms, spikes, 1


def ei(n):
    P = PARAMS
    n_e, n_i = sizes(n)
    w_e, w_i = weights(n)
    c = P["neuron"]
    ns = dict(C_m=c["C_m"] * pF, g_L=c["g_L"] * nS, E_L=c["E_L"] * mV, V_th=c["V_th"] * mV,
              V_reset=c["V_reset"] * mV, E_ex=c["E_ex"] * mV, E_in=c["E_in"] * mV,
              tau_ex=c["tau_syn_ex"] * ms, tau_in=c["tau_syn_in"] * ms,
              U=P["tsodyks2"]["U"], tau_rec=P["tsodyks2"]["tau_rec"] * ms, w_e=w_e * nS, w_i=w_i * nS)
    eqs = """dV_m/dt = (g_L*(E_L - V_m) + g_ex*(E_ex - V_m) + g_in*(E_in - V_m))/C_m : volt (unless refractory)
             dg_ex/dt = -g_ex/tau_ex : siemens
             dg_in/dt = -g_in/tau_in : siemens"""
    cells = NeuronGroup(n, eqs, threshold="V_m >= V_th", reset="V_m = V_reset", refractory=c["t_ref"] * ms,
                        method="rk4", namespace=ns)
    cells.V_m = P["V_init"] * mV
    delay = P["delay_ms"] * ms
    # two-state Tsodyks–Markram (NEST tsodyks2_synapse) without facilitation: u = U at every spike
    exc = Synapses(cells[:n_e], cells, model="""x : 1
                   lastupdate : second""",
                   on_pre="""x = 1 + (x - U*x - 1)*exp(-(t - lastupdate)/tau_rec)
                   g_ex_post += w_e*U*x
                   lastupdate = t""", delay=delay, namespace=ns)
    exc.connect(p=P["p"])
    exc.x = 1.0
    exc.lastupdate = -1e6 * ms  # the first spike finds x = 1
    inh = Synapses(cells[n_e:], cells, on_pre="g_in_post += w_i", delay=delay, namespace=ns)
    inh.connect(p=P["p"])
    drive = PoissonInput(cells, "g_ex", 1, P["drive_rate_hz"] * Hz, weight=P["w_drive_nS"] * nS)
    spikes = SpikeMonitor(cells)
    return Network(cells, exc, inh, drive, spikes), P["duration_ms"] * ms, spikes, len(exc) + len(inh)


def main():
    model, n = arguments()
    started = time.perf_counter()
    configure()
    net, duration, spikes, synapses = tsodyks() if model == "tsodyks" else ei(n)
    net.run(0 * ms)  # code generation and compilation
    built = time.perf_counter()
    net.run(duration)
    simulated = time.perf_counter()
    report(built - started, simulated - built, spikes.num_spikes, synapses)


if __name__ == "__main__":
    main()
