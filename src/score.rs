//! The score-function number (REINFORCE): a dual number for the pathwise derivative whose discrete
//! draws add ∂θ log p(k) to the run's score. The driver combines them into
//! δ + (f − b)·∂θ log p(all draws), with a leave-one-out baseline `b` in batches.

use smallvec::SmallVec;

use crate::context::with_ctx;
use crate::dual::{DrawRule, DualNumber};
use crate::error::Result;
use crate::sample::{score_of, Drawn, Family};

/// The score-function rule: a draw adds ∂θ log p(k) of each direction to the run's score.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreFunction;

impl DrawRule for ScoreFunction {
    fn after_draw<F: Family, const N: usize>(
        family: &F,
        params: &[DualNumber<Self, N>],
        values: &[f64],
        draw: Drawn,
    ) -> Result<()> {
        let mut tangents: SmallVec<[f64; 8]> = smallvec::smallvec![0.0; params.len()];
        for i in 0..N {
            for (t, p) in tangents.iter_mut().zip(params) {
                *t = p.tangent[i];
            }
            if tangents.iter().any(|&t| t != 0.0) {
                let s = score_of(family, values, &tangents, draw.outcome())?;
                with_ctx("a discrete draw", |ctx| ctx.add_score(i, s))?;
            }
        }
        Ok(())
    }
}

/// A score-function number with `N` directions: value and pathwise tangents; the score of the
/// run's draws accumulates in the run context.
pub type Score<const N: usize = 1> = DualNumber<ScoreFunction, N>;
