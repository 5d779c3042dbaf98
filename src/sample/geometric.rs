//! Geometric(p), counting failures before the first success.

use super::family::{Family, Jump};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Geometric(p), parameters `[p]` with `0 < p ≤ 1`: the number of failures before the first
/// success, `P(k) = p (1 − p)^k` for `k = 0, 1, …`.
///
/// Sampled by the closed-form inversion `k = ⌊ln(1 − u) / ln(1 − p)⌋`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Geometric;

impl Geometric {
    /// The enumeration support is cut at this many outcomes even if its tail is heavier than
    /// asked (the exact oracle then reports the larger truncated mass).
    pub const MAX_SUPPORT: usize = 1 << 24;
}

impl Family for Geometric {
    fn name(&self) -> &'static str {
        "geometric"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        let p = params[0];
        if !(p > 0.0 && p <= 1.0) {
            return Err(Error::InvalidParameter {
                what: "geometric: p",
                value: p,
                expected: "(0, 1]",
            });
        }
        Ok(())
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        let p = params[0];
        if p >= 1.0 {
            return 0.0;
        }
        // F(k) = 1 − (1 − p)^(k+1) > u  ⇔  k + 1 > ln(1 − u) / ln(1 − p); ln_1p keeps small p
        // and u near 1 accurate, and u < 1 keeps the ratio finite.
        let r = (-u).ln_1p() / (-p).ln_1p();
        r.floor().max(0.0)
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        let p = params[0];
        if k < 0.0 || k.fract() != 0.0 {
            return S::zero();
        }
        if p.primal_value() < 1.0 {
            p * ((-p).ln_1p() * k).exp()
        } else {
            // At p = 1 the product form has the right one-sided derivative (−1 at k = 1).
            p * (-p + 1.0).powi(k.min(i32::MAX as f64) as i32)
        }
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        let (p, d) = (params[0], tangents[0]);
        let mut j = Vec::with_capacity(1);
        if d > 0.0 && k > 0.0 {
            j.push(Jump {
                target: k - 1.0,
                weight: d * k / (p * (1.0 - p)),
            });
        } else if d < 0.0 {
            j.push(Jump {
                target: k + 1.0,
                weight: -d * (k + 1.0) / p,
            });
        }
        j
    }

    /// `0, 1, …, K` with `P(X > K) = (1 − p)^(K+1) < tail`, at most [`Geometric::MAX_SUPPORT`].
    /// At p = 1 only P(1) = (1 − p)·p moves to first order.
    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        if params[0] >= 1.0 {
            vec![1.0]
        } else {
            Vec::new()
        }
    }

    fn support(&self, params: &[f64], tail: f64) -> Vec<f64> {
        let p = params[0];
        let len = if p >= 1.0 {
            1.0
        } else {
            (tail.ln() / (-p).ln_1p()).ceil().max(1.0)
        };
        let len = if len.is_nan() {
            1
        } else {
            (len.min(Self::MAX_SUPPORT as f64)) as usize
        };
        (0..len).map(|k| k as f64).collect()
    }
}
