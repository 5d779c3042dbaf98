//! Qanti-kT against our deterministic anti-kT, side by side in one run (issue 6, point 6): on
//! the first 20 events of the default sample (every particle, N̄ ≈ 117; the N of each event is
//! printed first), α = 1, R = 0.8, per event:
//! - `antikt`: `JetDefinition::new(AntiKt, 0.8)?.cluster(&m)?.inclusive_jets(0.0)`;
//! - `qantikt_primal`: one Qanti-kT run with `f64` and its mH (`with_run(seed, i, ..)`);
//! - `triple`: one pruned-triple gradient sample, R and α together
//!   (`gradient(|[r, a]| qanti_kt_mh(..)).run(i)`: each alternative world resumed from its
//!   draw, the default);
//! - `triple_carried`: the same with the worlds carried through the clustering
//!   (`QantiKt::new().carry_worlds(true)`);
//! - `score`: one score-function gradient sample (`[Score<2>; 2]`);
//! - `rerun`: one `stochad::rerun` gradient sample (a recording run with `Recorder<2>`, then
//!   the `f64` program once per distinct kept flip);
//! - `resumed`: the same sample by `stochad::rerun_resumable(MhProgram::new(..))`, each kept
//!   flip's history clustered from its step on (the same estimates bit for bit);
//! - `keep4`: one keep-4 triple gradient sample (`[StochasticTriple<Keep<4, 4>, 2>; 2]`: inline
//!   room for its 4 worlds);
//! - `keep16_signed_fan2`: one sample of the keep-16 triple with `Coupling::SignedFan(2)`, the
//!   cheaper of the variance study's fanned rows (`[KeepTriple<16, 2>; 2]`; the score mix and
//!   output control variate it is run with there add the score's bookkeeping and a few `f64`
//!   twin runs);
//! - `rerun_signed_r64`: one sample of the variance study's best estimator,
//!   `rerun_resumable` with `Coupling::Signed`, 64 flips per direction and the score mix (its
//!   output control variate adds 4 `f64` twin runs per sample there).
//!
//! Each iteration runs all 20 events (sample index i + 1 each time, so each iteration draws new
//! histories); criterion's throughput line gives events per second, i.e. the time per event.
//! Before the criterion group, a table of each event's N and its own times (mean of a few runs
//! timed by hand, not by criterion) shows how each cost grows with N.
//! `cargo bench --bench qantikt` takes about three minutes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::default_sample;
use stochad::jets::qantikt::{qanti_kt_mh, MhProgram, QantiKt};
use stochad::jets::FourMomentum;
use stochad::sample::Coupling;
use stochad::triple::Keep;
use stochad::{gradient, gradient_with, with_run, KeepTriple, KeptFlips, Score, StochasticTriple};

const EVENTS: usize = 20;
const R: f64 = 0.8;
const ALPHA: f64 = 1.0;
const SEED: u64 = 1;

/// Qanti-kT with the signed coupling fanned out to 2 targets per side.
fn signed_fan2() -> QantiKt {
    QantiKt::new().coupling(Coupling::SignedFan(2))
}

/// Qanti-kT with the signed coupling.
fn signed() -> QantiKt {
    QantiKt::new().coupling(Coupling::Signed)
}

fn read_events() -> Vec<Vec<FourMomentum>> {
    default_sample()
        .expect("default sample")
        .take(EVENTS)
        .map(|e| {
            e.expect("default sample")
                .particles
                .iter()
                .map(|p| p.momentum)
                .collect()
        })
        .collect()
}

/// Mean time of `reps` calls of `f(rep)`, in µs.
fn mean_us(reps: u64, mut f: impl FnMut(u64) -> f64) -> f64 {
    let start = Instant::now();
    let mut sink = 0.0;
    for rep in 0..reps {
        sink += f(rep);
    }
    black_box(sink);
    start.elapsed().as_secs_f64() * 1e6 / reps as f64
}

