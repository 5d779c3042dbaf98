//! Alternative worlds that go on as clusterings of their own, in step with the primal.
//!
//! A triple carries each alternative world in the primal's slots: a slot that differs keeps one
//! view per world, and the search and the weights look at those slots world by world. That is
//! cheap while a world differs from the primal in a few slots (on the bench events ~5 per
//! world), and costs far more than a clustering of its own once it differs in hundreds: on
//! pile-up events a world drifts apart until it differs in ~1 200 of 5 800 slots, and each of
//! its steps cost ~6 primal steps. A world that differs in [`FORK_AT`](super::FORK_AT) slots
//! or more is *forked*: reissued under a new id ([`Scalar::reissue_world`]: the same direction
//! and weight; the old id dies, so the slots forget it) and its state taken out as an `f64`
//! clustering ([`State::in_world`]) with a search of its own. It still takes its steps with
//! the primal's: each step its candidates join the primal's list and its weights become its
//! row of the draw ([`Scalar::draw_in_worlds`]), so it is redrawn, coupled and pruned exactly
//! as a carried world is, and it ends as they do: alone from the primal's stop on, to where its
//! own mH is known ([`QantiKt::mh`](super::QantiKt::mh)), or, where the clustering runs to its
//! end ([`QantiKt::cluster`](super::QantiKt::cluster)), joining the numbers again as the
//! world's values in every slot ([`State::rejoin`]). Only it no longer meets the carried
//! worlds in the slots: two worlds of one direction that would change the same slot no longer
//! prune each other there (unbiased either way; the pruning of a triple is a choice of which
//! worlds to keep). The primal's weights and the carried worlds' are computed on the primal's
//! list, as without forks, and are 0 at the candidates only forks brought (beyond the cutoff
//! of every world the slots carry, where they are negligible): their draws are those of a run
//! without forks, to rounding (the draw's sums take the zeros in).

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::scalar::{Scalar, World};

use super::candidates::{distances, smallest, weights, Candidate};
use super::state::State;

