//! The score-function number (REINFORCE): a dual number for the pathwise derivative whose discrete
//! draws add ∂θ log p(k) to the run's score. The driver combines them into
//! δ + (f − b)·∂θ log p(all draws), with a leave-one-out baseline `b` in batches.

use std::cmp::Ordering;

use crate::context::with_ctx;
use crate::error::Result;
use crate::sample::{draw_primal, values, Family};
use crate::scalar::{impl_scalar_ops, Scalar};

/// A score-function number with `N` directions: value and pathwise tangents; the score of the
/// run's draws accumulates in the run context.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score<const N: usize = 1> {
    /// The primal value.
    pub value: f64,
    /// The pathwise derivative along each direction.
    pub tangent: [f64; N],
}

impl<const N: usize> Score<N> {
    /// The input variable of direction `dir`.
    ///
    /// # Panics
    /// If `dir >= N` (a programming error, not bad data).
    pub fn variable(value: f64, dir: usize) -> Self {
        assert!(dir < N, "direction {dir} out of range for {N} directions");
        let mut tangent = [0.0; N];
        tangent[dir] = 1.0;
        Score { value, tangent }
    }
}

impl<const N: usize> Default for Score<N> {
    fn default() -> Self {
        Score {
            value: 0.0,
            tangent: [0.0; N],
        }
    }
}

impl<const N: usize> From<f64> for Score<N> {
    #[inline]
    fn from(value: f64) -> Self {
        Score {
            value,
            tangent: [0.0; N],
        }
    }
}

impl<const N: usize> Scalar for Score<N> {
    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn map1<F, D>(self, f: F, df: D) -> Self
    where
        F: Fn(f64) -> f64,
        D: Fn(f64, f64) -> f64,
    {
        let v = f(self.value);
        let d = df(self.value, v);
        Score {
            value: v,
            tangent: self.tangent.map(|t| d * t),
        }
    }

    #[inline]
    fn map2<F, Dx, Dy>(self, other: Self, f: F, dfdx: Dx, dfdy: Dy) -> Self
    where
        F: Fn(f64, f64) -> f64,
        Dx: Fn(f64, f64, f64) -> f64,
        Dy: Fn(f64, f64, f64) -> f64,
    {
        let (x, y) = (self.value, other.value);
        let v = f(x, y);
        let (dx, dy) = (dfdx(x, y, v), dfdy(x, y, v));
        let mut tangent = [0.0; N];
        for i in 0..N {
            tangent[i] = dx * self.tangent[i] + dy * other.tangent[i];
        }
        Score { value: v, tangent }
    }

    fn draw<F: Family>(family: &F, params: &[Self]) -> Result<Self> {
        let vals = values(params);
        let draw = draw_primal(family, &vals)?;
        let mut tangents: smallvec::SmallVec<[f64; 8]> = smallvec::smallvec![0.0; params.len()];
        for i in 0..N {
            for (j, p) in params.iter().enumerate() {
                tangents[j] = p.tangent[i];
            }
            if tangents.iter().any(|&t| t != 0.0) {
                let s = family.score(&vals, &tangents, draw.outcome);
                with_ctx("a discrete draw", |ctx| ctx.add_score(i, s))?;
            }
        }
        Ok(Score::from(draw.outcome))
    }
}

impl_scalar_ops!([const N: usize] Score<N>);

impl<const N: usize> PartialEq<f64> for Score<N> {
    fn eq(&self, other: &f64) -> bool {
        self.value == *other
    }
}

impl<const N: usize> PartialOrd for Score<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<const N: usize> PartialOrd<f64> for Score<N> {
    fn partial_cmp(&self, other: &f64) -> Option<Ordering> {
        self.value.partial_cmp(other)
    }
}
