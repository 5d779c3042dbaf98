//! Structural properties, checked over random programs with proptest (few cases each).
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::random_walk;
use proptest::prelude::*;
use stochad::sample::{bernoulli, categorical};
use stochad::{derivative, derivative_with, with_run, Dual, ExactTriple, Result, Scalar, Score};

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
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_number_type_takes_the_primal_path(seed in any::<u64>(), t in 0.2f64..0.9, k in 1usize..6) {
        let tr = derivative(|t| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
        let ex = derivative_with(|t: ExactTriple| mixed(t, k)).at(t).samples(8).seed(seed).runs().unwrap();
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
    /// equals the exact backend's sum of weights, run by run.
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
            move |t: ExactTriple| -> Result<ExactTriple> {
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
