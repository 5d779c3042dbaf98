//! Logarithms of binomial and Poisson probabilities that stay accurate for large counts
//! (C. Loader, "Fast and accurate computation of binomial probabilities", 2000): the terms that
//! cancel in `k ln λ − λ − ln k!` are computed as one small deviance `bd0` instead.

use crate::scalar::Scalar;

/// `ln(k!) − (k ln k − k + ½ ln(2πk))`, the error of Stirling's formula, for integer `k ≥ 1`.
pub(crate) fn stirlerr(k: f64) -> f64 {
    if k <= 15.0 {
        // 15! is exact in f64, so the direct difference loses nothing that matters here.
        let fact: f64 = (2..=k as u64).map(|i| i as f64).product();
        fact.ln() - (k * k.ln() - k + 0.5 * (std::f64::consts::TAU * k).ln())
    } else {
        // Asymptotic series; the first omitted term is below 1e-16 for k > 15.
        let k2 = k * k;
        (1.0 / 12.0
            - (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * k2)) / k2) / k2) / k2)
            / k
    }
}

/// The deviance `x ln(x / m) + m − x ≥ 0` for `x ≥ 0`, `m > 0` (it is `m` at `x = 0`).
pub(crate) fn bd0<S: Scalar>(x: f64, m: S) -> S {
    if x == 0.0 {
        return m;
    }
    (m.recip() * x).ln() * x + m - x
}

/// `ln P(k)` of Poisson(λ) for `λ > 0`, `k ≥ 1`.
pub(crate) fn ln_poisson<S: Scalar>(lambda: S, k: f64) -> S {
    -bd0(k, lambda) - stirlerr(k) - 0.5 * (std::f64::consts::TAU * k).ln()
}

/// `ln P(k)` of Binomial(n, p) for `0 < p < 1`, `0 ≤ k ≤ n`.
pub(crate) fn ln_binomial<S: Scalar>(n: f64, p: S, k: f64) -> S {
    let q = -p + 1.0;
    if k == 0.0 {
        return (-p).ln_1p() * n;
    }
    if k == n {
        return p.ln() * n;
    }
    let consts = stirlerr(n) - stirlerr(k) - stirlerr(n - k)
        + 0.5 * (n / (std::f64::consts::TAU * k * (n - k))).ln();
    -bd0(k, p * n) - bd0(n - k, q * n) + consts
}

/// `ln C(n, k)` for `0 ≤ k ≤ n` (used where a probability is a plain product at `p ∈ {0, 1}`).
pub(crate) fn ln_choose(n: f64, k: f64) -> f64 {
    if k == 0.0 || k == n {
        return 0.0;
    }
    // ln C = ln n! − ln k! − ln (n−k)!, with each ln m! = Stirling + stirlerr.
    let lf = |m: f64| m * m.ln() - m + 0.5 * (std::f64::consts::TAU * m).ln() + stirlerr(m);
    lf(n) - lf(k) - lf(n - k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ln_fact(k: u64) -> f64 {
        (2..=k).map(|i| (i as f64).ln()).sum()
    }

    #[test]
    fn stirlerr_matches_log_factorial() {
        for k in [1u64, 2, 5, 15, 16, 17, 30, 100, 1000] {
            let kf = k as f64;
            let direct = ln_fact(k) - (kf * kf.ln() - kf + 0.5 * (std::f64::consts::TAU * kf).ln());
            assert!(
                (stirlerr(kf) - direct).abs() < 1e-12 * (1.0 + ln_fact(k)),
                "k = {k}"
            );
        }
    }

    #[test]
    fn log_pmfs_match_direct_formulas() {
        for (lambda, k) in [(0.5, 1.0), (3.0, 7.0), (40.0, 35.0)] {
            let direct = k * f64::ln(lambda) - lambda - ln_fact(k as u64);
            assert!(
                (ln_poisson(lambda, k) - direct).abs() < 1e-12,
                "λ = {lambda}, k = {k}"
            );
        }
        for (n, p, k) in [
            (3.0, 0.3, 1.0),
            (20.0, 0.7, 13.0),
            (20.0, 0.7, 0.0),
            (20.0, 0.7, 20.0),
        ] {
            let direct = ln_choose(n, k) + k * f64::ln(p) + (n - k) * f64::ln(1.0 - p);
            assert!(
                (ln_binomial(n, p, k) - direct).abs() < 1e-12,
                "n = {n}, p = {p}, k = {k}"
            );
        }
        assert!((ln_choose(20.0, 10.0) - 184_756f64.ln()).abs() < 1e-12);
    }
}
