//! Pinned values (issue 8.9), like rand's value-stability tests: a few fixed-seed outputs of
//! every sampler and every estimator, compared bit for bit, so that any change of a random
//! stream, of the order in which a sampler consumes it or of an estimator's arithmetic shows
//! here and is made on purpose.
//!
//! # Updating them deliberately
//! When a change of streams is intended (say so in the CHANGELOG: results for a seed change),
//! run
//!
//! ```text
//! STOCHAD_PRINT_PINS=1 cargo test --release --test pinned -- --nocapture --test-threads=1
//! ```
//!
//! which prints every pin's new literal instead of checking it, paste the literals over the old
//! ones, and check that the diff touches only the pins the change should touch. A failing pin
//! prints its new literal too. Values are written with `{:?}`, which round-trips every `f64`
//! exactly, and compared by bit pattern (so `-0.0` differs from `0.0`).
//!
//! The values do not depend on the thread count (the drivers seed each sample from the seed and
//! its index); they do depend on the platform's `libm` for `sin`, `exp`, `ln` and friends, so a
//! mismatch on a new platform that only moves the last bits of smooth values is a platform
//! difference, not a stream change.

use stochad::jets::io;
use stochad::jets::qantikt::{qanti_kt_mh, QantiKt};
use stochad::jets::FourMomentum;
use stochad::sample::{
    bernoulli, binomial, binomial_n, categorical, categorical_logits, categorical_with, geometric,
    gumbel_softmax, poisson, Coupling,
};
use stochad::{
    derivative, derivative_with, exact, finite_difference, gradient, with_run, AllWorldsTriple,
    Dual, KeepTriple, Scalar, Score, SmoothedTriple, Triple,
};

const SEED: u64 = 2026;

/// Checks `got` against the pinned `want` bit for bit (or prints `got` in print mode).
fn pin(name: &str, got: &[f64], want: &[f64]) {
    let literal = format!("{got:?}");
    if std::env::var_os("STOCHAD_PRINT_PINS").is_some() {
        println!("{name}: {literal}");
        return;
    }
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(
        same,
        "pinned values of {name} changed (see the top of tests/pinned.rs to update them \
         deliberately)\n  pinned: {want:?}\n  now:    {literal}"
    );
}

/// Eight `f64` draws, one per run `0..8` of the seed: the primal stream alone.
fn primal(draw: impl Fn() -> stochad::Result<f64>) -> Vec<f64> {
    (0..8).map(|i| with_run(SEED, i, &draw).unwrap()).collect()
}

/// The first six per-run derivative estimates of a one-parameter stochastic-triple program: the
/// primal stream and the coupling stream together.
fn triple_runs(f: impl Fn(Triple) -> stochad::Result<Triple> + Sync, at: f64) -> Vec<f64> {
    derivative(f)
        .at(at)
        .seed(SEED)
        .samples(6)
        .runs()
        .unwrap()
        .iter()
        .map(|s| s.derivative[0])
        .collect()
}

// ---------------------------------------------------------------- samplers

#[test]
fn bernoulli_is_pinned() {
    pin(
        "bernoulli f64",
        &primal(|| bernoulli(0.3)),
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0],
    );
    pin(
        "bernoulli triple",
        &triple_runs(bernoulli, 0.3),
        &[
            0.0,
            1.4285714285714286,
            1.4285714285714286,
            1.4285714285714286,
            0.0,
            1.4285714285714286,
        ],
    );
}

#[test]
fn binomial_is_pinned() {
    pin(
        "binomial f64",
        &primal(|| binomial(7, 0.3)),
        &[3.0, 2.0, 1.0, 0.0, 3.0, 2.0, 4.0, 4.0],
    );
    pin(
        "binomial triple",
        &triple_runs(|p| binomial(7, p), 0.3),
        &[
            5.714285714285714,
            7.142857142857143,
            8.571428571428571,
            10.0,
            5.714285714285714,
            7.142857142857143,
        ],
    );
    let n_too = |x: Triple| binomial_n(x * 10.0, x);
    pin(
        "binomial_n triple",
        &triple_runs(n_too, 0.6),
        &[2.5, 5.0, 7.5, 10.0, 5.0, 7.5],
    );
}

