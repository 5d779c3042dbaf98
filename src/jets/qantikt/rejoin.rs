//! Resumed clusterings that come back to the recorded history.
//!
//! [`rerun_resumable`](crate::rerun_resumable) resumes a recorded clustering at a draw with
//! another outcome and runs it on, its later draws on the recorded run's uniforms. Often the
//! flipped step only swaps the order of two merges that both happen: a step or two later the
//! resumed clustering's objects are the recorded one's, bit for bit, in the same slots. From
//! there on its draws see the same candidates and weights on the same uniforms, so it takes the
//! recorded history's steps and ends with its mH (on the variance study's events 18–40 % of the
//! resumes do, and 14–36 % of the resumed steps come after that point). A recording run of mH
//! keeps a [`Trail`] (per step the slots it changed, with their values after the step, and its
//! mH at the end), which its checkpoints share; a resumed run of mH keeps, in [`Rejoin`], the
//! recorded history's values of the slots, and stops with the recorded mH as soon as no slot
//! differs: the value the rest of the clustering would have given, bit for bit. It then skips
//! the draws the recorded history made after that point, so that whatever the program draws
//! next takes the numbers it would have taken. (That the rest would repeat the recorded steps
//! rests on what the resumes rest on already: a step's live candidates, weights and draw are
//! functions of the slots' values and the step's uniform, not of the search's internal state.)

use std::sync::{Arc, OnceLock};

use super::candidates::Candidate;
use super::state::State;
use crate::context::{draws_so_far, skip_draws};
use crate::scalar::Scalar;

/// One slot's momentum, activity flag and jet flag at their primal values, bit for bit.
type Bits = [u64; 6];

/// A slot's [`Bits`] in `st`.
fn bits<S: Scalar>(st: &State<S>, i: usize) -> Bits {
    let p = &st.p[i];
    [
        p.px.primal_value().to_bits(),
        p.py.primal_value().to_bits(),
        p.pz.primal_value().to_bits(),
        p.e.primal_value().to_bits(),
        st.active[i].primal_value().to_bits(),
        st.jet[i].primal_value().to_bits(),
    ]
}

/// The slots a step changed (its candidate's; the same slot twice for a beam entry) with their
/// values after it.
type Changed = [(u32, Bits); 2];

/// A recording run's history as its resumes need it: per step the slots it changed and the
/// run's draws so far after it (after the last step it draws no more), and at the end mH.
#[derive(Debug)]
pub(super) struct Trail {
    steps: Vec<(Changed, u64)>,
    mh: f64,
}

/// Where a trail is shared: set once, when the recording run has its mH (its checkpoints, taken
/// before, hold the cell; resumes come after the run).
pub(super) type SharedTrail = Arc<OnceLock<Trail>>;

/// A recording run's trail while it is written.
#[derive(Debug, Default)]
pub(super) struct Recording {
    steps: Vec<(Changed, u64)>,
    pub shared: SharedTrail,
}

impl Recording {
    /// After a step that took `c`.
    pub fn step<S: Scalar>(&mut self, st: &State<S>, c: Candidate) {
        let (a, b) = (c.a as usize, c.b as usize);
        let draws = draws_so_far().unwrap_or(0);
        self.steps
            .push(([(c.a, bits(st, a)), (c.b, bits(st, b))], draws));
    }

    /// The run ended with mH `mh`: the trail is complete.
    pub fn finish(self, mh: f64) {
        // (Set once: a recording is finished once.)
        let _ = self.shared.set(Trail {
            steps: self.steps,
            mh,
        });
    }
}

/// A resumed run's place against the recorded history: the recorded values of every slot and
/// the slots in which the two differ.
#[derive(Debug)]
pub(super) struct Rejoin {
    trail: SharedTrail,
    recorded: Vec<Bits>,
    differ: Vec<u32>,
    /// The recorded mH, once the resumed run came back to the recorded history.
    pub mh: Option<f64>,
}

