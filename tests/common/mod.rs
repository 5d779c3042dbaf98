//! Programs and exact values shared by the statistical tests.
#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses its own subset
pub use stochad::toys::{
    bernoulli_sin, bernoulli_sin_derivative as bernoulli_sin_exact, random_walk, random_walk_exact,
    sin_cos, sin_cos_derivative as sin_cos_exact,
};

/// Asserts |estimate − exact| < 5 σ̂, plus a relative floor of 1e-9 for zero-variance estimators
/// compared with an oracle whose infinite supports are truncated.
#[track_caller]
pub fn assert_close(what: &str, mean: f64, stderr: f64, exact: f64) {
    let tol = 5.0 * stderr + 1e-9 * (1.0 + exact.abs());
    assert!(
        (mean - exact).abs() < tol,
        "{what}: estimate {mean} ± {stderr} vs exact {exact} (|diff| = {} > {tol})",
        (mean - exact).abs()
    );
}
