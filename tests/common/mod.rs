//! Programs and exact values shared by the statistical tests.
#![allow(dead_code)]

use stochad::sample::bernoulli;
use stochad::{Dual, Result, Scalar};

/// The seed talk's program: x² + Bernoulli(sin²(2x)).
pub fn bernoulli_sin<S: Scalar>(x: S) -> Result<S> {
    let p = (x * 2.0).sin().powi(2);
    Ok(x * x + bernoulli(p)?)
}

/// d/dx E[x² + Bernoulli(sin²(2x))] = 2x + 4 sin 2x cos 2x.
pub fn bernoulli_sin_exact(x: f64) -> f64 {
    2.0 * x + 4.0 * (2.0 * x).sin() * (2.0 * x).cos()
}

/// The seed talk's Sin&Cos program made probabilistic: k ~ Ber(σ(θ)), f = sin θ if k = 1 else
/// cos θ, written arithmetically in k.
pub fn sin_cos<S: Scalar>(t: S) -> Result<S> {
    let k = bernoulli(t.sigmoid())?;
    Ok(k * t.sin() + (-k + 1.0) * t.cos())
}

/// d/dθ [σ sin θ + (1 − σ) cos θ].
pub fn sin_cos_exact(t: f64) -> f64 {
    let s = 1.0 / (1.0 + (-t).exp());
    s * (1.0 - s) * (t.sin() - t.cos()) + s * t.cos() - (1.0 - s) * t.sin()
}

/// The reference random walk: X₀ = 0, n steps of ±1 with P(+1) = exp(−X/p); output X².
pub fn random_walk<S: Scalar>(p: S, n: usize) -> Result<S> {
    let mut x = S::zero();
    for _ in 0..n {
        let up = bernoulli((-x / p).exp())?;
        x = x + up * 2.0 - 1.0;
    }
    Ok(x * x)
}

/// E[X²] of the random walk and its derivative in p, exactly, by propagating the distribution of
/// X through the transition matrix with dual numbers.
pub fn random_walk_exact(p: f64, n: usize) -> (f64, f64) {
    let p = Dual::<1>::variable(p, 0);
    // X ranges over −n..=n; index x + n.
    let mut dist = vec![Dual::<1>::from(0.0); 2 * n + 1];
    dist[n] = Dual::from(1.0);
    for _ in 0..n {
        let mut next = vec![Dual::<1>::from(0.0); 2 * n + 1];
        for (i, &w) in dist.iter().enumerate() {
            if w.value == 0.0 && w.tangent[0] == 0.0 {
                continue;
            }
            let x = i as f64 - n as f64;
            let up = (-(Dual::from(x)) / p).exp();
            next[i + 1] += w * up;
            next[i - 1] += w * (-up + 1.0);
        }
        dist = next;
    }
    let e: Dual<1> = dist
        .iter()
        .enumerate()
        .map(|(i, &w)| w * (i as f64 - n as f64).powi(2))
        .sum();
    (e.value, e.tangent[0])
}

/// Asserts |estimate − exact| < 5 σ̂ (plus a tiny absolute floor for degenerate estimators).
#[track_caller]
pub fn assert_close(what: &str, mean: f64, stderr: f64, exact: f64) {
    let tol = 5.0 * stderr + 1e-12;
    assert!(
        (mean - exact).abs() < tol,
        "{what}: estimate {mean} ± {stderr} vs exact {exact} (|diff| = {} > {tol})",
        (mean - exact).abs()
    );
}
