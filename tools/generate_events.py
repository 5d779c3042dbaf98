#!/usr/bin/env python3
"""Generate the default event sample: pp -> ZH, Z -> l+l-, H -> b bbar at 13.6 TeV (Pythia 8).

Requirements (pinned): pythia8mc==8.318.2   (PyPI; optional: pyhepmc==2.16.1 for --hepmc)

The committed sample (data/zh_llbb_13p6tev_*.csv.gz, 1000 events, seed 1) was made with
pythia8mc 8.318.2. Pythia's output for a given seed depends on the version: 8.317.2 (which has a
prebuilt wheel for CPython 3.11, while 8.318.x builds from source, ~30 min on 2 cores) runs this
script unchanged but gives *different events* for the same seed (code changes between releases
alter the sequence of random draws). Measured: with 8.317.2 and seed 1, event 0 is
identical to the committed one (all 68 particles, digit for digit) and event 1 has the same Higgs
truth, but its hadronisation differs (132 particles instead of 133), and later events differ
completely. So to reproduce the committed files use 8.318.2 (not re-run here: it builds from
source); for more events of the same physics either will do.

    pip install pythia8mc==8.318.2
    python3 tools/generate_events.py --events 1000 --seed 1 --out-dir data

writes, in --out-dir,

* <prefix>_particles.csv.gz  `event,px,py,pz,e,pid` (GeV, PDG id), one row per particle: the
  final-state particles that are not neutrinos (|pid| 12, 14, 16), do not descend from the Z
  boson (its leptons and the photons they radiate), and have |eta| < 4.0 and pT > 0.5 GeV.
  Rows of one event are consecutive; events are numbered 0, 1, 2, ... in generation order.
* <prefix>_truth.csv.gz  `event,mh,b_px,b_py,b_pz,b_e,bbar_px,bbar_py,bbar_pz,bbar_e`: the
  generated Higgs mass (Breit-Wigner around 125 GeV) and the b and bbar quarks of its decay,
  taken before they shower (the daughters of the Higgs' last copy in the event record).

Numbers are written with 10 significant digits. With --hepmc FILE it also writes every event's
full record (all particles and vertices, unselected) as HepMC3 ASCII via pyhepmc: the input for
testing stochad's HepMC3 reader against the CSV this script writes for the same events
(tests/data/io/ holds two events made so with 8.317.2; stochad's reader with
drop_descendants_of(&[23]) and Selection::default_sample() gives exactly the CSV's particles).
Note: the HepMC3 reader bundled with pyhepmc 2.16.1 rejects such files ("too few vertices were
parsed"; the same happens with pyhepmc's own from_hepevt conversion). We have not traced why;
by our count the files are consistent (explicit V lines plus distinct parent particles add up
to the vertex count on each E line), and Pythia's histories do make particles name parents that
appear later in the file, which may be what that reader trips over.

Generating 1000 events takes ~20 s (measured with 8.317.2: 200 events in 4 s).

Pile-up (--pileup MU): each hard event is overlaid with a Poisson-distributed number (mean MU) of
minimum-bias events from a second Pythia instance (SoftQCD:inelastic = on, same beams), whose
final-state particles enter the particles file after the hard event's, in generation order, with
the same acceptance (not neutrinos, |eta| < 4.0, pT > --min-pt). The number of pile-up events is
drawn with Python's random.Random(seed) (Knuth's multiplication method), the minimum-bias
generator is seeded with --pileup-seed (default: seed + 1000). The pile-up sample used by the
tests and benches (issue 9) is made with --min-pt 0.1:

    python3 tools/generate_events.py --events 3 --seed 11 --pileup 50 --min-pt 0.1 \
        --out-dir tests/data --prefix zh_pileup_mu50
"""

import argparse
import gzip
import math
import random
import sys
from pathlib import Path

SETTINGS = [
    "Beams:eCM = 13600",
    "HiggsSM:ffbar2HZ = on",
    "25:m0 = 125.0",
    "25:onMode = off",
    "25:onIfAny = 5",  # H -> b bbar
    "23:onMode = off",
    "23:onIfAny = 11 13",  # Z -> e+e-, mu+mu-
    "Random:setSeed = on",
    # Everything else default: ISR, FSR, multiparton interactions, hadronisation, decays on.
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowInfo = 0",
    "Init:showChangedSettings = off",
    "Init:showProcesses = off",
    "Init:showChangedParticleData = off",
]

