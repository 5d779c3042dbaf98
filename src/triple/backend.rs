//! The backend interface: everything the stochastic triple does with perturbations goes through
//! these few verbs, so pruned, exact and smoothed backends swap without touching the samplers or
//! the arithmetic rules.

use std::fmt::Debug;

use crate::context::RunContext;
use crate::error::Result;
use crate::sample::{Draw, Family};
use crate::scalar::World;

/// Implemented by this crate's backends only: a backend reaches into the run context, whose
/// layout is not public.
pub(crate) mod sealed {
    pub trait Sealed {}
    impl Sealed for super::super::Pruned {}
    impl Sealed for super::super::AllWorlds {}
    impl Sealed for super::super::Smoothed {}
    impl<const K: usize, const I: usize> Sealed for super::super::Keep<K, I> {}
}

/// How a stochastic triple stores and combines its perturbations (one payload per direction).
/// Sealed: the backends are [`Pruned`](super::Pruned), [`AllWorlds`](super::AllWorlds),
/// [`Keep`](super::Keep) and [`Smoothed`](super::Smoothed), chosen through the triple's type.
pub trait Backend: sealed::Sealed + Copy + Debug + Default + Send + Sync + 'static {
    /// The perturbations of one direction of one value.
    type Pert: Copy + Debug + Default + Send + Sync;

    /// Name for diagnostics, e.g. `"pruned"`.
    const NAME: &'static str;

    /// Whether a payload may carry many worlds of one direction (keep-K, all worlds): then
    /// operations over many numbers read each number's worlds into plain values instead of
    /// building a payload per step (see `Scalar::min_of`).
    const MANY_WORLDS: bool = false;

    /// Whether the payload carries no perturbation (the fast path: no context is touched).
    fn is_empty(p: &Self::Pert) -> bool;

    /// The payload of `f(x)` for a payload `p` of `x`: `fx = f(x)`, `dfx = f'(x)`.
    fn map1(p: Self::Pert, x: f64, fx: f64, dfx: f64, f: &impl Fn(f64) -> f64) -> Self::Pert;

    /// The payload of `f(x, y)`; perturbations of `x` and `y` meet here (and may be pruned).
    #[allow(clippy::too_many_arguments)]
    fn map2(
        a: Self::Pert,
        b: Self::Pert,
        x: f64,
        y: f64,
        fxy: f64,
        dfx: f64,
        dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> Self::Pert;

    /// The payload of `f(x)` for `K` arguments with payloads `perts`: `fx = f(x)`, `grad` its
    /// gradient at `x`. Perturbations of different arguments meet here (and may be pruned).
    fn map_n<const K: usize>(
        perts: [Self::Pert; K],
        x: [f64; K],
        fx: f64,
        grad: &[f64; K],
        f: &impl Fn([f64; K]) -> f64,
    ) -> Self::Pert;

    /// The payload of a discrete draw with primal `draw` from `family`, whose parameters have
    /// primal values `values`, tangents `tangents` (this direction) and payloads `perts`: the
    /// coupled alternatives of perturbed parameters (the same uniform under the alternative
    /// parameters) and the new jumps of the coupling. The backends that replay worlds share
    /// one implementation over three verbs (`triple/replay.rs`); the smoothed backend, which
    /// summarises worlds by tangents instead, has its own.
    fn draw<F: Family>(
        ctx: &mut RunContext,
        family: &F,
        values: &[f64],
        tangents: &[f64],
        perts: &[Self::Pert],
        draw: Draw,
    ) -> Result<Self::Pert>;

    /// Whether the backend redraws the worlds its parameters carry (pruned, keep-K, all
    /// worlds), and so can take them as values ([`Backend::draw_given`]).
    const REPLAYS_WORLDS: bool = false;

    /// [`Backend::draw`] for parameters without payloads whose values in the worlds `given`
    /// ((world id, the parameters there): live, increasing ids) are given as values.
    fn draw_given<F: Family>(
        _ctx: &mut RunContext,
        _family: &F,
        _values: &[f64],
        _tangents: &[f64],
        _given: &[(u32, &[f64])],
        _draw: Draw,
    ) -> Result<Self::Pert> {
        Err(crate::Error::config(format!(
            "the {} backend does not redraw worlds given as values",
            Self::NAME
        )))
    }

    /// The perturbations' contribution to the derivative estimate: Σ β·Δ over live ones.
    fn contribution(p: &Self::Pert) -> f64;

    /// Whether the comparison `pred(x, y)` has another outcome in some live alternative world.
    fn flips(a: &Self::Pert, b: &Self::Pert, x: f64, y: f64, pred: fn(f64, f64) -> bool) -> bool;

    /// The live alternatives `(world id, Δ)` of a payload (one per world).
    fn alternatives(p: &Self::Pert) -> smallvec::SmallVec<[(u32, f64); 4]>;

    /// Δ of world `id` in `p` if `p` carries it and it is alive, else 0.
    fn live_delta(p: &Self::Pert, id: u32) -> f64 {
        Self::alternatives(p)
            .iter()
            .find(|e| e.0 == id)
            .map_or(0.0, |e| e.1)
    }

    /// Δ of world `id` in `p` if `p` carries it, else 0, for a world the caller knows to be
    /// alive (e.g. one [`Backend::couple`] just returned): backends that can read Δ without the
    /// run context skip the liveness check.
    fn delta_of_live(p: &Self::Pert, id: u32) -> f64 {
        Self::live_delta(p, id)
    }

    /// For each world of `worlds` along direction `dir` (all alive), `value` plus its Δ in `p`
    /// ([`Backend::delta_of_live`]) into the same place of `out`; other places untouched. One
    /// read of the payload where the backend can.
    fn values_of_live(p: &Self::Pert, value: f64, dir: u32, worlds: &[World], out: &mut [f64]) {
        for (o, w) in out.iter_mut().zip(worlds) {
            if w.dir == dir {
                *o = value + Self::delta_of_live(p, w.id);
            }
        }
    }

    /// Whether a world may be reissued under a new id
    /// ([`Scalar::reissue_world`](crate::Scalar::reissue_world)): the run context gives the new
    /// id the old one's weight and kills the old one, which the backend's payloads then no
    /// longer count.
    const REISSUES: bool = false;

    /// The payload `p` without world `id`: [`Backend::with_world`] with difference 0 (so the
    /// smoothed backend's tangent loses that world's share too).
    fn without(p: Self::Pert, id: u32) -> Self::Pert {
        Self::with_world(p, id, 0.0)
    }

    /// Rebuilds a payload from live `(world id, Δ)` pairs produced by [`Backend::alternatives`]
    /// (used by `propagate` to attach alternative outputs to a world).
    fn from_alternatives(alts: &[(u32, f64)]) -> Self::Pert;

    /// Reduces the live worlds among `perts` to the set `propagate` must replay: the pruned
    /// backend prunes them to one, the all-worlds backend keeps every one.
    fn couple(perts: &[Self::Pert]) -> smallvec::SmallVec<[u32; 4]>;

    /// The payload `p` with world `id` set to difference `delta` (`propagate` attaching a
    /// world's output). The default rebuilds the payload from its alternatives, replacing `id`'s
    /// and coupling them again if the payload carried other worlds; backends whose payload holds
    /// more than its alternatives (the smoothed tangent) override it.
    fn with_world(p: Self::Pert, id: u32, delta: f64) -> Self::Pert {
        with_world_by_alternatives::<Self>(p, id, delta)
    }

    /// [`Backend::with_world`] for each `(id, Δ)` of `worlds` (distinct ids) in turn; backends
    /// that keep many worlds override it to rebuild the payload once.
    fn with_worlds(p: Self::Pert, worlds: &[(u32, f64)]) -> Self::Pert {
        with_worlds_in_turn::<Self>(p, worlds)
    }
}

/// [`Backend::with_worlds`]'s default: [`Backend::with_world`] for each world in turn.
pub(super) fn with_worlds_in_turn<B: Backend>(p: B::Pert, worlds: &[(u32, f64)]) -> B::Pert {
    worlds
        .iter()
        .fold(p, |p, &(id, delta)| B::with_world(p, id, delta))
}

/// [`Backend::with_world`]'s default: rebuilds the payload from its alternatives, `id`'s
/// replaced, coupled again if it carried other worlds.
pub(super) fn with_world_by_alternatives<B: Backend>(p: B::Pert, id: u32, delta: f64) -> B::Pert {
    let mut alts = B::alternatives(&p);
    alts.retain(|e| e.0 != id);
    if delta != 0.0 {
        alts.push((id, delta));
    }
    // Worlds the output already carried (captured perturbed values) meet the replayed one.
    if alts.len() > 1 {
        let perts: smallvec::SmallVec<[B::Pert; 4]> =
            alts.iter().map(|&e| B::from_alternatives(&[e])).collect();
        let keep = B::couple(&perts);
        alts.retain(|e| keep.contains(&e.0));
    }
    B::from_alternatives(&alts)
}
