//! Bernoulli(p).

use super::family::{Family, Jump};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Bernoulli(p), parameters `[p]`: outcome 1 when `u ≥ 1 − p`, so raising `p` flips 0 → 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bernoulli;

impl Family for Bernoulli {
    fn name(&self) -> &'static str {
        "bernoulli"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        let p = params[0];
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::InvalidParameter {
                what: "bernoulli: p",
                value: p,
                expected: "[0, 1]",
            });
        }
        Ok(())
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        if u >= 1.0 - params[0] {
            1.0
        } else {
            0.0
        }
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        if k == 1.0 {
            params[0]
        } else {
            -params[0] + 1.0
        }
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        let (p, d) = (params[0], tangents[0]);
        let mut j = Vec::with_capacity(1);
        if d > 0.0 && k == 0.0 {
            j.push(Jump {
                target: 1.0,
                weight: d / (1.0 - p),
            });
        } else if d < 0.0 && k == 1.0 {
            j.push(Jump {
                target: 0.0,
                weight: -d / p,
            });
        }
        j
    }

    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        match params[0] {
            p if p <= 0.0 => vec![1.0],
            p if p >= 1.0 => vec![0.0],
            _ => Vec::new(),
        }
    }

    fn support(&self, params: &[f64], _tail: f64) -> Vec<f64> {
        let p = params[0];
        let mut s = Vec::with_capacity(2);
        if p < 1.0 {
            s.push(0.0);
        }
        if p > 0.0 {
            s.push(1.0);
        }
        s
    }
}