#[cfg(test)]
thread_local! {
    /// Resumed runs that could come back to the recorded history, and those that did (tests:
    /// that it happens).
    pub(super) static RESUMED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    pub(super) static REJOINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Rejoin {
    /// For a run resumed from a checkpoint whose state is `st` (the recorded history's before
    /// the flipped step), where its recording run left a complete trail.
    pub fn new(trail: &SharedTrail, st: &State<f64>) -> Option<Self> {
        trail.get()?;
        #[cfg(test)]
        RESUMED.with(|n| n.set(n.get() + 1));
        Some(Rejoin {
            trail: trail.clone(),
            recorded: (0..st.len()).map(|i| bits(st, i)).collect(),
            differ: Vec::new(),
            mh: None,
        })
    }

    /// After step `step` of the resumed run, which took `c`: whether its state is the recorded
    /// history's after that step (then [`Rejoin::mh`] is the recorded mH). Past the recorded
    /// run's last step there is nothing to compare with: never.
    pub fn rejoined<S: Scalar>(&mut self, st: &State<S>, step: usize, c: Candidate) -> bool {
        let Some(trail) = self.trail.get() else {
            return false;
        };
        let Some(&(changed, draws)) = trail.steps.get(step) else {
            return false;
        };
        for (i, x) in changed {
            self.recorded[i as usize] = x;
        }
        // Only the slots either history changed in this step can have come to differ or to
        // agree.
        for i in [changed[0].0, changed[1].0, c.a, c.b] {
            let same = bits(st, i as usize) == self.recorded[i as usize];
            let at = self.differ.iter().position(|&j| j == i);
            match (same, at) {
                (true, Some(at)) => {
                    self.differ.swap_remove(at);
                }
                (false, None) => self.differ.push(i),
                _ => {}
            }
        }
        let back = self.differ.is_empty();
        if back {
            self.mh = Some(trail.mh);
            // The draws the recorded history made after this step are the ones the rest of
            // this clustering would make: skipped, so that what the program draws next takes
            // the numbers it would have taken.
            let end = trail.steps.last().map_or(draws, |last| last.1);
            skip_draws(end.saturating_sub(draws));
            #[cfg(test)]
            REJOINED.with(|n| n.set(n.get() + 1));
        }
        back
    }
}

/// What a clustering keeps track of for the recorded history, step by step.
#[derive(Debug)]
pub(super) enum Track<'a> {
    /// Nothing.
    Nothing,
    /// It is a recording run: its trail.
    Record(&'a mut Recording),
    /// It is a resumed run: its place against the recorded history (it stops where it came
    /// back to it).
    Rejoin(&'a mut Rejoin),
    /// It is a run that resumes its worlds from their draws: its trail, and the worlds it
    /// keeps (see `births`).
    Births(&'a mut Recording, &'a mut super::births::Births),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jets::FourMomentum;

    fn event() -> Vec<FourMomentum> {
        (0..5)
            .map(|i| {
                let (x, y) = (f64::from(i) * 1.3, 10.0 - f64::from(i));
                FourMomentum::new(10.0 + x, y, 2.0 * x - 3.0, 20.0 + 2.0 * x)
            })
            .collect()
    }

    /// `st` after the steps `cs`.
    fn after(mut st: State<f64>, cs: &[Candidate]) -> State<f64> {
        for (k, _) in cs.iter().enumerate() {
            st.apply(cs, k as f64).unwrap();
        }
        st
    }

    /// Two merges taken in the other order come back to the recorded history, bit for bit,
    /// after the second; any slot that either history changed in a step and that differs
    /// keeps it apart (the resumed run's as much as the recorded one's).
    #[test]
    fn a_resumed_run_is_back_where_every_slot_is_the_recorded_ones() {
        let st0 = State::<f64>::new(&event()).unwrap();
        let (ab, cd, e) = (
            Candidate::pair(0, 1),
            Candidate::pair(2, 3),
            Candidate::beam(4),
        );
        let mut rec = Recording::default();
        let mut st = st0.clone();
        for c in [ab, cd] {
            st = after(st, &[c]);
            rec.step(&st, c);
        }
        let shared = rec.shared.clone();
        rec.finish(125.0);
        // The other order: apart after the first step, back after the second.
        let mut back = Rejoin::new(&shared, &st0).unwrap();
        let st1 = after(st0.clone(), &[cd]);
        assert!(!back.rejoined(&st1, 0, cd));
        assert!(back.rejoined(&after(st1, &[ab]), 1, ab));
        assert_eq!(back.mh, Some(125.0));
        // A state with the recorded step's merge and a change of the resumed run's own (slot 4
        // made a jet) is not the recorded one, though the recorded step's slots agree.
        let mut apart = Rejoin::new(&shared, &st0).unwrap();
        assert!(!apart.rejoined(&after(st0.clone(), &[ab, e]), 0, e));
        assert_eq!(apart.mh, None);
        // Past the recorded run's steps there is nothing to compare with.
        let mut late = Rejoin::new(&shared, &st0).unwrap();
        assert!(!late.rejoined(&st, 2, e));
        // No trail before the recording run finished.
        assert!(Rejoin::new(&Recording::default().shared, &st0).is_none());
    }
}
