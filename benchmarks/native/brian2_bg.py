"""Native Brian2 2.9 version of the basal-ganglia network (models/bg_healthy.yaml) for
benchmarks/bg_network.py (runtime mode, Cython target, as bridge uses).

    python benchmarks/native/brian2_bg.py SCALE DURATION_MS

Written the idiomatic way: hand-written equations with units for the three cell types, parameters as
namespace constants per population, ``Synapses.connect(p=...)`` drawn by Brian2, the three-state
Tsodyks-Markram update (NEST's tsodyks_synapse) event-driven in ``on_pre``, and a ``PoissonGroup`` per
drive connected one-to-one (the same spikes reach AMPA and NMDA).  The numerical work matches bridge's:
bridge integrates these located-threshold cells with 10 classical Runge-Kutta sub-steps per dt = 0.1 ms
(capping V at the cut-off inside the right-hand sides), so the native cells run ``rk4`` on their own
0.01 ms clock (threshold tested every 0.01 ms) with the same cap, while the drives run at 0.1 ms.
Compiled Cython code is cached in ``$NATIVE_CACHE_DIR/brian2``.  The first ``run(0*ms)`` generates and
compiles the code (setup), the second run simulates.  Prints one ``NATIVE {json}`` line.
"""
import os
import sys
import time

from common import cache_dir, report

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from bg_network import network  # noqa: E402

import brian2 as b2  # noqa: E402
from brian2 import Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, mM, ms, mV, nS, pA, pF  # noqa: E402

UNITS = {"pF": pF, "nS/mV": nS / mV, "mV": mV, "1/ms": 1 / ms, "nS": nS, "pA": pA, "ms": ms, "1": 1, "mM": mM,
         "pA/mV**3": pA / mV ** 3}
SUBSTEPS = 10
CHANNELS = {"msn": ("ampa", "nmda", "gaba", "gaba2", "gaba3"), "fsn": ("ampa", "gaba", "gaba2", "gaba3"),
            "adex_bg": ("ampa", "ampa2", "nmda", "gaba", "gaba2")}
CAP = "clip(V_m, -inf*mV, V_peak)"  # V inside the right-hand sides, as bridge's located update
MEMBRANE = {
    "msn": f"k*({CAP} - V_r)*({CAP} - V_t) - u + I_e",
    "fsn": f"k*({CAP} - V_r)*({CAP} - V_t) - u + I_e",
    "adex_bg": f"g_L*(E_L - {CAP}) + g_L*Delta_T*exp(({CAP} - V_T)/Delta_T) - z + I_e",
}
RECOVERY = {
    "msn": f"du/dt = a*(b*({CAP} - V_r) - u) : amp",
    "fsn": f"du/dt = a*(b*clip({CAP} - V_b, -inf*mV, 0*mV)**3 - u) : amp",
    "adex_bg": f"dz/dt = (a*({CAP} - E_L) - z)/tau_w : amp",
}
RESET = {"msn": "V_m = c\nu += d", "fsn": "V_m = c\nu += d", "adex_bg": "V_m = V_reset\nz += d"}


def equations(kind: str) -> str:
    currents = []
    for channel in CHANNELS[kind]:
        current = f"beta_{channel}*g_{channel}*(E_{channel} - {CAP})"
        if channel == "nmda":
            current += f"/(1 + Mg/(3.57*mM)*exp(-0.062*{CAP}/mV))"
        currents.append(current)
    lines = [f"dV_m/dt = ({MEMBRANE[kind]} + {' + '.join(currents)})/C_m : volt", RECOVERY[kind]]
    lines += [f"dg_{c}/dt = -g_{c}/tau_{c} : siemens" for c in CHANNELS[kind]]
    return "\n".join(lines)


