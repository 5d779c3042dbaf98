//! The reference program list (notes §1, after StochasticAD.jl's tests) through every estimator
//! that claims no bias — pruned and exact triples, score function with baseline — against the
//! exact oracle, at both signs of the parameter's tangent, with a 5σ̂ tolerance.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::assert_close;
use stochad::exact::{self, Options};
use stochad::sample::{
    bernoulli, binomial, binomial_n, categorical_logits, categorical_with, geometric, poisson,
    Coupling,
};
use stochad::{derivative, derivative_with, Dual, ExactTriple, Result, Scalar, Score};

const N: usize = 20_000;

/// E[f] and dE/dθ by enumeration, with a tail cut deep enough for the infinite supports.
fn oracle(f: impl Fn(Dual) -> Result<Dual>, theta: f64) -> (f64, f64) {
    let o = Options {
        tail: 1e-15,
        ..Default::default()
    };
    let e = exact::expectation_with(|[x]: [Dual; 1]| f(x), [theta], o).unwrap();
    (e.value, e.gradient[0])
}

/// Checks one program (an expression in `$x`, generic over the number type) at `$theta`.
macro_rules! check {
    ($name:expr, $theta:expr, $seed:expr, |$x:ident| $body:expr) => {{
        let theta: f64 = $theta;
        let (value, exact) = oracle(|$x: Dual| $body, theta);
        let name = format!("{} at θ = {theta}", $name);
        let t = derivative(|$x| $body)
            .at(theta)
            .samples(N)
            .seed($seed)
            .estimate()
            .unwrap();
        assert_close(&format!("{name}: E[f]"), t.value, t.value_stderr, value);
        assert_close(&format!("{name}: pruned triple"), t.mean, t.stderr, exact);
        let e = derivative_with(|$x: ExactTriple| $body)
            .at(theta)
            .samples(N)
            .seed($seed + 1);
        let e = e.estimate().unwrap();
        assert_close(&format!("{name}: exact triple"), e.mean, e.stderr, exact);
        let s = derivative_with(|$x: Score| $body)
            .at(theta)
            .samples(N)
            .seed($seed + 2);
        let s = s.estimate().unwrap();
        assert_close(
            &format!("{name}: score + baseline"),
            s.mean,
            s.stderr,
            exact,
        );
    }};
}

/// The three output functions of the reference tests.
fn f<S: Scalar>(which: usize, x: S) -> S {
    match which {
        0 => x * 7.0 - 3.0,
        1 => (x + 1.0) * (x + 1.0),
        _ => (x + 1.0).sqrt(),
    }
}

#[test]
fn single_draws() {
    for w in 0..3 {
        // p = θ (δ > 0) and p = 1 − θ (δ < 0).
        for (theta, sign) in [(0.3, 1.0), (0.6, -1.0)] {
            check!(format!("bernoulli f{w} sign {sign}"), theta, 10, |x| {
                let p = if sign > 0.0 { x } else { -x + 1.0 };
                Ok(f(w, bernoulli(p)?))
            });
            check!(format!("geometric f{w} sign {sign}"), theta, 20, |x| {
                let p = if sign > 0.0 { x } else { -x + 1.0 };
                Ok(f(w, geometric(p)?))
            });
            check!(format!("poisson f{w} sign {sign}"), theta, 30, |x| {
                let l = if sign > 0.0 { x * 3.0 } else { -x * 3.0 + 3.0 };
                Ok(f(w, poisson(l)?))
            });
            check!(format!("binomial(3) f{w} sign {sign}"), theta, 40, |x| {
                let p = if sign > 0.0 { x } else { -x + 1.0 };
                Ok(f(w, binomial(3, p)?))
            });
            check!(format!("binomial(20) f{w} sign {sign}"), theta, 50, |x| {
                let p = if sign > 0.0 { x } else { -x + 1.0 };
                Ok(f(w, binomial(20, p)?))
            });
        }
    }
}

#[test]
fn categoricals_with_both_couplings() {
    for coupling in [Coupling::Inversion, Coupling::Proportional] {
        for w in 0..3 {
            for theta in [0.4, 0.8] {
                check!(
                    format!("cat[p², 1−p²] f{w} {coupling:?}"),
                    theta,
                    60,
                    |x| {
                        let p2 = x * x;
                        Ok(f(w, categorical_with(&[p2, -p2 + 1.0], coupling)?))
                    }
                );
                // Zero-probability categories around the live ones.
                check!(
                    format!("cat[0, p², 0, 0, 1−p²] f{w} {coupling:?}"),
                    theta,
                    70,
                    |x| {
                        let p2 = x * x;
                        let z = p2 * 0.0;
                        Ok(f(w, categorical_with(&[z, p2, z, z, -p2 + 1.0], coupling)?))
                    }
                );
            }
        }
    }
}

#[test]
fn softmax_categorical() {
    for theta in [-0.5, 0.7] {
        check!("softmax logits, f = (k − 1.5)²", theta, 80, |x| {
            let logits = [x, x * 2.0, -x, x * 0.0 + 0.5];
            let k = categorical_logits(&logits)?;
            Ok((k - 1.5) * (k - 1.5) + x)
        });
    }
}

#[test]
fn draws_feeding_draws() {
    // A Poisson count drives a binomial's probability and a Bernoulli: two levels of coupled
    // alternatives, checked against the oracle.
    for theta in [0.3, 0.55] {
        check!("poisson → bernoulli", theta, 90, |x| {
            let n = poisson(x * 2.0)?;
            let q = (n * x * 0.2 + 0.1).min(x * 0.0 + 0.9);
            Ok(bernoulli(q)? + n)
        });
        check!("bernoulli → geometric", theta, 100, |x| {
            let b = bernoulli(x)?;
            let g = geometric(b * 0.3 + 0.4)?;
            Ok(g * g + b)
        });
    }
}

#[test]
fn nested_binomial() {
    // E[Binomial(Binomial(10, p), p)] = 10 p²: derivative 20 p.
    for p in [0.3, 0.7] {
        check!("binomial(binomial(10, p), p)", p, 110, |x| binomial_n(
            binomial(10, x)?,
            x
        ));
        let t = derivative(|x| binomial_n(binomial(10, x)?, x))
            .at(p)
            .samples(N)
            .seed(7);
        let t = t.estimate().unwrap();
        assert_close("nested binomial vs 20p", t.mean, t.stderr, 20.0 * p);
    }
}