/// Per event: N and the time of each variant (mean of a few runs), with the ratios.
fn per_event_table(events: &[Vec<FourMomentum>]) {
    let def = JetDefinition::new(Algorithm::AntiKt, R).unwrap();
    eprintln!(
        "per event (µs, mean of a few runs timed by hand):\n{:>5} {:>4} {:>9} {:>9} {:>9} {:>9} \
         {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} \
         {:>8}",
        "event",
        "N",
        "antikt",
        "primal",
        "triple",
        "carried",
        "score",
        "rerun",
        "resumed",
        "keep4",
        "k16sf2",
        "rs64",
        "pr/akt",
        "tr/pr",
        "tc/pr",
        "sc/pr",
        "rr/pr",
        "rs/pr",
        "k4/pr",
        "k16/pr",
        "rs64/pr"
    );
    let fan = signed_fan2();
    for (n, ev) in events.iter().enumerate() {
        let antikt = mean_us(20, |_| {
            def.cluster(black_box(ev))
                .unwrap()
                .inclusive_jets(0.0)
                .len() as f64
        });
        let primal = mean_us(10, |i| {
            with_run(SEED, i, || qanti_kt_mh(black_box(ev), R, ALPHA)).unwrap()
        });
        let triple = gradient(|[r, a]| qanti_kt_mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED);
        let triple = mean_us(5, |i| triple.run(i).unwrap().derivative[0]);
        let carried = QantiKt::new().carry_worlds(true);
        let carried = gradient(|[r, a]| carried.mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED);
        let carried = mean_us(5, |i| carried.run(i).unwrap().derivative[0]);
        let score = gradient_with(|[r, a]: [Score<2>; 2]| qanti_kt_mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED);
        let score = mean_us(5, |i| score.run(i).unwrap().derivative[0]);
        let rerun = stochad::rerun(
            |[r, a]| qanti_kt_mh(ev, r, a),
            |[r, a]| qanti_kt_mh(ev, r, a),
        )
        .at([R, ALPHA])
        .seed(SEED);
        let rerun = mean_us(5, |i| rerun.run(i).unwrap().derivative[0]);
        let resumed = stochad::rerun_resumable(MhProgram::new(QantiKt::new(), ev))
            .at([R, ALPHA])
            .seed(SEED);
        // Runs 1..=5: sample 0 also checks each resumed flip against the whole re-run.
        let resumed = mean_us(5, |i| resumed.run(i + 1).unwrap().derivative[0]);
        let keep4 =
            gradient_with(|[r, a]: [StochasticTriple<Keep<4, 4>, 2>; 2]| qanti_kt_mh(ev, r, a))
                .at([R, ALPHA])
                .seed(SEED);
        let keep4 = mean_us(3, |i| keep4.run(i).unwrap().derivative[0]);
        let k16 = gradient_with(|[r, a]: [KeepTriple<16, 2>; 2]| fan.cluster(ev, r, a)?.mh())
            .at([R, ALPHA])
            .seed(SEED);
        let k16 = mean_us(2, |i| k16.run(i).unwrap().derivative[0]);
        let rs64 = stochad::rerun_resumable(MhProgram::new(signed(), ev))
            .at([R, ALPHA])
            .seed(SEED)
            .keep(KeptFlips::Reservoir(64))
            .score_mix(true);
        let rs64 = mean_us(2, |i| rs64.run(i + 1).unwrap().derivative[0]);
        eprintln!(
            "{n:>5} {:>4} {antikt:>9.0} {primal:>9.0} {triple:>9.0} {carried:>9.0} {score:>9.0} \
             {rerun:>9.0} {resumed:>9.0} {keep4:>10.0} {k16:>10.0} {rs64:>10.0} {:>8.1} {:>8.1} \
             {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            ev.len(),
            primal / antikt,
            triple / primal,
            carried / primal,
            score / primal,
            rerun / primal,
            resumed / primal,
            keep4 / primal,
            k16 / primal,
            rs64 / primal
        );
    }
}