def tsodyks_code(receptor: str, tau_fac: float) -> tuple[str, str]:
    """Per-synapse state and on_pre of NEST's tsodyks_synapse (exact propagation between spikes)."""
    facilitation = "u_syn = u_syn*exp(-h/tau_fac)" if tau_fac > 0 else "u_syn = 0"
    on_pre = f"""h = t - lastupdate
    zz = 1 - x - y
    P_yy = exp(-h/tau_psc)
    P_zz = exp(-h/tau_rec)
    x += ((P_zz - 1)*tau_rec - (P_yy - 1)*tau_psc)/(tau_psc - tau_rec)*y + (1 - P_zz)*zz
    y = y*P_yy
    {facilitation}
    u_syn += U*(1 - u_syn)
    efficacy = u_syn*x
    x -= efficacy
    y += efficacy
    g_{receptor}_post += w*efficacy
    lastupdate = t"""
    return "x : 1\ny : 1\nu_syn : 1\nlastupdate : second", on_pre


def build(scale: float):
    net = network(scale)
    dt = net["dt"]
    b2.defaultclock.dt = dt * ms
    groups, objects, monitors = {}, [], []
    for name, pop in net["populations"].items():
        declared = net["types"][pop["type"]]["parameters"]
        namespace = {key: value * UNITS[str(declared[key]["unit"])] for key, value in pop["parameters"].items()}
        group = NeuronGroup(pop["size"], equations(pop["type"]), threshold="V_m >= V_peak", reset=RESET[pop["type"]],
                            method="rk4", dt=dt / SUBSTEPS * ms, namespace=namespace, name=name)
        group.V_m = pop["V_m"] * mV
        groups[name] = group
        objects.append(group)
        monitors.append(SpikeMonitor(group))
    sources = {}
    synapses = 0
    for name, pr in net["projections"].items():
        target = groups[pr["target"]]
        if pr["source"] in net["drives"]:
            if pr["source"] not in sources:
                sources[pr["source"]] = PoissonGroup(target.N, net["drives"][pr["source"]] * Hz,
                                                     name=f"drive_{pr['source']}")
                objects.append(sources[pr["source"]])
            syn = Synapses(sources[pr["source"]], target, on_pre=f"g_{pr['receptor']}_post += w",
                           delay=pr["delay"] * ms, namespace={"w": pr["weight"] * nS}, name=name)
            syn.connect(j="i")
        elif pr["tsodyks"]:
            tm = pr["tsodyks"]
            model, on_pre = tsodyks_code(pr["receptor"], tm["tau_fac"])
            syn = Synapses(groups[pr["source"]], target, model=model, on_pre=on_pre, delay=pr["delay"] * ms, name=name,
                           namespace={"w": pr["weight"] * nS, "U": tm["U"], "tau_psc": tm["tau_psc"] * ms,
                                      "tau_rec": tm["tau_rec"] * ms, "tau_fac": tm["tau_fac"] * ms})
            syn.connect(p=pr["p"])
            syn.x, syn.y, syn.u_syn, syn.lastupdate = 1.0, 0.0, 0.0, 0 * ms
        else:
            syn = Synapses(groups[pr["source"]], target, on_pre=f"g_{pr['receptor']}_post += w",
                           delay=pr["delay"] * ms, namespace={"w": pr["weight"] * nS}, name=name)
            syn.connect(p=pr["p"])
        synapses += len(syn)
        objects.append(syn)
    return Network(objects + monitors), monitors, synapses


def main():
    scale, duration = float(sys.argv[1]), float(sys.argv[2])
    started = time.perf_counter()
    b2.prefs.codegen.target = "cython"
    b2.prefs.codegen.runtime.cython.cache_dir = cache_dir("brian2")
    b2.prefs.logging.file_log = False
    b2.BrianLogger.suppress_name("synapses_dt_mismatch")  # the drives' pathways run at 0.1 ms on purpose
    b2.seed(1)
    net, monitors, synapses = build(scale)
    net.run(0 * ms)  # code generation and compilation
    built = time.perf_counter()
    net.run(duration * ms)
    simulated = time.perf_counter()
    report(built - started, simulated - built, sum(m.num_spikes for m in monitors), synapses)


if __name__ == "__main__":
    main()