#[cfg(test)]
thread_local! {
    /// How many worlds this thread forked (for tests that must see forks happen).
    pub(super) static FORKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A forked world: its id and its clustering, with room for its steps.
#[derive(Debug)]
pub(super) struct Fork {
    pub world: World,
    pub st: State<f64>,
    cands: Vec<Candidate>,
    known: Vec<f64>,
    d: Vec<f64>,
    on: Vec<f64>,
    w: Vec<f64>,
}

impl Fork {
    /// This step's candidates of the forked world (in layout order) and their weights.
    fn weigh(&mut self, r2: f64, alpha: f64, factor: f64, negligible: f64) -> Result<()> {
        let (bound, n) = if negligible > 0.0 {
            self.st
                .search
                .live((r2, r2), factor, &mut self.cands, &mut self.known)
        } else {
            self.known.clear();
            (f64::INFINITY, self.st.search.dense(&mut self.cands))
        };
        self.cands.truncate(n);
        self.known.truncate(n);
        let (st, cands) = (&self.st, &self.cands[..]);
        distances(st, cands, &self.known, r2, false, &mut self.d, &mut self.on);
        let dmin = smallest(&self.d, &self.on, super::lift(bound, &self.d), cands)?;
        weights(&self.d, &self.on, dmin, alpha, &mut self.w);
        Ok(())
    }
}

/// Forks every live world of `st` with `at` or more slots of its own (see the module's
/// documentation) into `forks`, where the number type can reissue worlds.
pub(super) fn fork_worlds<S: Scalar>(
    st: &mut State<S>,
    forks: &mut Vec<Fork>,
    at: usize,
) -> Result<()> {
    // (A world has views of its own only in varying slots.)
    if st.search.varying().len() < at {
        return Ok(());
    }
    let counts = st.own_views();
    if counts.iter().all(|e| e.1 < at) {
        return Ok(());
    }
    let ws: SmallVec<[World; 8]> = counts.iter().map(|e| e.0).collect();
    let dead = S::dead_worlds(&ws);
    let mut forked = false;
    for &(w, n) in &counts {
        if n < at || dead.contains(&w) {
            continue;
        }
        let apart = st.in_world(w);
        let Some(world) = S::reissue_world(w) else {
            return Ok(());
        };
        #[cfg(test)]
        FORKED.with(|n| n.set(n.get() + 1));
        forks.push(Fork {
            world,
            st: apart,
            cands: Vec::new(),
            known: Vec::new(),
            d: Vec::new(),
            on: Vec::new(),
            w: Vec::new(),
        });
        forked = true;
    }
    if forked {
        st.forget_dead_worlds()?;
    }
    Ok(())
}

/// Each fork's candidates and weights for this step, and the step's candidates: the primal's
/// `cands` with every fork's merged in (layout order), into `all`; `mine` tells, per entry of
/// `all`, whether it is one of `cands`.
pub(super) fn join(
    forks: &mut [Fork],
    (r2, alpha, factor, negligible): (f64, f64, f64, f64),
    cands: &[Candidate],
    all: &mut Vec<Candidate>,
    mine: &mut Vec<bool>,
) -> Result<()> {
    let mut keys: Vec<u64> = Vec::new();
    for f in forks.iter_mut() {
        f.weigh(r2, alpha, factor, negligible)?;
        keys.extend(f.cands.iter().map(|c| c.key()));
    }
    keys.sort_unstable();
    keys.dedup();
    all.clear();
    mine.clear();
    let (mut i, mut j) = (0, 0);
    while i < cands.len() || j < keys.len() {
        let ki = cands.get(i).map_or(u64::MAX, |c| c.key());
        let kj = keys.get(j).copied().unwrap_or(u64::MAX);
        if ki <= kj {
            all.push(cands[i]);
            mine.push(true);
            i += 1;
            j += usize::from(ki == kj);
        } else {
            all.push(Candidate::from_key(kj));
            mine.push(false);
            j += 1;
        }
    }
    Ok(())
}

/// Lays the primal's weights `w` and the carried worlds' rows (`alt`, `nw` rows of `w.len()`)
/// out as the joined candidates (`mine`, see [`join`]), `zero` (and 0) at the others.
pub(super) fn spread<S: Copy>(
    mine: &[bool],
    w: &mut Vec<S>,
    alt: &mut Vec<f64>,
    nw: usize,
    zero: S,
) {
    // (`mine` holds one `true` per entry of `row`, in order.)
    fn widen<T: Copy>(row: &[T], mine: &[bool], zero: T, out: &mut Vec<T>) {
        let mut j = 0;
        out.extend(mine.iter().map(|&m| {
            if m {
                j += 1;
                row[j - 1]
            } else {
                zero
            }
        }));
    }
    let n = w.len();
    let mut wide = Vec::with_capacity(mine.len());
    widen(w, mine, zero, &mut wide);
    *w = wide;
    let mut wide = Vec::with_capacity(nw * mine.len());
    for row in alt.chunks_exact(n.max(1)).take(nw) {
        widen(row, mine, 0.0, &mut wide);
    }
    *alt = wide;
}

/// Appends each fork's world to `worlds` and its weights, laid out as `all`, to `alt` (0 at the
/// candidates it does not have: beyond its cutoff).
pub(super) fn rows(
    forks: &[Fork],
    all: &[Candidate],
    worlds: &mut SmallVec<[World; 8]>,
    alt: &mut Vec<f64>,
) {
    for f in forks {
        worlds.push(f.world);
        let start = alt.len();
        alt.resize(start + all.len(), 0.0);
        let row = &mut alt[start..];
        let mut at = 0;
        for (c, &w) in f.cands.iter().zip(&f.w) {
            // Both in layout order, every fork candidate among `all`.
            while all[at] != *c {
                at += 1;
            }
            row[at] = w;
        }
    }
}

/// After the step's draw `k` (an index into `all`, carrying the forks' outcomes as worlds):
/// each fork that survived its pruning takes its own outcome, the others are dropped. Returns
/// `k` without the forks' worlds, for the slots (which do not carry them).
pub(super) fn step<S: Scalar>(forks: &mut Vec<Fork>, all: &[Candidate], k: S) -> Result<S> {
    let ws: SmallVec<[World; 8]> = forks.iter().map(|f| f.world).collect();
    let dead = S::dead_worlds(&ws);
    forks.retain(|f| !dead.contains(&f.world));
    let mut k = k;
    for f in forks.iter_mut() {
        let c = all[k.value_in_live(f.world) as usize];
        k = k.without_world(f.world);
        let local = f.cands.binary_search(&c).map_err(|_| {
            Error::config(format!(
                "Qanti-kT: a forked world drew candidate {c:?}, which is not one of its own \
                 (an internal error)"
            ))
        })?;
        f.st.apply(&f.cands, local as f64)?;
    }
    Ok(k)
}