fn bench(c: &mut Criterion) {
    let events = read_events();
    let sizes: Vec<usize> = events.iter().map(Vec::len).collect();
    eprintln!(
        "qantikt bench: {EVENTS} default events, R = {R}, α = {ALPHA}; particles per event {:?}, \
         mean {:.1}",
        sizes,
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
    );
    // Not in `cargo test --benches` (criterion's test mode runs each benchmark once).
    if !std::env::args().any(|a| a == "--test") {
        per_event_table(&events);
    }
    let mut group = c.benchmark_group(format!("qantikt_{EVENTS}_events"));
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    let def = JetDefinition::new(Algorithm::AntiKt, R).unwrap();
    group.bench_function("antikt", |b| {
        b.iter(|| {
            let mut n = 0;
            for ev in &events {
                n += def
                    .cluster(black_box(ev))
                    .unwrap()
                    .inclusive_jets(0.0)
                    .len();
            }
            black_box(n)
        })
    });

    let mut i = 0u64;
    group.bench_function("qantikt_primal", |b| {
        b.iter(|| {
            i += 1;
            let mut m = 0.0;
            for ev in &events {
                m += with_run(SEED, i, || qanti_kt_mh(black_box(ev), R, ALPHA)).unwrap();
            }
            black_box(m)
        })
    });

    // One estimator: a configured gradient per event, one sample of each per iteration.
    macro_rules! estimator {
        ($name:literal, $make:expr) => {{
            let grads: Vec<_> = events.iter().map($make).collect();
            group.bench_function($name, |b| {
                b.iter(|| {
                    i += 1;
                    let mut d = 0.0;
                    for g in &grads {
                        d += g.run(i).unwrap().derivative[0];
                    }
                    black_box(d)
                })
            });
        }};
    }
    estimator!("triple", |ev: &Vec<FourMomentum>| {
        gradient(move |[r, a]| qanti_kt_mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED)
    });
    estimator!("triple_carried", |ev: &Vec<FourMomentum>| {
        let carried = QantiKt::new().carry_worlds(true);
        gradient(move |[r, a]| carried.mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED)
    });
    estimator!("score", |ev: &Vec<FourMomentum>| {
        gradient_with(move |[r, a]: [Score<2>; 2]| qanti_kt_mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED)
    });
    estimator!("rerun", |ev: &Vec<FourMomentum>| {
        stochad::rerun(
            move |[r, a]| qanti_kt_mh(ev, r, a),
            move |[r, a]| qanti_kt_mh(ev, r, a),
        )
        .at([R, ALPHA])
        .seed(SEED)
    });
    estimator!("resumed", |ev: &Vec<FourMomentum>| {
        stochad::rerun_resumable(MhProgram::new(QantiKt::new(), ev))
            .at([R, ALPHA])
            .seed(SEED)
    });
    estimator!("keep4", |ev: &Vec<FourMomentum>| {
        gradient_with(move |[r, a]: [StochasticTriple<Keep<4, 4>, 2>; 2]| qanti_kt_mh(ev, r, a))
            .at([R, ALPHA])
            .seed(SEED)
    });
    let fan = signed_fan2();
    estimator!("keep16_signed_fan2", |ev: &Vec<FourMomentum>| {
        gradient_with(move |[r, a]: [KeepTriple<16, 2>; 2]| fan.cluster(ev, r, a)?.mh())
            .at([R, ALPHA])
            .seed(SEED)
    });
    estimator!("rerun_signed_r64", |ev: &Vec<FourMomentum>| {
        stochad::rerun_resumable(MhProgram::new(signed(), ev))
            .at([R, ALPHA])
            .seed(SEED)
            .keep(KeptFlips::Reservoir(64))
            .score_mix(true)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
