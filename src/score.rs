//! The score-function number (REINFORCE): a dual number for the pathwise derivative whose discrete
//! draws add ∂θ log p(k) to the run's score. The driver combines them into
//! δ + (f − b)·∂θ log p(all draws), with a leave-one-out baseline `b` in batches.

use smallvec::SmallVec;

use crate::context::{with_ctx, RunContext};
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

/// Adds direction `dir`'s score of a draw with outcome `outcome` to the run's, where the run
/// records scores (triples and `rerun` under the score mix) and the parameters move along that
/// direction (`tangents`).
pub(crate) fn record_score<F: Family>(
    ctx: &mut RunContext,
    family: &F,
    vals: &[f64],
    tangents: &[f64],
    outcome: f64,
    dir: usize,
) -> Result<()> {
    if ctx.options.record_score && tangents.iter().any(|&t| t != 0.0) {
        let s = score_of(family, vals, tangents, outcome)?;
        ctx.add_score(dir, s);
    }
    Ok(())
}