NEUTRINOS = {12, 14, 16}
Z_ID = 23
HIGGS_ID = 25
MAX_ABS_ETA = 4.0
MIN_PT = 0.5  # GeV (default of --min-pt)
PILEUP_SETTINGS = [
    "Beams:eCM = 13600",
    "SoftQCD:inelastic = on",
    "Random:setSeed = on",
    "Next:numberCount = 0",
    "Next:numberShowEvent = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowInfo = 0",
    "Init:showChangedSettings = off",
    "Init:showProcesses = off",
    "Init:showChangedParticleData = off",
]


def fmt(x):
    """Ten significant digits, as in the committed sample."""
    return f"{x:.10g}"


def z_descendants(event):
    """Indices of the event record that descend from any copy of the Z boson.

    Walks the mother lists with memoisation (a hadron's mothers are the partons of its string, so
    the graph is wide but shallow). Iterative, to stay clear of Python's recursion limit.
    """
    n = event.size()
    state = [None] * n  # None: unknown, True/False: decided
    for start in range(n):
        stack = [start]
        while stack:
            i = stack[-1]
            if state[i] is not None:
                stack.pop()
                continue
            if event[i].id() == Z_ID:
                state[i] = True
                stack.pop()
                continue
            pending = [m for m in event[i].motherList() if 0 < m < n and state[m] is None]
            if pending:
                stack.extend(pending)
                continue
            state[i] = any(state[m] for m in event[i].motherList() if 0 < m < n)
            stack.pop()
    return {i for i in range(n) if state[i]}


def selected_particles(event, min_pt=MIN_PT, drop_z=True):
    """The particles to cluster, in event-record order (see the module docstring)."""
    from_z = z_descendants(event) if drop_z else set()
    kept = []
    for i in range(event.size()):
        p = event[i]
        if not p.isFinal() or p.idAbs() in NEUTRINOS or i in from_z:
            continue
        if abs(p.eta()) >= MAX_ABS_ETA or p.pT() <= min_pt:
            continue
        # Copied out: the record is overwritten by the generator's next event.
        kept.append((p.px(), p.py(), p.pz(), p.e(), p.id()))
    return kept


def poisson(rng, mean):
    """A Poisson draw (Knuth: multiply uniforms until below exp(-mean)); fine up to mean ~700."""
    if mean <= 0:
        return 0
    limit, k, prod = math.exp(-mean), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def pileup_generator(seed):
    """A Pythia instance for minimum-bias (SoftQCD:inelastic) events."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in PILEUP_SETTINGS + [f"Random:seed = {seed}"]:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia (pile-up) failed to initialise")
    return pythia


def higgs_truth(event):
    """(mH, b, bbar): the Higgs' last copy and its two daughters, before showering."""
    higgs = [i for i in range(event.size()) if event[i].id() == HIGGS_ID]
    if not higgs:
        raise RuntimeError("no Higgs boson in the event record")
    h = event[event[higgs[0]].iBotCopyId()]
    daughters = [event[d] for d in h.daughterList()]
    b = [d for d in daughters if d.id() == 5]
    bbar = [d for d in daughters if d.id() == -5]
    if len(b) != 1 or len(bbar) != 1:
        raise RuntimeError(f"Higgs daughters are {[d.id() for d in daughters]}, not b bbar")
    return h.m(), b[0], bbar[0]


def four(p):
    return [p.px(), p.py(), p.pz(), p.e()]


