//! Structural properties, checked over random programs with proptest (few cases each).
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::random_walk;
use proptest::prelude::*;
use stochad::sample::{bernoulli, categorical};
use stochad::{
    derivative, derivative_with, with_run, AllWorldsTriple, Dual, Result, Scalar, Score,
};

/// A program with a categorical and Bernoullis whose probabilities depend on θ and on earlier
/// draws.
fn mixed<S: Scalar>(t: S, k: usize) -> Result<S> {
    let mut acc = S::zero();
    for i in 0..k {
        let w = [
            t,
            t * t + 0.1,
            acc * 0.1 + 0.5,
            S::from(0.2 + i as f64 * 0.1),
        ];
        let c = categorical(&w)?;
        let b = bernoulli((c * t * 0.2 + 0.1).min(S::from(0.9)))?;
        acc = acc + c * b + t;
    }
    Ok(acc * acc)
}

proptest! {
    // Bounded so a bug fails fast: 16 cases, at most 64 shrinking steps and 20 s of shrinking.
    #![proptest_config(ProptestConfig {
        cases: 16,
        max_shrink_iters: 64,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_number_type_takes_the_primal_path(seed in any::<u64>(), t in 0.2f64..0.9, k in 1usize..6) {
        let tr = derivative(|t| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
        let ex = derivative_with(|t: AllWorldsTriple| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
        let sc = derivative_with(|t: Score| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
        let du = derivative_with(|t: Dual| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
        for i in 0..8 {
            let plain = with_run(seed, i as u64, || mixed(t, k)).unwrap();
            prop_assert_eq!(tr[i].value, plain);
            prop_assert_eq!(ex[i].value, plain);
            prop_assert_eq!(sc[i].value, plain);
            prop_assert_eq!(du[i].value, plain);
        }
    }

    #[test]
    fn same_seed_same_bits(seed in any::<u64>(), p in 20.0f64..80.0) {
        let a = derivative(|p| random_walk(p, 15)).at(p).samples(64).seed(seed).runs().unwrap();
        let b = derivative(|p| random_walk(p, 15)).at(p).samples(64).seed(seed).runs().unwrap();
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(x.derivative[0].to_bits(), y.derivative[0].to_bits());
        }
    }

    /// Pruning keeps one of the perturbations that meet and reweights it to the total |weight|:
    /// when every jump moves the output the same way (all δ > 0, all Δ = +1), the pruned estimate
    /// equals the all-worlds backend's sum of weights, run by run.
    #[test]
    fn pruning_reweights_to_the_total(seed in any::<u64>(), ps in prop::collection::vec(0.05f64..0.95, 1..8)) {
        let sum = |ps: &[f64]| {
            let ps = ps.to_vec();
            move |t: stochad::Triple| -> Result<stochad::Triple> {
                ps.iter().map(|&p| bernoulli(t * p)).sum()
            }
        };
        let sum_exact = |ps: &[f64]| {
            let ps = ps.to_vec();
            move |t: AllWorldsTriple| -> Result<AllWorldsTriple> {
                ps.iter().map(|&p| bernoulli(t * p)).sum()
            }
        };
        let a = derivative(sum(&ps)).at(0.9).samples(32).seed(seed).runs().unwrap();
        let b = derivative_with(sum_exact(&ps)).at(0.9).samples(32).seed(seed).runs().unwrap();
        for (x, y) in a.iter().zip(&b) {
            prop_assert!((x.derivative[0] - y.derivative[0]).abs() <= 1e-12 * (1.0 + y.derivative[0].abs()),
                "pruned {} vs exact {}", x.derivative[0], y.derivative[0]);
        }
    }
}

/// Pruning with unequal Δ and weights of both signs: the pruned triple keeps one of the worlds
/// that meet with probability ∝ |weight| and reweights it, so over the pruning coins it averages
/// to the all-worlds backend's Σ weight·Δ of the same run. Compared run by run on the same primal
/// paths (the paired difference isolates the pruning coins) and against the analytic derivative.
#[test]
fn pruning_with_unequal_jumps_matches_the_exact_backend() {
    // 1·Bernoulli(0.9θ) + 5·Bernoulli(0.2θ) − 2·Bernoulli(1 − 0.5θ): derivative 0.9 + 1 + 1 = 2.9.
    // At θ = 0.9 the first coin's jump weighs 0.9/0.19 ≈ 4.7, the second's 0.2/0.82 ≈ 0.24, the
    // third's −0.5/0.55 ≈ −0.9; their Δ are +1, +5 and +2.
    fn prog<S: Scalar>(t: S) -> Result<S> {
        Ok(bernoulli(t * 0.9)? + bernoulli(t * 0.2)? * 5.0 - bernoulli(-(t * 0.5) + 1.0)? * 2.0)
    }
    let (theta, want, n) = (0.9, 2.9, 40_000);
    let pruned = derivative(|t| prog(t))
        .at(theta)
        .samples(n)
        .seed(40)
        .runs()
        .unwrap();
    let exact = derivative_with(|t: AllWorldsTriple| prog(t))
        .at(theta)
        .samples(n)
        .seed(40)
        .runs()
        .unwrap();
    let diff: Vec<f64> = pruned
        .iter()
        .zip(&exact)
        .map(|(p, e)| {
            assert_eq!(p.value, e.value, "the same primal path");
            p.derivative[0] - e.derivative[0]
        })
        .collect();
    let mean = diff.iter().sum::<f64>() / n as f64;
    let var = diff.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    // Pruning happened in a good share of the runs (the difference is not trivially 0).
    assert!(diff.iter().filter(|d| d.abs() > 1e-9).count() > n / 10);
    assert!(
        5.0 * se < 0.05 * want,
        "too weak: 5σ̂ = {} vs |d| = {want}",
        5.0 * se
    );
    assert!(
        mean.abs() < 5.0 * se,
        "pruned − exact = {mean} ± {se} over the same runs"
    );
    let mean_of = |runs: &[stochad::estimate::RunOutput<1>]| {
        runs.iter().map(|s| s.derivative[0]).sum::<f64>() / n as f64
    };
    let (p, e) = (mean_of(&pruned), mean_of(&exact));
    let se_e = {
        let v = exact
            .iter()
            .map(|s| (s.derivative[0] - e).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        (v / n as f64).sqrt()
    };
    assert!(5.0 * se_e < 0.05 * want, "too weak: 5σ̂ = {}", 5.0 * se_e);
    assert!(
        (e - want).abs() < 5.0 * se_e,
        "all-worlds backend {e} ± {se_e} vs {want}"
    );
    assert!((p - e - mean).abs() < 1e-9);
}