#[test]
fn geometric_is_pinned() {
    pin(
        "geometric f64",
        &primal(|| geometric(0.3)),
        &[4.0, 2.0, 0.0, 0.0, 3.0, 1.0, 6.0, 5.0],
    );
    pin(
        "geometric triple",
        &triple_runs(geometric, 0.3),
        &[
            -19.047619047619047,
            -9.523809523809524,
            0.0,
            0.0,
            -14.285714285714286,
            -4.761904761904762,
        ],
    );
}

#[test]
fn poisson_is_pinned() {
    pin(
        "poisson f64",
        &primal(|| poisson(3.5)),
        &[5.0, 4.0, 2.0, 1.0, 4.0, 3.0, 6.0, 6.0],
    );
    pin(
        "poisson triple",
        &triple_runs(poisson, 3.5),
        &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    );
}

/// Three categories whose weights all move with the parameter.
fn weights<S: Scalar>(x: S) -> [S; 3] {
    [x, x * x + 0.5, S::constant(1.0) - x * 0.5]
}

#[test]
fn categorical_is_pinned_for_each_coupling() {
    pin(
        "categorical f64",
        &primal(|| categorical(&weights(0.4))),
        &[2.0, 2.0, 1.0, 0.0, 2.0, 1.0, 2.0, 2.0],
    );
    let inversion = |x: Triple| categorical_with(&weights(x), Coupling::Inversion);
    pin(
        "categorical inversion",
        &triple_runs(inversion, 0.4),
        &[
            -1.3239247311827957,
            -1.3239247311827957,
            -1.0915607689801237,
            0.0,
            -1.3239247311827957,
            -1.0915607689801237,
        ],
    );
    let proportional = |x: Triple| categorical_with(&weights(x), Coupling::Proportional);
    pin(
        "categorical proportional",
        &triple_runs(proportional, 0.4),
        &[
            -1.3239247311827955,
            -2.647849462365591,
            0.0,
            0.0,
            -2.647849462365591,
            0.0,
        ],
    );
    // The default coupling of `categorical` and the logits form.
    pin(
        "categorical default",
        &triple_runs(|x| categorical(&weights(x)), 0.4),
        &[
            -1.3239247311827955,
            -2.647849462365591,
            0.0,
            0.0,
            -2.647849462365591,
            0.0,
        ],
    );
    let logits = |x: Triple| categorical_logits(&weights(x));
    pin(
        "categorical_logits",
        &triple_runs(logits, 0.4),
        &[
            -0.8409119338791465,
            -1.681823867758293,
            0.0,
            0.0,
            -1.681823867758293,
            0.0,
        ],
    );
}

#[test]
fn gumbel_softmax_is_pinned() {
    let k = || gumbel_softmax(&weights(0.4), 0.5).map(|r| r.k as f64);
    pin(
        "gumbel_softmax category",
        &primal(k),
        &[1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 1.0],
    );
    let relaxed = |x: Dual| {
        let r = gumbel_softmax(&weights(x), 0.5)?;
        Ok::<_, stochad::Error>(r.z[0] + r.z[2] * 2.0)
    };
    let runs: Vec<f64> = derivative_with(relaxed)
        .at(0.4)
        .seed(SEED)
        .samples(6)
        .runs()
        .unwrap()
        .iter()
        .map(|s| s.derivative[0])
        .collect();
    pin(
        "gumbel_softmax dual",
        &runs,
        &[
            -0.5620384106579972,
            -1.7158398961904113,
            0.02160301775834489,
            0.5188893716870503,
            -0.03716145903353641,
            -1.1777431246844405,
        ],
    );
}

// ---------------------------------------------------------------- estimators

/// One program with every kind of draw, so each estimator's pin covers every sampler.
fn program<S: Scalar>(x: S) -> stochad::Result<S> {
    let p = (x * 2.0).sin().powi(2);
    let b = bernoulli(p)?;
    let k = binomial(3, p)?;
    let g = geometric(p * 0.5 + 0.25)?;
    let n = poisson(x * 2.0)?;
    let c = categorical(&weights(x))?;
    Ok(x * x + b * 2.0 + k * x + g + n * 0.5 + c)
}

const AT: f64 = 0.3;
const SAMPLES: usize = 64;

