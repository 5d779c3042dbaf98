//! The dress rehearsal for the jet clusterer: four objects; at each step a categorical over
//! "merge objects i and j" (pairs) and "retire object i" (singles), with weights depending on θ
//! and on the current objects, until none is active; the output is the sum of the two largest
//! retired objects (non-smooth). Written once, generic; every estimator that claims no bias must
//! match the exact oracle, and all number types must take the same primal path.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::{assert_close, assert_value_close, check_powered, ms};
use stochad::sample::Coupling;
use stochad::toys::structural_toy;
use stochad::{derivative, derivative_with, exact, AllWorldsTriple, Dual, Score};

/// The exact oracle's E[f] and dE/dθ of the toy (the coupling changes the estimators, not the
/// expectation).
fn oracle(theta: f64) -> (f64, f64) {
    let ex = exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), theta).unwrap();
    (ex.value, ex.gradient[0])
}

#[test]
fn stochastic_ad_and_score_match_the_exact_oracle() {
    // The proportional coupling (the default) and the score function at two points.
    for theta in [0.7, 1.3] {
        let (value, d) = oracle(theta);
        let c = Coupling::Proportional;
        let t = derivative(|t| structural_toy(t, c))
            .at(theta)
            .samples(40_000);
        let t = t.seed(1).estimate().unwrap();
        assert_value_close(&format!("E[f] θ={theta}"), t.value, t.value_stderr, value);
        check_powered(&format!("pruned {c:?} θ={theta}"), d, 20_000, |n| {
            let t = derivative(|t| structural_toy(t, c)).at(theta).samples(n);
            ms(t.seed(1).estimate().unwrap())
        });
        check_powered(&format!("exact {c:?} θ={theta}"), d, 20_000, |n| {
            let e = derivative_with(|t: AllWorldsTriple| structural_toy(t, c)).at(theta);
            ms(e.samples(n).seed(2).estimate().unwrap())
        });
        check_powered(&format!("score θ={theta}"), d, 20_000, |n| {
            let s = derivative_with(|t: Score| structural_toy(t, c)).at(theta);
            ms(s.samples(n).seed(3).estimate().unwrap())
        });
    }
    // The inversion coupling's per-sample standard deviation grows from 1.8 at θ = 0.3 to 5–8
    // at θ = 1.3 (where |d| is also smaller: power there would take 6–16 million samples), so it
    // is checked where it is cheapest to check with power.
    let theta = 0.3;
    let (_, d) = oracle(theta);
    let c = Coupling::Inversion;
    check_powered(&format!("pruned {c:?} θ={theta}"), d, 20_000, |n| {
        let t = derivative(|t| structural_toy(t, c)).at(theta).samples(n);
        ms(t.seed(1).estimate().unwrap())
    });
    check_powered(&format!("exact {c:?} θ={theta}"), d, 20_000, |n| {
        let e = derivative_with(|t: AllWorldsTriple| structural_toy(t, c)).at(theta);
        ms(e.samples(n).seed(2).estimate().unwrap())
    });
}

#[test]
fn all_number_types_share_the_primal_path() {
    let c = Coupling::Proportional;
    let t = derivative(|t| structural_toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let s = derivative_with(|t: Score| structural_toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    let d = derivative_with(|t: Dual| structural_toy(t, c))
        .at(0.9)
        .samples(300)
        .seed(5)
        .runs()
        .unwrap();
    for i in 0..300 {
        let plain = stochad::with_run(5, i as u64, || structural_toy(0.9, c)).unwrap();
        assert_eq!((t[i].value, s[i].value, d[i].value), (plain, plain, plain));
    }
}

#[test]
fn score_mix_stays_unbiased_and_beats_both() {
    let theta = 0.7;
    let ex = exact::derivative(|t: Dual| structural_toy(t, Coupling::Proportional), theta).unwrap();
    let d = derivative(|t| structural_toy(t, Coupling::Proportional))
        .at(theta)
        .samples(40_000);
    let mixed = d.seed(8).score_mix(true).estimate().unwrap();
    assert_close("score mix", mixed.mean, mixed.stderr, ex.gradient[0]);
    let plain = derivative(|t| structural_toy(t, Coupling::Proportional))
        .at(theta)
        .samples(40_000);
    let plain = plain.seed(8).estimate().unwrap();
    let score = derivative_with(|t: Score| structural_toy(t, Coupling::Proportional)).at(theta);
    let score = score.samples(40_000).seed(8).estimate().unwrap();
    assert!(
        mixed.std_dev() < plain.std_dev() && mixed.std_dev() < score.std_dev(),
        "mix {} vs triple {} and score {}",
        mixed.std_dev(),
        plain.std_dev(),
        score.std_dev()
    );
    // Only triples record the score alongside their perturbations.
    let e = derivative_with(|t: Score| structural_toy(t, Coupling::Proportional)).score_mix(true);
    assert!(matches!(
        e.at(theta).estimate(),
        Err(stochad::Error::InvalidConfig { .. })
    ));
}
