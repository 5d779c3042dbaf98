//! Alternative worlds resumed from their draw instead of carried: how a triple's mH is
//! computed by default.
//!
//! Carried in the clustering's numbers, an alternative world costs ~2.5 primal steps per step
//! (per-world cutoffs, weights, redraws and kinematics in shared slots), and most worlds are
//! pruned later or end with the primal's mH (on the bench events 70 % of the pruned triple's
//! worlds' steps). Here no number carries a world. At each draw the worlds it opens meet at
//! once the ones kept so far, by the number type's composition rule: for the pruned triple
//! one per direction stays, the survivor's weight the sum of both, so each world is kept in
//! the end with probability ∝ |weight| and its weight is the run's total (weighted reservoir
//! sampling), as when worlds meet in a value; the keep-K triple keeps K per direction by its
//! rule, the all-worlds triple every one. Where a new world survives, the clustering is saved
//! as it is after the draw (a [`Checkpoint`], one for all the worlds a draw keeps), with its
//! place in the primal stream. When the primal's mH is known each kept world's history goes
//! on from its draw, in `f64`, on the primal's uniforms up to the primal's last draw (coupled
//! by the same uniform) and on uniforms of its own after (as the worlds still open there go on
//! alone, see [`QantiKt::mh`]), stopping where it comes back to the primal's history
//! ([`Rejoin`](super::rejoin::Rejoin)); its mH is the world's value of the output (worlds of
//! the same draw and outcome share one history).
//!
//! Unbiased: given the primal's random numbers, which worlds are kept and with which weights is
//! the composition rule's unbiased choice (its coins are independent of those numbers) and
//! each world's history is a function of them, so the estimate's mean given them is
//! Σ w·(mH_world − mH) over every world the run opened, whose mean is the derivative (each
//! world's history after its draw uses uniforms its birth did not). For the pruned triple it
//! is the estimate of [`rerun_resumable`](crate::rerun_resumable) with one flip per direction,
//! from the triple's own run. Two differences to carried worlds change the variance: every
//! world competes for a place among the kept ones, also those whose history comes back to the
//! primal's (carried, those drop out of later pruning, leaving room), and later draws are
//! coupled by the same uniform whatever the [`Redraw`](crate::sample::Redraw) rule.

use std::rc::Rc;

use smallvec::SmallVec;

use super::{Checkpoint, QantiKt};
use crate::context::{draws_so_far, primal_place, run_from_place, PrimalPlace};
use crate::error::Result;
use crate::scalar::{Scalar, World};

/// A kept world: its outcome at its draw and the clustering saved right after that draw.
#[derive(Debug)]
struct Birth {
    world: World,
    outcome: f64,
    checkpoint: Rc<Checkpoint>,
    place: PrimalPlace,
}

/// The worlds a run keeps to resume (per direction at most one with the pruned triple, K with
/// the keep-K one).
#[derive(Debug, Default)]
pub(super) struct Births {
    kept: SmallVec<[Birth; 2]>,
}

impl Births {
    /// After a draw with outcome `k`: the worlds `k` opened meet the kept ones (the number
    /// type's pruning: at most one per direction stays with the pruned triple), those that
    /// survive are kept with `checkpoint()` (the clustering right after the draw). Returns `k`
    /// without worlds.
    pub fn after_draw<S: Scalar>(&mut self, k: S, checkpoint: impl Fn() -> Checkpoint) -> S {
        let born = k.worlds();
        if born.is_empty() {
            return k;
        }
        // (Always there in a run that samples; were it not, the worlds would be carried on.)
        let Some(place) = primal_place() else {
            return k;
        };
        // The kept worlds as one number (any value other than the primal's: a world whose
        // value is the primal's has no stake in pruning).
        let held = self
            .kept
            .iter()
            .fold(S::zero(), |h, b| h.with_world(b.world, 1.0));
        let live = S::couple_worlds(&[held, k]);
        self.kept.retain(|b| live.contains(&b.world));
        // One saved clustering for the worlds of both directions a draw may keep.
        let mut saved: Option<Rc<Checkpoint>> = None;
        for w in born.into_iter().filter(|w| live.contains(w)) {
            let checkpoint = saved.get_or_insert_with(|| Rc::new(checkpoint())).clone();
            self.kept.push(Birth {
                world: w,
                outcome: k.value_in_live(w),
                checkpoint,
                place: place.clone(),
            });
        }
        k.without_worlds()
    }

    /// Each kept world's mH: its history resumed from its draw, on the primal's uniforms up to
    /// the primal's last draw and on its own after. Called right after the clustering: the
    /// run's draws so far are the primal's.
    pub fn resolve<S: Scalar>(self, clusterer: &QantiKt) -> Result<SmallVec<[(World, f64); 2]>> {
        let until = draws_so_far().unwrap_or(0);
        let worlds: SmallVec<[World; 2]> = self.kept.iter().map(|b| b.world).collect();
        let dead = S::dead_worlds(&worlds);
        let mut ended = SmallVec::new();
        // Worlds of the same draw and outcome (two directions', or one direction's fanned-out
        // jumps in a backend that keeps many) have the same history: resumed once.
        let mut done: SmallVec<[(u64, f64, f64); 4]> = SmallVec::new();
        for b in self.kept.into_iter().filter(|b| !dead.contains(&b.world)) {
            let outcome = b.outcome;
            let at = b.place.draws();
            if let Some(&(_, _, mh)) = done.iter().find(|d| (d.0, d.1) == (at, outcome)) {
                ended.push((b.world, mh));
                continue;
            }
            let cp = Rc::try_unwrap(b.checkpoint).unwrap_or_else(|shared| (*shared).clone());
            #[cfg(test)]
            let candidates = cp.cands.len();
            let (mh, _past) = run_from_place(&b.place, until, 0, || {
                let mh = clusterer.resume_mh(cp, outcome);
                (mh, draws_so_far().unwrap_or(0) > until)
            });
            let mh = mh?;
            done.push((at, outcome, mh));
            #[cfg(test)]
            RESOLVED.with(|v| {
                v.borrow_mut().push(Resolved {
                    draw: at - 1,
                    outcome,
                    candidates,
                    mh,
                    past: _past,
                })
            });
            ended.push((b.world, mh));
        }
        Ok(ended)
    }
}

/// A world resolved in a test run: the index of its draw among the run's draws, its outcome
/// there, that draw's number of candidates, its mH, and whether its history drew past the
/// primal's last draw (on uniforms of its own).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(super) struct Resolved {
    pub draw: u64,
    pub outcome: f64,
    pub candidates: usize,
    pub mh: f64,
    pub past: bool,
}

#[cfg(test)]
thread_local! {
    /// The worlds resolved on this thread (tests: each is the flipped `f64` history).
    pub(super) static RESOLVED: std::cell::RefCell<Vec<Resolved>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a run with these numbers can resume its worlds from their draws: the triples whose
/// draws open worlds with weights and whose values decide which survive (pruned, keep-K, all
/// worlds; not the smoothed backend), in a run that samples, `r` and `alpha` carrying no worlds.
pub(super) fn can_resume<S: Scalar>(r: S, alpha: S) -> bool {
    S::CARRIES_WORLDS
        && S::DRAWS_IN_WORLDS
        && r.worlds().is_empty()
        && alpha.worlds().is_empty()
        && primal_place().is_some()
}
