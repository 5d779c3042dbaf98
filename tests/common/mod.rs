//! Programs, exact values and the statistical checks shared by the tests.
#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses its own subset
pub use stochad::toys::{
    bernoulli_sin, bernoulli_sin_derivative as bernoulli_sin_exact, random_walk, random_walk_exact,
    sin_cos, sin_cos_derivative as sin_cos_exact,
};

/// The power every derivative check must have: 5σ̂ ≤ `POWER`·|d|, so that a bias of 5 % of the
/// derivative (and a fortiori a wrong sign or a missing term) fails the 5σ̂ test.
pub const POWER: f64 = 0.05;

/// Asserts that an unbiased derivative estimate agrees with the exact value: |mean − exact| <
/// 5σ̂ (plus a relative 1e-9 for zero-variance estimators compared with an oracle whose infinite
/// supports are truncated), and that the check has power, 5σ̂ ≤ 5 % of |exact| (a check too weak
/// to see a 5 % bias fails instead of passing silently).
#[track_caller]
pub fn assert_close(what: &str, mean: f64, stderr: f64, exact: f64) {
    assert!(
        5.0 * stderr <= POWER * exact.abs(),
        "{what}: the check is too weak: 5σ̂ = {} > {POWER}·|d| = {} (estimate {mean}, exact \
         {exact}); use more samples or a point where |d| is larger",
        5.0 * stderr,
        POWER * exact.abs()
    );
    assert_agrees(what, mean, stderr, exact);
}

/// |mean − exact| < 5σ̂ without a power requirement, for estimates of E[f] rather than of a
/// derivative: they check the primal path, which is checked bit for bit elsewhere (every number
/// type's path against the `f64` program's) and whose sampling is checked against the
/// probability mass exactly (`tests/families.rs`).
#[track_caller]
pub fn assert_value_close(what: &str, mean: f64, stderr: f64, exact: f64) {
    assert_agrees(what, mean, stderr, exact);
}

/// |mean − exact| < 5σ̂ + 1e-9·(1 + |exact|) + 1e-5·|exact|. The floors, far below the 5 %
/// the power requirement protects, cover an oracle's truncated tails (zero-variance estimators)
/// and the dependence between the runs of one batch that a leave-one-out baseline or a
/// cross-fitted score mix introduces (an O(1/n) error σ̂, computed as for independent runs, does
/// not count; it shows only when the runs' estimates are nearly constant, e.g. when the mix
/// cancels all of a single coin's variance).
#[track_caller]
fn assert_agrees(what: &str, mean: f64, stderr: f64, exact: f64) {
    let tol = 5.0 * stderr + 1e-9 * (1.0 + exact.abs()) + 1e-5 * exact.abs();
    assert!(
        (mean - exact).abs() < tol,
        "{what}: estimate {mean} ± {stderr} vs exact {exact} (|diff| = {} > {tol})",
        (mean - exact).abs()
    );
}

/// At most this many times the initial samples [`check_powered`] may use.
pub const MAX_GROWTH: usize = 64;

/// Checks an estimator against `exact` with enough samples for power: `estimate(n)` returns
/// (mean, σ̂) from `n` samples (fixed seed). It runs at `n0` and, when that leaves
/// 5σ̂ > 4 % of |exact|, once more with the samples that the first run's per-sample standard
/// deviation says bring 5σ̂ to 3.5 % of |exact| (at most `MAX_GROWTH`·n0), then asserts
/// [`assert_close`] (closeness and power) on the last run. Returns the samples used.
#[track_caller]
pub fn check_powered(
    what: &str,
    exact: f64,
    n0: usize,
    estimate: impl Fn(usize) -> (f64, f64),
) -> usize {
    let (mut mean, mut stderr) = estimate(n0);
    let mut n = n0;
    if 5.0 * stderr > 0.04 * exact.abs() {
        let sd = stderr * (n0 as f64).sqrt();
        let need = (5.0 * sd / (0.035 * exact.abs())).powi(2).ceil();
        n = if need.is_finite() {
            (need as usize).clamp(n0, MAX_GROWTH * n0)
        } else {
            MAX_GROWTH * n0
        };
        (mean, stderr) = estimate(n);
    }
    assert_close(&format!("{what} (n = {n})"), mean, stderr, exact);
    n
}

/// (mean, σ̂) of an estimate, for [`check_powered`].
pub fn ms(e: stochad::Estimate) -> (f64, f64) {
    (e.mean, e.stderr)
}

/// `f` run on a rayon pool of `threads` threads (the drivers' samples spread over them).
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Asserts that two lists of a driver's runs are the same bit for bit (values and
/// derivatives).
#[track_caller]
pub fn assert_same_runs<const N: usize>(
    a: &[stochad::estimate::RunOutput<N>],
    b: &[stochad::estimate::RunOutput<N>],
) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            x.value.to_bits(),
            y.value.to_bits(),
            "run {i}: {x:?} vs {y:?}"
        );
        assert_eq!(
            x.derivative.map(f64::to_bits),
            y.derivative.map(f64::to_bits),
            "run {i}: {x:?} vs {y:?}"
        );
    }
}
