//! Binomial(n, p).

use super::family::{Family, Jump};
use super::logpmf::{ln_binomial, ln_choose};
use super::table::Table;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Binomial(n, p), parameters `[p]`: the number of successes in `n` independent trials.
///
/// Sampled by inversion of one uniform through a table built outwards from the mode, so the
/// cost is `O(√(n p (1 − p)))` per draw and nothing underflows for large `n`. `n` is limited to
/// [`Binomial::MAX_N`]; the probability mass is accurate to about `1e-16 · n` relative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Binomial {
    /// Number of trials.
    pub n: u64,
}

impl Binomial {
    /// The largest number of trials accepted.
    pub const MAX_N: u64 = 10_000_000;

    fn table(&self, p: f64) -> Table {
        let n = self.n;
        let odds = p / (1.0 - p);
        let mode = (((n + 1) as f64 * p).floor() as u64).min(n);
        Table::new(mode, n, |k| (n - k) as f64 / (k + 1) as f64 * odds)
    }
}

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        let p = params[0];
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::InvalidParameter {
                what: "binomial: p",
                value: p,
                expected: "[0, 1]",
            });
        }
        if self.n > Self::MAX_N {
            return Err(Error::InvalidParameter {
                what: "binomial: n",
                value: self.n as f64,
                expected: "[0, 10^7]",
            });
        }
        Ok(())
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        match params[0] {
            p if p <= 0.0 || self.n == 0 => 0.0,
            p if p >= 1.0 => self.n as f64,
            p => self.table(p).quantile(u),
        }
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        let (p, n) = (params[0], self.n as f64);
        if !(0.0..=n).contains(&k) || k.fract() != 0.0 {
            return S::zero();
        }
        let pv = p.primal_value();
        if pv > 0.0 && pv < 1.0 {
            return ln_binomial(n, p, k).exp();
        }
        // At p ∈ {0, 1} the plain product has the right one-sided derivative; only outcomes at
        // most one step from the point mass have a non-zero one.
        let q = -p + 1.0;
        let from_mass = if pv <= 0.0 { k } else { n - k };
        if from_mass > 1.0 {
            return S::zero();
        }
        p.powi(k as i32) * q.powi((n - k) as i32) * ln_choose(n, k).exp()
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        let (p, d, n) = (params[0], tangents[0], self.n as f64);
        let mut j = Vec::with_capacity(1);
        if d > 0.0 && k < n {
            j.push(Jump {
                target: k + 1.0,
                weight: d * (n - k) / (1.0 - p),
            });
        } else if d < 0.0 && k > 0.0 {
            j.push(Jump {
                target: k - 1.0,
                weight: -d * k / p,
            });
        }
        j
    }

    /// Every outcome of non-negligible mass (below `1e-18` of the total in all is left out);
    /// `tail` is ignored: the support is finite.
    /// At p = 0 only P(1) moves to first order (P(k) = O(p^k)); at p = 1 only P(n − 1).
    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        match params[0] {
            _ if self.n == 0 => Vec::new(),
            p if p <= 0.0 => vec![1.0],
            p if p >= 1.0 => vec![(self.n - 1) as f64],
            _ => Vec::new(),
        }
    }

    fn support(&self, params: &[f64], _tail: f64) -> Vec<f64> {
        match params[0] {
            p if p <= 0.0 || self.n == 0 => vec![0.0],
            p if p >= 1.0 => vec![self.n as f64],
            p => self.table(p).support(0.0),
        }
    }
}

/// Binomial(n, p) whose number of trials is itself a number, parameters `[n, p]`: for `n` drawn
/// earlier in the program (e.g. `binomial_n(binomial(10, p)?, p)`), so alternative worlds of `n`
/// give coupled alternative counts. `n` is discrete: only its value and its alternatives matter,
/// its tangent is ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinomialN;

impl BinomialN {
    fn inner(params: &[f64]) -> Binomial {
        Binomial {
            n: params[0] as u64,
        }
    }
}

impl Family for BinomialN {
    fn name(&self) -> &'static str {
        "binomial"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        let n = params[0];
        if !(n >= 0.0 && n.fract() == 0.0 && n <= Binomial::MAX_N as f64) {
            return Err(Error::InvalidParameter {
                what: "binomial: n",
                value: n,
                expected: "an integer in [0, 10^7]",
            });
        }
        Self::inner(params).validate(&params[1..])
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        Self::inner(params).quantile(&params[1..], u)
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        Binomial {
            n: params[0].primal_value() as u64,
        }
        .pmf(&params[1..], k)
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        Self::inner(params).jump_rates(&params[1..], &tangents[1..], k)
    }

    fn support(&self, params: &[f64], tail: f64) -> Vec<f64> {
        Self::inner(params).support(&params[1..], tail)
    }

    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        Self::inner(params).boundary_outcomes(&params[1..])
    }
}