def hepmc_event(number, event):
    """The full Pythia record as a pyhepmc GenEvent.

    Follows the vertex construction of Pythia's own Pythia8ToHepMC interface: a particle's
    production vertex is the end vertex of its first mother that has one, else a new vertex that
    the mothers without an end vertex enter. Particles are added in Pythia's order, so HepMC ids
    are Pythia indices and the file lists them in record order.
    """
    import pyhepmc

    evt = pyhepmc.GenEvent()
    evt.event_number = number
    particles = [None]  # Pythia's entry 0 is the "system" line, not a particle
    for i in range(1, event.size()):
        p = event[i]
        hp = pyhepmc.GenParticle((p.px(), p.py(), p.pz(), p.e()), p.id(), p.statusHepMC())
        hp.generated_mass = p.m()
        evt.add_particle(hp)
        particles.append(hp)
    for i in range(1, event.size()):
        hp = particles[i]
        mothers = [m for m in event[i].motherList() if m > 0]
        vertex = hp.production_vertex
        if vertex is not None and vertex.id == 0:
            vertex = None  # HepMC3's root vertex, where a particle without parents sits
        for m in mothers:
            if vertex is not None:
                break
            vertex = particles[m].end_vertex
            if vertex is not None:
                vertex.add_particle_out(hp)
        if vertex is None and mothers:
            vertex = pyhepmc.GenVertex()
            vertex.add_particle_out(hp)
            evt.add_vertex(vertex)
        if vertex is not None:
            for m in mothers:
                if particles[m].end_vertex is None:
                    vertex.add_particle_in(particles[m])
    return evt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="number of events (1000)")
    parser.add_argument("--seed", type=int, default=1, help="Pythia random seed (1)")
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="output directory")
    parser.add_argument("--prefix", default="zh_llbb_13p6tev", help="output file prefix")
    parser.add_argument("--hepmc", type=Path, help="also write the full records as HepMC3 ASCII")
    parser.add_argument("--min-pt", type=float, default=MIN_PT, help="pT cut in GeV (0.5)")
    parser.add_argument(
        "--pileup", type=float, default=0.0, help="mean number of pile-up events overlaid (0)"
    )
    parser.add_argument("--pileup-seed", type=int, help="pile-up generator seed (seed + 1000)")
    args = parser.parse_args(argv)

    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in SETTINGS + [f"Random:seed = {args.seed}"]:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia failed to initialise")

    pileup = None
    if args.pileup > 0:
        seed = args.pileup_seed if args.pileup_seed is not None else args.seed + 1000
        pileup = pileup_generator(seed)
    n_pileup_rng = random.Random(args.seed)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    particles_path = args.out_dir / f"{args.prefix}_particles.csv.gz"
    truth_path = args.out_dir / f"{args.prefix}_truth.csv.gz"
    hepmc_writer = None
    if args.hepmc is not None:
        import pyhepmc

        hepmc_writer = pyhepmc.open(str(args.hepmc), "w")

    counts = []
    with gzip.open(particles_path, "wt", newline="\n") as out, gzip.open(
        truth_path, "wt", newline="\n"
    ) as truth:
        out.write("event,px,py,pz,e,pid\n")
        truth.write("event,mh,b_px,b_py,b_pz,b_e,bbar_px,bbar_py,bbar_pz,bbar_e\n")
        number = 0
        failures = 0
        while number < args.events:
            if not pythia.next():
                failures += 1
                if failures > 100:
                    raise RuntimeError("Pythia failed to generate 100 events in a row")
                continue
            failures = 0
            event = pythia.event
            kept = selected_particles(event, args.min_pt)
            if pileup is not None:
                n_pu = poisson(n_pileup_rng, args.pileup)
                done = 0
                while done < n_pu:
                    if not pileup.next():
                        continue
                    done += 1
                    kept += selected_particles(pileup.event, args.min_pt, drop_z=False)
            if not kept:
                # Never happens at this energy; the CSV format cannot hold an empty event.
                raise RuntimeError(f"event {number} has no particle in the acceptance")
            for p in kept:
                out.write(f"{number},{','.join(fmt(x) for x in p[:4])},{p[4]}\n")
            mh, b, bbar = higgs_truth(event)
            truth.write(",".join([str(number), fmt(mh)] + [fmt(x) for x in four(b) + four(bbar)]))
            truth.write("\n")
            if hepmc_writer is not None:
                hepmc_writer.write(hepmc_event(number, event))
            counts.append(len(kept))
            number += 1

    if hepmc_writer is not None:
        hepmc_writer.close()
    mean = sum(counts) / len(counts) if counts else 0.0
    print(
        f"{len(counts)} events, {sum(counts)} particles (mean {mean:.1f}, "
        f"max {max(counts, default=0)}) -> {particles_path}, {truth_path}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
