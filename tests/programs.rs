//! The reference program list (notes §1, after StochasticAD.jl's tests) through every estimator
//! that claims no bias — pruned and exact triples, score function with baseline — against the
//! exact oracle, at both signs of the parameter's tangent, with a 5σ̂ tolerance.
// Programs are passed as `|x| program(x)`, the form the docs teach.
#![allow(clippy::redundant_closure)]

mod common;

use common::{assert_value_close, check_powered, ms};
use stochad::exact::{self, Options};
use stochad::sample::{
    bernoulli, binomial, binomial_n, categorical_logits, categorical_with, geometric, poisson,
    Coupling,
};
use stochad::{derivative, derivative_with, AllWorldsTriple, Dual, Result, Scalar, Score};

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

/// Checks one program (an expression in `$x`, generic over the number type) at `$theta`: E[f]
/// of the pruned triple's runs, and the pruned triple, the exact triple and the score function
/// (with baseline) against the oracle's derivative, each with the samples its power needs.
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
        assert_value_close(&format!("{name}: E[f]"), t.value, t.value_stderr, value);
        check_powered(&format!("{name}: pruned triple"), exact, N, |n| {
            let t = derivative(|$x| $body).at(theta).samples(n).seed($seed);
            ms(t.estimate().unwrap())
        });
        check_powered(&format!("{name}: exact triple"), exact, N, |n| {
            let e = derivative_with(|$x: AllWorldsTriple| $body).at(theta);
            ms(e.samples(n).seed($seed + 1).estimate().unwrap())
        });
        check_powered(&format!("{name}: score + baseline"), exact, N, |n| {
            let s = derivative_with(|$x: Score| $body).at(theta);
            ms(s.samples(n).seed($seed + 2).estimate().unwrap())
        });
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
        check_powered("nested binomial vs 20p", 20.0 * p, N, |n| {
            let t = derivative(|x| binomial_n(binomial(10, x)?, x)).at(p);
            ms(t.samples(n).seed(7).estimate().unwrap())
        });
    }
}

#[test]
fn categoricals_with_falling_probabilities() {
    // The first category loses mass as θ grows: with the inversion coupling every category's
    // upper boundary moves left (R < 0), so draws jump right — the branch the rising
    // probabilities above never take.
    for coupling in [Coupling::Inversion, Coupling::Proportional] {
        for theta in [0.35, 0.7] {
            // E[(k + 1)²] = (1 − θ) + 0.3θ·4 + 0.7θ·9: derivative 6.5.
            check!(
                format!("cat[1−θ, 0.3θ, 0.7θ] (k+1)² {coupling:?}"),
                theta,
                120,
                |x| {
                    let k = categorical_with(&[-x + 1.0, x * 0.3, x * 0.7], coupling)?;
                    Ok((k + 1.0) * (k + 1.0))
                }
            );
            // A zero-probability category between the live ones, and one past the end.
            check!(
                format!("cat[1−θ², 0, θ², 0] 7k−3 {coupling:?}"),
                theta,
                130,
                |x| {
                    let p2 = x * x;
                    let z = p2 * 0.0;
                    Ok(f(0, categorical_with(&[-p2 + 1.0, z, p2, z], coupling)?))
                }
            );
        }
    }
}

/// softmax(l)_k = e^{l_k} / Σ_j e^{l_j}, written out in f64: the reference `categorical_logits`
/// is checked against (the exact oracle shares the library's softmax, so it cannot see a wrong
/// temperature there).
fn softmax(l: &[f64]) -> Vec<f64> {
    let z: f64 = l.iter().map(|x| x.exp()).sum();
    l.iter().map(|x| x.exp() / z).collect()
}

#[test]
fn softmax_categorical_against_an_independent_softmax() {
    // logits (θ, 2θ, −θ, 0.5), output g(k) = (k − 1.5)² + θ:
    //   E = Σ p_k g_k, dE/dθ = 1 + Σ p_k g_k (l'_k − Σ_j p_j l'_j) with l' = (1, 2, −1, 0).
    let g = |k: f64| (k - 1.5) * (k - 1.5);
    let dl = [1.0, 2.0, -1.0, 0.0];
    for theta in [-0.5, 0.7] {
        let p = softmax(&[theta, 2.0 * theta, -theta, 0.5]);
        let mean_dl: f64 = p.iter().zip(dl).map(|(p, d)| p * d).sum();
        let value: f64 = theta + (0..4).map(|k| p[k] * g(k as f64)).sum::<f64>();
        let deriv: f64 = 1.0
            + (0..4)
                .map(|k| p[k] * g(k as f64) * (dl[k] - mean_dl))
                .sum::<f64>();
        let prog = |x: Dual| {
            let k = categorical_logits(&[x, x * 2.0, -x, x * 0.0 + 0.5])?;
            Ok::<_, stochad::Error>((k - 1.5) * (k - 1.5) + x)
        };
        let (v, d) = oracle(prog, theta);
        assert!(
            (v - value).abs() < 1e-12 && (d - deriv).abs() < 1e-12,
            "θ = {theta}: oracle ({v}, {d}) vs analytic softmax ({value}, {deriv})"
        );
        // The draws themselves follow the analytic softmax: the primal frequencies over many
        // runs (pruned triple's E[f] is checked by the macro; here every category separately).
        let n = 200_000;
        let mut counts = [0usize; 4];
        for i in 0..n {
            let k = stochad::with_run(140, i, || {
                categorical_logits(&[theta, 2.0 * theta, -theta, 0.5])
            })
            .unwrap();
            counts[k as usize] += 1;
        }
        for k in 0..4 {
            let freq = counts[k] as f64 / n as f64;
            let se = (p[k] * (1.0 - p[k]) / n as f64).sqrt();
            assert!(
                (freq - p[k]).abs() < 5.0 * se,
                "θ = {theta}: category {k} drawn with frequency {freq}, softmax {}",
                p[k]
            );
        }
        check_powered("softmax vs analytic: pruned triple", deriv, N, |n| {
            let t = derivative(|x| {
                let k = categorical_logits(&[x, x * 2.0, -x, x * 0.0 + 0.5])?;
                Ok::<_, stochad::Error>((k - 1.5) * (k - 1.5) + x)
            });
            ms(t.at(theta).samples(n).seed(141).estimate().unwrap())
        });
    }
}
