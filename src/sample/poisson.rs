//! Poisson(λ).

use super::family::{Family, Jump};
use super::logpmf::ln_poisson;
use super::table::Table;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Poisson(λ), parameters `[λ]` with `0 ≤ λ ≤` [`Poisson::MAX_LAMBDA`].
///
/// Sampled by inversion of one uniform through a table of relative masses built outwards from
/// the mode `⌊λ⌋` with the ratio `P(k + 1) / P(k) = λ / (k + 1)`: no `e^−λ` underflow, cost
/// `O(√λ)` per draw. The probability mass (Loader's deviance form) is accurate to about
/// `1e-16 · max(k, λ)` relative; larger rates are rejected rather than answered wrongly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Poisson;

impl Poisson {
    /// The largest rate accepted.
    pub const MAX_LAMBDA: f64 = 1e7;

    fn table(lambda: f64) -> Table {
        Table::new(lambda.floor() as u64, u64::MAX, |k| lambda / (k + 1) as f64)
    }
}

impl Family for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        let l = params[0];
        if !(0.0..=Self::MAX_LAMBDA).contains(&l) {
            return Err(Error::InvalidParameter {
                what: "poisson: lambda",
                value: l,
                expected: "[0, 1e7]",
            });
        }
        Ok(())
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        match params[0] {
            l if l <= 0.0 => 0.0,
            l => Self::table(l).quantile(u),
        }
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        let l = params[0];
        if k < 0.0 || k.fract() != 0.0 {
            return S::zero();
        }
        if k == 0.0 {
            return (-l).exp();
        }
        if l.primal_value() > 0.0 {
            return ln_poisson(l, k).exp();
        }
        // λ = 0: λ^k e^−λ / k! has the right one-sided derivative (1 at k = 1, else 0).
        if k == 1.0 {
            l * (-l).exp()
        } else {
            S::zero()
        }
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        let (l, d) = (params[0], tangents[0]);
        let mut j = Vec::with_capacity(1);
        if d > 0.0 {
            j.push(Jump {
                target: k + 1.0,
                weight: d,
            });
        } else if d < 0.0 && k > 0.0 {
            j.push(Jump {
                target: k - 1.0,
                weight: -d * k / l,
            });
        }
        j
    }

    /// The outcomes left after dropping at most `tail / 2` of probability from each end.
    /// At λ = 0 only P(1) = λe^(−λ) moves to first order.
    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        if params[0] <= 0.0 {
            vec![1.0]
        } else {
            Vec::new()
        }
    }

    fn support(&self, params: &[f64], tail: f64) -> Vec<f64> {
        match params[0] {
            l if l <= 0.0 => vec![0.0],
            l => Self::table(l).support(tail),
        }
    }
}