/// Mean and standard error of an estimate.
fn ms(e: stochad::Estimate) -> [f64; 2] {
    [e.mean, e.stderr]
}

#[test]
fn stochastic_triples_are_pinned() {
    let pruned = derivative(program).at(AT).seed(SEED).samples(SAMPLES);
    pin(
        "pruned triple",
        &ms(pruned.estimate().unwrap()),
        &[2.58154418151379, 1.9864792101446118],
    );
    let exact = derivative_with(program::<AllWorldsTriple>)
        .at(AT)
        .seed(SEED);
    pin(
        "exact triple",
        &ms(exact.samples(SAMPLES).estimate().unwrap()),
        &[1.1052037770045067, 0.8697883764951734],
    );
    let smoothed = derivative_with(program::<SmoothedTriple>).at(AT).seed(SEED);
    pin(
        "smoothed triple",
        &ms(smoothed.samples(SAMPLES).estimate().unwrap()),
        &[1.1052037770045076, 0.8697883764951735],
    );
    let keep = derivative_with(program::<KeepTriple<4>>).at(AT).seed(SEED);
    pin(
        "keep-4 triple",
        &ms(keep.samples(SAMPLES).estimate().unwrap()),
        &[1.1304002780187055, 0.9074150532047975],
    );
}

#[test]
fn score_dual_and_finite_differences_are_pinned() {
    let score = derivative_with(program::<Score>)
        .at(AT)
        .seed(SEED)
        .samples(SAMPLES);
    pin(
        "score, baseline",
        &ms(score.estimate().unwrap()),
        &[2.941845619236399, 1.9200259566201519],
    );
    let plain = score.baseline(false);
    pin(
        "score, no baseline",
        &ms(plain.estimate().unwrap()),
        &[3.4152894043662516, 5.2026589005762105],
    );
    let dual = derivative_with(program::<Dual>)
        .at(AT)
        .seed(SEED)
        .samples(SAMPLES);
    pin(
        "dual",
        &ms(dual.estimate().unwrap()),
        &[1.6468749999999983, 0.0956122903681553],
    );
    let fd = finite_difference(program::<f64>)
        .at([AT])
        .step(0.01)
        .seed(SEED)
        .samples(SAMPLES)
        .estimate()
        .unwrap();
    pin(
        "finite differences",
        &[fd.mean[0], fd.stderr[0]],
        &[-5.21249999999999, 3.178773457553156],
    );
}

#[test]
fn exact_oracle_is_pinned() {
    let r = exact::derivative(program, AT).unwrap();
    pin(
        "exact oracle",
        &[r.value, r.gradient[0], r.paths as f64],
        &[4.073209124613687, 1.3398647329388949, 16536.0],
    );
}

#[test]
fn qanti_kt_mh_estimate_on_the_first_default_event_is_pinned() {
    let event = io::default_sample().unwrap().next().unwrap().unwrap();
    let particles: Vec<FourMomentum<f64>> = event.particles.iter().map(|p| p.momentum).collect();
    let g = gradient(|[r, a]| qanti_kt_mh(&particles, r, a))
        .at([0.8, 1.0])
        .seed(SEED)
        .samples(4)
        .estimate()
        .unwrap();
    let primal = with_run(SEED, 0, || qanti_kt_mh(&particles, 0.8, 1.0)).unwrap();
    pin(
        "qanti-kt mH",
        &[primal, g.mean[0], g.mean[1], g.stderr[0], g.stderr[1]],
        &[
            123.02805474612319,
            35.84356396103592,
            0.0,
            28.071911665009228,
            0.0,
        ],
    );
    // The pruned triple's worlds carried through the clustering instead of resumed.
    let carried = QantiKt::new().carry_worlds(true);
    let g = gradient(|[r, a]| carried.mh(&particles, r, a))
        .at([0.8, 1.0])
        .seed(SEED)
        .samples(4)
        .estimate()
        .unwrap();
    pin(
        "qanti-kt mH, carried worlds",
        &[g.mean[0], g.mean[1], g.stderr[0], g.stderr[1]],
        &[
            22.78076168691693,
            4.574735363269356,
            37.93032159601007,
            3.966243565925453,
        ],
    );
}
