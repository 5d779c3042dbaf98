#!/usr/bin/env python3
"""Cluster the default event sample with FastJet and write the reference jets for
tests/fastjet_agreement.rs.

    pip install fastjet==3.5.2.0     # scikit-hep bindings, FastJet 3.5.2
    python3 tools/fastjet_reference.py [--events data/zh_llbb_13p6tev_particles.csv.gz]
                                       [--output tests/data/fastjet_reference.csv.gz]
                                       [--radii 0.2,0.4,0.8,1.2]

The pile-up reference (issue 9) is made from the two committed pile-up samples at R = 0.4, 1.0:

    python3 tools/fastjet_reference.py --radii 0.4,1.0 \
        --events tests/data/zh_pileup_mu50_particles.csv.gz \
        --events tests/data/zh_pileup_mu200_particles.csv.gz \
        --output tests/data/fastjet_reference_pileup.csv.gz

(with several --events files the event key is <file position> * 1000 + <event number>).

The tie reference: two events of pile-up particles repeated exactly (every distance between
copies is 0, so exact ties decide the order of merges), clustered with each named strategy:

    python3 tools/fastjet_reference.py --radii 0.4,1.0 --events tests/data/ties_particles.csv.gz \
        --strategies Best,N2MinHeapTiled,N2MHTLazy9,N2MHTLazy25 \
        --output tests/data/fastjet_reference_ties.csv.gz

For every event, algorithm (antikt, kt, cambridge) and R in {0.2, 0.4, 0.8, 1.2} it clusters all
particles with FastJet's default strategy (Best), takes sorted_by_pt(inclusive_jets(0)) and writes

    L,<alg>,<R>,<event>,<label of particle 0> <label of particle 1> ...
        the jet (its position in the pt-sorted list) each particle ends up in: this pins down
        every jet's constituents, including the soft single-particle jets;
    J,<alg>,<R>,<event>,<jet>,<px>,<py>,<pz>,<e>,<n_constituents>
        the four-momentum (repr: shortest round-trip double) of every jet with pt >= 10 GeV.

The labels check every jet's constituents (and, with them, the pt order of all jets); the stored
momenta check the jets that matter for physics to full precision (~2 MB in all). Lines beginning
with '#' are comments. Deterministic: rerunning gives the same file (gzip mtime fixed at 0).
"""

import argparse
import csv
import gzip
import io
import struct
import sys

import fastjet as fj

ALGORITHMS = {
    "antikt": fj.antikt_algorithm,
    "kt": fj.kt_algorithm,
    "cambridge": fj.cambridge_algorithm,
}
RADII = [0.2, 0.4, 0.8, 1.2]
PT_STORE = 10.0


def read_events(path):
    """Yields (event number, [(px, py, pz, e), ...]) in file order."""
    with gzip.open(path, "rt") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:5] != ["event", "px", "py", "pz", "e"]:
            sys.exit(f"{path}: unexpected header {header}")
        current, particles = None, []
        for row in reader:
            ev = int(row[0])
            if ev != current and particles:
                yield current, particles
                particles = []
            current = ev
            particles.append(tuple(float(x) for x in row[1:5]))
        if particles:
            yield current, particles


def fnv1a(jets):
    """FNV-1a (64 bit) over the little-endian bytes of px, py, pz, E of each jet, in order."""
    h = 0xCBF29CE484222325
    for j in jets:
        for byte in struct.pack("<4d", j.px(), j.py(), j.pz(), j.E()):
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", action="append", help="events file (repeatable)")
    ap.add_argument("--output", default="tests/data/fastjet_reference.csv.gz")
    ap.add_argument("--radii", default=",".join(map(str, RADII)), help="comma-separated R values")
    ap.add_argument(
        "--strategies",
        help="comma-separated FastJet strategies (e.g. Best,N2MHTLazy9); the algorithm field "
        "becomes <alg>:<strategy>",
    )
    ap.add_argument(
        "--history",
        action="store_true",
        help="also write H,<alg>,<R>,<event>,<objects>,<fnv1a>: the merged objects in order of "
        "creation (FastJet's jets() after the inputs), hashed",
    )
    args = ap.parse_args()
    strategies = args.strategies.split(",") if args.strategies else [None]
    files = args.events or ["data/zh_llbb_13p6tev_particles.csv.gz"]
    radii = [float(r) for r in args.radii.split(",")]

    out = io.StringIO()
    out.write(f"# FastJet {fj.__version__} reference jets for {' '.join(files)}\n")
    out.write("# L,alg,R,event,labels | J,alg,R,event,jet,px,py,pz,e,n (see tools/fastjet_reference.py)\n")
    n_events = 0
    events = (
        (ev if len(files) == 1 else k * 1000 + ev, particles)
        for k, path in enumerate(files)
        for ev, particles in read_events(path)
    )
    for ev, particles in events:
        n_events += 1
        for (name, alg), strategy in ((a, s) for a in ALGORITHMS.items() for s in strategies):
            for r in radii:
                pjs = []
                for i, (px, py, pz, e) in enumerate(particles):
                    p = fj.PseudoJet(px, py, pz, e)
                    p.set_user_index(i)
                    pjs.append(p)
                if strategy is None:
                    jet_def = fj.JetDefinition(alg, r)
                else:
                    jet_def = fj.JetDefinition(alg, r, getattr(fj, strategy), fj.E_scheme)
                    name = name.split(":")[0] + ":" + strategy
                cs = fj.ClusterSequence(pjs, jet_def)
                jets = fj.sorted_by_pt(cs.inclusive_jets(0.0))
                labels = [-1] * len(particles)
                for k, j in enumerate(jets):
                    cons = j.constituents()
                    for c in cons:
                        labels[c.user_index()] = k
                    pt = j.perp()
                    if pt >= PT_STORE:
                        out.write(
                            f"J,{name},{r},{ev},{k},{j.px()!r},{j.py()!r},{j.pz()!r},{j.E()!r},{len(cons)}\n"
                        )
                assert min(labels) >= 0
                if args.history:
                    merged = list(cs.jets())[len(particles):]
                    out.write(f"H,{name},{r},{ev},{len(merged)},{fnv1a(merged):016x}\n")
                out.write(f"L,{name},{r},{ev}," + " ".join(map(str, labels)) + "\n")
                del cs
    with open(args.output, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
            gz.write(out.getvalue().encode())
    print(f"{n_events} events -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
