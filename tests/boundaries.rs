//! Derivatives at a boundary of a parameter's domain — p = 0 or 1, λ = 0, a zero categorical
//! weight — with the parameter moving inward or outward. Outward, no coupling exists (the
//! probability of an outcome would go below 0); the derivative is the one-sided one of the
//! expectation, as the exact oracle takes it, and every unbiased triple backend must give it,
//! not a silent 0.

use stochad::sample::{bernoulli, binomial, categorical, geometric, poisson};
use stochad::{
    derivative, derivative_with, exact, AllWorldsTriple, Error, KeepTriple, Result, Scalar, Score,
    Triple,
};

/// The programs: (what, θ, analytic dE/dθ). Each draw's parameter sits on its boundary at θ.
const CASES: [(&str, f64, f64); 10] = [
    // E[3k + 1] = 3p + 1
    ("bernoulli, p = θ at 1 (outward)", 1.0, 3.0),
    ("bernoulli, p = 2 − θ at 1 (inward)", 1.0, -3.0),
    ("bernoulli, p = −θ at 0 (outward)", 0.0, -3.0),
    ("bernoulli, p = θ at 0 (inward)", 0.0, 3.0),
    // E[k²] = 3p + 6p²
    ("binomial(3), p = θ at 1 (outward)", 1.0, 15.0),
    ("binomial(3), p = −θ at 0 (outward)", 0.0, -3.0),
    // failures before the first success: E[k] = (1 − p)/p
    ("geometric, p = θ at 1 (outward)", 1.0, -1.0),
    // E[k² + k] = 2λ + λ²
    ("poisson, λ = −θ at 0 (outward)", 0.0, -2.0),
    // weights (1, w): E[5k] = 5w/(1 + w)
    ("categorical, w = −θ at 0 (outward)", 0.0, -5.0),
    ("categorical, w = θ at 0 (inward)", 0.0, 5.0),
];

fn program<S: Scalar>(case: usize, t: S) -> Result<S> {
    match case {
        0 => Ok(bernoulli(t)? * 3.0 + 1.0),
        1 => Ok(bernoulli(-t + 2.0)? * 3.0 + 1.0),
        2 => Ok(bernoulli(-t)? * 3.0 + 1.0),
        3 => Ok(bernoulli(t)? * 3.0 + 1.0),
        4 => binomial(3, t).map(|k| k * k),
        5 => binomial(3, -t).map(|k| k * k),
        6 => geometric(t),
        7 => poisson(-t).map(|k| k * k + k),
        8 => Ok(categorical(&[S::from(1.0), -t])? * 5.0),
        _ => Ok(categorical(&[S::from(1.0), t])? * 5.0),
    }
}

#[test]
fn the_oracle_takes_the_one_sided_derivative_both_ways() {
    for (case, (what, at, want)) in CASES.into_iter().enumerate() {
        let r = exact::derivative(|t| program(case, t), at).unwrap();
        assert!(
            (r.gradient[0] - want).abs() < 1e-9,
            "{what}: oracle {} vs analytic {want}",
            r.gradient[0]
        );
    }
}

fn check<S: Scalar + stochad::Estimator<1>>(backend: &str) {
    for (case, (what, at, want)) in CASES.into_iter().enumerate() {
        let d = derivative_with(|t: S| program(case, t))
            .at(at)
            .samples(400)
            .seed(3)
            .estimate()
            .unwrap();
        assert!(
            (d.mean - want).abs() <= 5.0 * d.stderr + 1e-9,
            "{backend}, {what}: {d} vs exact {want}"
        );
    }
}

#[test]
fn every_triple_backend_agrees_at_the_boundaries() {
    check::<Triple>("pruned");
    check::<KeepTriple<4>>("keep-4");
    check::<AllWorldsTriple>("all-worlds");
}

/// The score function never draws the outcomes that gain probability at a boundary, so it is
/// biased there (at p = 1: E[f·∂log p] = f(1) instead of f(1) − f(0)): a typed error, never a
/// silent number; likewise a triple's score mix. Inside the domain both run.
#[test]
fn the_score_function_refuses_a_moving_support() {
    for (case, (what, at, _)) in CASES.into_iter().enumerate() {
        let score = derivative_with(|t: Score| program(case, t))
            .at(at)
            .samples(8)
            .estimate();
        assert!(
            matches!(score, Err(Error::ScoreAtBoundary { .. })),
            "{what}: {score:?}"
        );
        let mix = derivative(|t| program(case, t))
            .at(at)
            .samples(8)
            .score_mix(true)
            .estimate();
        assert!(
            matches!(mix, Err(Error::ScoreAtBoundary { .. })),
            "{what}: {mix:?}"
        );
    }
    // Inside: p = 0.5 and a weight of 0.5 (cases 0 and 9 away from their boundaries).
    for case in [0, 9] {
        let score = derivative_with(|t: Score| program(case, t))
            .at(0.5)
            .samples(8);
        assert!(score.estimate().is_ok());
        assert!(derivative(|t| program(case, t))
            .at(0.5)
            .samples(8)
            .score_mix(true)
            .estimate()
            .is_ok());
    }
}
