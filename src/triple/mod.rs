//! The stochastic triple: a primal value, its pathwise tangent δ and its perturbations — weighted
//! alternative values from discrete choices that depend on θ (Arya et al. 2022).
//!
//! The estimate of dE\[f\]/dθ from one run is δ + Σ β·(alternative − value), read off the output by
//! the estimator drivers. How perturbations are stored and combined is the [`Backend`]'s job:
//! [`Pruned`] (default, one alternative per value), [`AllWorlds`] (all of them) or [`Smoothed`].
//! A triple has `N` directions (parameters) sharing one primal computation.

mod all_worlds;
mod backend;
mod keep;
mod pruned;
mod replay;
mod smoothed;

use std::cmp::Ordering;

use smallvec::SmallVec;

pub use all_worlds::{AllWorlds, AllWorldsPert};
pub use backend::Backend;
pub use keep::{Keep, KeepPert};
pub use pruned::{Pruned, PrunedPert};
pub use smoothed::{Smoothed, SmoothedPert};

use crate::context::{with_ctx, with_live_ctx, RunContext};
use crate::error::{Error, Result};
use crate::sample::{draw_in, Draw, Drawn, Family};
use crate::scalar::{impl_scalar_ops, Scalar, World};
use crate::score::record_score;

/// A stochastic triple with backend `B` and `N` directions.
///
/// Perturbations refer to bookkeeping of the run that created them (pruning decisions, weights),
/// so a triple is meaningful only inside its run: the drivers read the estimate off the output
/// before the run ends.
///
/// # Panics
/// Combining triples that carry perturbations outside any run (a triple smuggled out of its run)
/// panics with a message saying so.
#[derive(Clone, Copy, Debug)]
pub struct StochasticTriple<B: Backend = Pruned, const N: usize = 1> {
    /// The primal value.
    pub value: f64,
    /// The pathwise (almost-sure) derivative along each direction.
    pub delta: [f64; N],
    /// The perturbations along each direction.
    pub perts: [B::Pert; N],
}

/// The stochastic triple with the default, pruned backend.
pub type Triple<const N: usize = 1> = StochasticTriple<Pruned, N>;

/// The stochastic triple with the keep-K backend: up to `K` alternative worlds per value and
/// direction, pruned beyond, 8 of them inline (for K < 8, `StochasticTriple<Keep<K, K>, N>`
/// gives the same numbers with smaller values: see [`Keep`]).
pub type KeepTriple<const K: usize, const N: usize = 1> = StochasticTriple<Keep<K>, N>;

/// The stochastic triple with the all-worlds backend: keeps every alternative world (no
/// pruning), so a sample's estimate is the sum over all of them. Exact given the primal path,
/// costly where worlds multiply; for small programs and variance studies.
pub type AllWorldsTriple<const N: usize = 1> = StochasticTriple<AllWorlds, N>;

/// The former name of [`AllWorldsTriple`] ("exact" now names only the oracle, [`crate::exact`]).
#[deprecated(since = "0.2.0", note = "renamed AllWorldsTriple")]
pub type ExactTriple<const N: usize = 1> = AllWorldsTriple<N>;

/// The stochastic triple with the smoothed backend: each value carries the smoothed tangent
/// δ̃ = Σ β·Δ of the jumps behind it, combined by the chain rule.
///
/// Unbiased only for programs *linear in their draws* (sums and scalings of draws, and smooth
/// functions of a single draw's value only where they are linear); otherwise biased, e.g.
/// `bernoulli(p)²` is differentiated as 2·B·δ̃, not as the jump's finite difference. Comparisons
/// follow the primal branch without being reported. Discontinuous functions go through
/// [`propagate`](crate::propagate), [`select`](crate::select) or [`index`](crate::index), which
/// evaluate them along each jump the input carries (up to two per direction; more are pruned
/// unbiasedly): a jump of weight β from `y` to `y'` adds β·(f(y') − f(y)) to the output's δ̃.
///
/// ```
/// use stochad::{index, sample::bernoulli, SmoothedTriple};
/// // E[[0, 1][B]] = p: derivative 1, through the jump 0 → 1 of B ~ Bernoulli(p).
/// let d = stochad::derivative_with(|p: SmoothedTriple| index(&[0.0, 1.0], bernoulli(p)?))
///     .at(0.3).samples(20_000).seed(1).estimate()?;
/// assert!((d.mean - 1.0).abs() < 5.0 * d.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
pub type SmoothedTriple<const N: usize = 1> = StochasticTriple<Smoothed, N>;

impl<B: Backend, const N: usize> StochasticTriple<B, N> {
    /// A triple with value `value` and pathwise tangents `delta`, no perturbations.
    pub fn new(value: f64, delta: [f64; N]) -> Self {
        StochasticTriple {
            value,
            delta,
            perts: [B::Pert::default(); N],
        }
    }

    /// The input variable of direction `dir`: δ = 1 along `dir`, 0 elsewhere.
    ///
    /// # Panics
    /// If `dir >= N` (a programming error, not bad data).
    pub fn variable(value: f64, dir: usize) -> Self {
        assert!(dir < N, "direction {dir} out of range for {N} directions");
        let mut delta = [0.0; N];
        delta[dir] = 1.0;
        Self::new(value, delta)
    }

    /// Whether any direction carries a perturbation.
    pub fn is_perturbed(&self) -> bool {
        self.perts.iter().any(|p| !B::is_empty(p))
    }

    /// The derivative estimate of direction `dir`: δ + Σ β·Δ over live perturbations. Call it
    /// inside the run that produced the triple (the drivers do).
    pub fn derivative_contribution(&self, dir: usize) -> f64 {
        self.delta[dir] + B::contribution(&self.perts[dir])
    }

    /// Strict mode: records a read of the primal of a number with live worlds at `at`.
    #[cold]
    #[inline(never)]
    fn check_value_read(&self, at: &'static std::panic::Location<'static>) {
        if self.is_perturbed() && crate::context::strict_here() && !self.worlds().is_empty() {
            crate::context::record_value_read(at, self.value);
        }
    }

    /// Checks `pred` on the primal and records, in the run context, an alternative world that
    /// would flip it. Outside a run (nothing can be perturbed there) it only compares.
    fn check(&self, other: &Self, op: &'static str, pred: fn(f64, f64) -> bool) -> bool {
        let r = pred(self.value, other.value);
        for i in 0..N {
            if B::flips(
                &self.perts[i],
                &other.perts[i],
                self.value,
                other.value,
                pred,
            ) {
                let _ = crate::context::with_ctx("", |ctx| {
                    ctx.record_flip(op, self.value, other.value)
                });
            }
        }
        r
    }
}

impl<B: Backend, const N: usize> Default for StochasticTriple<B, N> {
    fn default() -> Self {
        Self::new(0.0, [0.0; N])
    }
}

impl<B: Backend, const N: usize> From<f64> for StochasticTriple<B, N> {
    #[inline]
    fn from(value: f64) -> Self {
        Self::new(value, [0.0; N])
    }
}

impl<B: Backend, const N: usize> Scalar for StochasticTriple<B, N> {
    #[inline]
    #[track_caller]
    fn value(&self) -> f64 {
        // One relaxed load unless some strict run is in progress.
        if crate::context::strict_anywhere() {
            self.check_value_read(std::panic::Location::caller());
        }
        self.value
    }

    #[inline]
    fn primal_value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn map1<F, D>(self, f: F, df: D) -> Self
    where
        F: Fn(f64) -> f64,
        D: Fn(f64, f64) -> f64,
    {
        let x = self.value;
        let fx = f(x);
        let d = df(x, fx);
        let mut perts = self.perts;
        for p in perts.iter_mut() {
            if !B::is_empty(p) {
                *p = B::map1(*p, x, fx, d, &f);
            }
        }
        StochasticTriple {
            value: fx,
            delta: self.delta.map(|t| d * t),
            perts,
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
        let mut delta = [0.0; N];
        let mut perts = [B::Pert::default(); N];
        for i in 0..N {
            delta[i] = dx * self.delta[i] + dy * other.delta[i];
            let (a, b) = (self.perts[i], other.perts[i]);
            if !(B::is_empty(&a) && B::is_empty(&b)) {
                perts[i] = B::map2(a, b, x, y, v, dx, dy, &f);
            }
        }
        StochasticTriple {
            value: v,
            delta,
            perts,
        }
    }

    #[inline]
    fn map_n<const K: usize, F, G>(xs: [Self; K], f: F, grad: G) -> Self
    where
        F: Fn([f64; K]) -> f64,
        G: Fn([f64; K], f64) -> [f64; K],
    {
        let x = xs.map(|t| t.value);
        let v = f(x);
        let g = grad(x, v);
        let mut delta = [0.0; N];
        let mut perts = [B::Pert::default(); N];
        for (i, d) in delta.iter_mut().enumerate() {
            for (j, t) in xs.iter().enumerate() {
                if g[j] != 0.0 {
                    *d += g[j] * t.delta[i];
                }
            }
        }
        // Payloads only where an input carries a world (the clusterer's weights carry none:
        // then no look at each input's payload per direction).
        if xs.iter().any(|t| t.is_perturbed()) {
            for (i, p) in perts.iter_mut().enumerate() {
                if xs.iter().any(|t| !B::is_empty(&t.perts[i])) {
                    *p = B::map_n(xs.map(|t| t.perts[i]), x, v, &g, &f);
                }
            }
        }
        StochasticTriple {
            value: v,
            delta,
            perts,
        }
    }

    fn draw<F: Family>(family: &F, params: &[Self]) -> Result<Self> {
        // Scratch on the stack for the common few-parameter families (the draw is a hot path).
        const STACK: usize = 4;
        let n = params.len();
        if n <= STACK {
            let mut v = [0.0; STACK];
            let mut t = [0.0; STACK];
            let mut p = [B::Pert::default(); STACK];
            draw_with(family, params, &mut v[..n], &mut t[..n], &mut p[..n])
        } else {
            draw_with(
                family,
                params,
                &mut vec![0.0; n],
                &mut vec![0.0; n],
                &mut vec![B::Pert::default(); n],
            )
        }
    }

    const CARRIES_WORLDS: bool = true;

    const DRAWS_IN_WORLDS: bool = B::REPLAYS_WORLDS;

    const REISSUES_WORLDS: bool = B::REISSUES;

    fn draw_in_worlds<F: Family>(
        family: &F,
        params: &[Self],
        worlds: &[World],
        alt: &[f64],
    ) -> Result<Self> {
        if worlds.is_empty() && alt.is_empty() {
            return Self::draw(family, params);
        }
        let n = params.len();
        // (A backend that does not redraw worlds refuses them in `Backend::draw_given`.)
        if alt.len() != worlds.len() * n {
            return Err(Error::config(format!(
                "draw_in_worlds: {} values for {} worlds of {n} parameters",
                alt.len(),
                worlds.len()
            )));
        }
        // The worlds come as values only: a payload would be a second, conflicting account.
        if let Some(i) = params.iter().position(|p| p.is_perturbed()) {
            return Err(Error::config(format!(
                "draw_in_worlds: parameter {i} carries worlds; pass its value and tangents only"
            )));
        }
        let vals: Vec<f64> = params.iter().map(|p| p.value).collect();
        family.validate(&vals)?;
        let mut tangents = vec![0.0; n];
        with_ctx("a discrete draw", |ctx| {
            let draw = sampled(ctx, family, &vals)?;
            let mut out = StochasticTriple::<B, N>::from(draw.outcome);
            let mut given: SmallVec<[(u32, &[f64]); 4]> = SmallVec::new();
            for i in 0..N {
                for (t, p) in tangents.iter_mut().zip(params) {
                    *t = p.delta[i];
                }
                given.clear();
                given.extend(
                    worlds
                        .iter()
                        .zip(alt.chunks_exact(n))
                        .filter(|(w, _)| w.dir as usize == i)
                        .map(|(w, row)| (w.id, row)),
                );
                given.sort_unstable_by_key(|g| g.0);
                if !given.is_empty() || tangents.iter().any(|&t| t != 0.0) {
                    out.perts[i] = B::draw_given(ctx, family, &vals, &tangents, &given, draw)?;
                    record_score(ctx, family, &vals, &tangents, draw.outcome, i)?;
                }
            }
            Ok(out)
        })?
    }

    #[inline]
    fn is_constant(&self) -> bool {
        self.delta.iter().all(|&t| t == 0.0) && !self.is_perturbed()
    }

    fn worlds(&self) -> SmallVec<[World; 4]> {
        let mut v = SmallVec::new();
        for (dir, p) in self.perts.iter().enumerate() {
            if !B::is_empty(p) {
                v.extend(B::alternatives(p).iter().map(|e| World {
                    dir: dir as u32,
                    id: e.0,
                }));
            }
        }
        v
    }

    fn value_in(&self, w: World) -> f64 {
        let Some(p) = self.perts.get(w.dir as usize).filter(|p| !B::is_empty(p)) else {
            return self.value;
        };
        self.value + B::live_delta(p, w.id)
    }

    #[inline]
    fn value_in_live(&self, w: World) -> f64 {
        let Some(p) = self.perts.get(w.dir as usize).filter(|p| !B::is_empty(p)) else {
            return self.value;
        };
        self.value + B::delta_of_live(p, w.id)
    }

    fn min_of(xs: impl Iterator<Item = Self>) -> Option<Self> {
        // One world per direction at most (the pruned backend): the fold's payloads are small.
        if !B::MANY_WORLDS {
            return xs.reduce(|a, b| a.min(b));
        }
        let xs: Vec<Self> = xs.collect();
        let worlds = Self::couple_worlds(&xs);
        if worlds.len() <= 2 {
            return xs.into_iter().reduce(|a, b| a.min(b));
        }
        let primal = xs
            .iter()
            .map(|x| x.without_worlds())
            .reduce(|a, b| a.min(b))?;
        let nw = worlds.len();
        let mut best: SmallVec<[f64; 32]> = smallvec::smallvec![f64::INFINITY; nw];
        let mut row: SmallVec<[f64; 32]> = smallvec::smallvec![0.0; nw];
        for x in &xs {
            // The worlds were just coupled: alive.
            x.values_in_live(&worlds, &mut row);
            for (b, &v) in best.iter_mut().zip(&row) {
                *b = b.min(v);
            }
        }
        let entries: SmallVec<[(World, f64); 32]> =
            worlds.iter().copied().zip(best.iter().copied()).collect();
        Some(primal.with_worlds(&entries))
    }

    /// With one world per direction at most (`min_of` is then the pairwise fold of
    /// `Scalar::min`): each step of the fold where neither side carries a payload (live or
    /// dead) is `min`'s `map2` done on values and tangents in place, without building a number.
    fn min_of_slice<P, R>(xs: &[Self], keep: P, raise: R) -> Option<Self>
    where
        P: Fn(usize) -> bool,
        R: Fn(usize) -> Self,
    {
        if B::MANY_WORLDS {
            return Self::min_of((0..xs.len()).map(|j| if keep(j) { xs[j] } else { raise(j) }));
        }
        let item = |j: usize| if keep(j) { xs[j] } else { raise(j) };
        let first = match xs.first() {
            None => return None,
            Some(&x) if keep(0) => x,
            Some(_) => raise(0),
        };
        if first.is_perturbed() {
            return Some((1..xs.len()).map(item).fold(first, |a, b| a.min(b)));
        }
        // The fold so far as values and tangents (its payloads empty: `map2` of two numbers
        // without one), until a number with a payload comes (then the rest as `min_of` folds).
        let (mut value, mut delta) = (first.value, first.delta);
        for j in 1..xs.len() {
            let raised;
            let b = if keep(j) {
                &xs[j]
            } else {
                raised = raise(j);
                &raised
            };
            if b.is_perturbed() {
                let acc = if j == 1 {
                    first
                } else {
                    Self::new(value, delta)
                };
                return Some((j..xs.len()).map(item).fold(acc, |a, b| a.min(b)));
            }
            let (x, y) = (value, b.value);
            // `Scalar::min`'s partial derivatives (the first argument's on a tie).
            let (dx, dy) = if x <= y { (1.0, 0.0) } else { (0.0, 1.0) };
            value = f64::min(x, y);
            for (d, &e) in delta.iter_mut().zip(&b.delta) {
                *d = dx * *d + dy * e;
            }
        }
        Some(if xs.len() == 1 {
            first
        } else {
            Self::new(value, delta)
        })
    }

    /// Where no input carries a payload (live or dead): the inputs' values and tangents read
    /// once, each shared number built from its value and gradient as `map_n` builds it.
    #[inline]
    fn map_n_shared<const K: usize, P, F, G, O>(
        xs: [Self; K],
        n: usize,
        shared: P,
        f: F,
        grad: G,
        mut other: O,
        out: &mut Vec<Self>,
    ) where
        P: Fn(usize) -> bool,
        F: Fn(usize, [f64; K]) -> f64,
        G: Fn(usize, [f64; K], f64) -> [f64; K],
        O: FnMut(usize) -> Self,
    {
        if xs.iter().any(|x| x.is_perturbed()) {
            return crate::scalar::map_n_each(xs, n, shared, f, grad, other, out);
        }
        out.reserve(n);
        let x = xs.map(|t| t.value);
        let tangents = xs.map(|t| t.delta);
        for j in 0..n {
            if !shared(j) {
                out.push(other(j));
                continue;
            }
            let v = f(j, x);
            let g = grad(j, x, v);
            // `map_n`'s sums, in its order.
            let mut delta = [0.0; N];
            for (i, d) in delta.iter_mut().enumerate() {
                for (gk, t) in g.iter().zip(&tangents) {
                    if *gk != 0.0 {
                        *d += gk * t[i];
                    }
                }
            }
            out.push(Self::new(v, delta));
        }
    }

    /// One read of each direction's payload (its live alternatives), not one per world.
    fn world_values(&self) -> SmallVec<[f64; 4]> {
        let mut v = smallvec::smallvec![self.value];
        for p in &self.perts {
            if !B::is_empty(p) {
                v.extend(B::alternatives(p).iter().map(|e| self.value + e.1));
            }
        }
        v
    }

    /// One read of each direction's payload for all of `worlds`.
    fn values_in_live(&self, worlds: &[World], out: &mut [f64]) {
        out.fill(self.value);
        for (dir, p) in self.perts.iter().enumerate() {
            if !B::is_empty(p) {
                B::values_of_live(p, self.value, dir as u32, worlds, out);
            }
        }
    }

    fn couple_worlds(xs: &[Self]) -> SmallVec<[World; 4]> {
        let mut worlds = SmallVec::new();
        let mut perts: SmallVec<[B::Pert; 8]> = SmallVec::with_capacity(xs.len());
        for dir in 0..N {
            perts.clear();
            perts.extend(xs.iter().map(|x| x.perts[dir]).filter(|p| !B::is_empty(p)));
            if !perts.is_empty() {
                worlds.extend(B::couple(&perts).into_iter().map(|id| World {
                    dir: dir as u32,
                    id,
                }));
            }
        }
        worlds
    }

    fn dead_worlds(worlds: &[World]) -> SmallVec<[World; 4]> {
        if worlds.is_empty() {
            return SmallVec::new();
        }
        with_live_ctx(|ctx| {
            worlds
                .iter()
                .filter(|w| !ctx.worlds.perts[w.id as usize].alive)
                .copied()
                .collect()
        })
    }

    fn without_worlds(self) -> Self {
        StochasticTriple {
            perts: [B::Pert::default(); N],
            ..self
        }
    }

    fn without_world(mut self, w: World) -> Self {
        if let Some(p) = self.perts.get_mut(w.dir as usize) {
            *p = B::without(*p, w.id);
        }
        self
    }

    fn reissue_world(w: World) -> Option<World> {
        if !Self::REISSUES_WORLDS || w.dir as usize >= N {
            return None;
        }
        with_ctx("reissuing a world", |ctx| {
            let old = ctx.worlds.perts.get(w.id as usize).copied()?;
            if !old.alive {
                return None;
            }
            ctx.worlds.perts[w.id as usize].alive = false;
            Some(World {
                dir: w.dir,
                id: ctx.new_pert(old.weight),
            })
        })
        .ok()
        .flatten()
    }

    fn with_world(mut self, w: World, alt: f64) -> Self {
        let dir = w.dir as usize;
        self.perts[dir] = B::with_world(self.perts[dir], w.id, alt - self.value);
        self
    }

    fn with_worlds(mut self, worlds: &[(World, f64)]) -> Self {
        // A world or two (the pruned backend's one per direction): one at a time is cheaper
        // than grouping, and the same.
        if worlds.len() <= 2 {
            return crate::scalar::with_worlds_in_turn(self, worlds);
        }
        let mut ds: SmallVec<[(u32, f64); 8]> = SmallVec::new();
        for dir in 0..N {
            ds.clear();
            ds.extend(
                worlds
                    .iter()
                    .filter(|e| e.0.dir as usize == dir)
                    .map(|e| (e.0.id, e.1 - self.value)),
            );
            if !ds.is_empty() {
                self.perts[dir] = B::with_worlds(self.perts[dir], &ds);
            }
        }
        self
    }
}

/// The world ids several payloads carry (collected into `ids`) as one set: sorted, each once.
pub(crate) fn union_of<const C: usize>(mut ids: SmallVec<[u32; C]>) -> SmallVec<[u32; C]> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The triple's draw with caller-provided scratch for parameter values, tangents and payloads.
fn draw_with<B: Backend, F: Family, const N: usize>(
    family: &F,
    params: &[StochasticTriple<B, N>],
    vals: &mut [f64],
    tangents: &mut [f64],
    perts: &mut [B::Pert],
) -> Result<StochasticTriple<B, N>> {
    for (v, p) in vals.iter_mut().zip(params) {
        *v = p.value;
    }
    family.validate(vals)?;
    with_ctx("a discrete draw", |ctx| {
        let draw = sampled(ctx, family, vals)?;
        let mut out = StochasticTriple::<B, N>::from(draw.outcome);
        for i in 0..N {
            let mut active = false;
            for (j, p) in params.iter().enumerate() {
                tangents[j] = p.delta[i];
                perts[j] = p.perts[i];
                active |= tangents[j] != 0.0 || !B::is_empty(&perts[j]);
            }
            if active {
                out.perts[i] = B::draw(ctx, family, vals, tangents, perts, draw)?;
                record_score(ctx, family, vals, tangents, draw.outcome, i)?;
            }
        }
        Ok(out)
    })?
}

/// The primal draw of a triple's parameters `vals` (the exact oracle, which would force the
/// outcome, enumerates with `Dual` numbers instead).
fn sampled<F: Family>(ctx: &mut RunContext, family: &F, vals: &[f64]) -> Result<Draw> {
    match draw_in(ctx, family, vals)? {
        Drawn::Sampled(draw) => Ok(draw),
        Drawn::Enumerated { .. } => Err(Error::config(
            "the exact oracle enumerates with Dual numbers; a stochastic triple cannot be enumerated",
        )),
    }
}

impl_scalar_ops!([B: Backend, const N: usize] StochasticTriple<B, N>);

impl<B: Backend, const N: usize> PartialEq for StochasticTriple<B, N> {
    fn eq(&self, other: &Self) -> bool {
        self.check(other, "==", |a, b| a == b)
    }
}

impl<B: Backend, const N: usize> PartialEq<f64> for StochasticTriple<B, N> {
    fn eq(&self, other: &f64) -> bool {
        self.check(&Self::from(*other), "==", |a, b| a == b)
    }
}

impl<B: Backend, const N: usize> PartialOrd for StochasticTriple<B, N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let ord = self.value.partial_cmp(&other.value);
        // A three-way comparison flips if either ordering test does.
        self.check(other, "partial_cmp", |a, b| a < b);
        self.check(other, "partial_cmp", |a, b| a > b);
        ord
    }
    fn lt(&self, other: &Self) -> bool {
        self.check(other, "<", |a, b| a < b)
    }
    fn le(&self, other: &Self) -> bool {
        self.check(other, "<=", |a, b| a <= b)
    }
    fn gt(&self, other: &Self) -> bool {
        self.check(other, ">", |a, b| a > b)
    }
    fn ge(&self, other: &Self) -> bool {
        self.check(other, ">=", |a, b| a >= b)
    }
}

impl<B: Backend, const N: usize> PartialOrd<f64> for StochasticTriple<B, N> {
    fn partial_cmp(&self, other: &f64) -> Option<Ordering> {
        self.partial_cmp(&Self::from(*other))
    }
    fn lt(&self, other: &f64) -> bool {
        self.lt(&Self::from(*other))
    }
    fn le(&self, other: &f64) -> bool {
        self.le(&Self::from(*other))
    }
    fn gt(&self, other: &f64) -> bool {
        self.gt(&Self::from(*other))
    }
    fn ge(&self, other: &f64) -> bool {
        self.ge(&Self::from(*other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::bernoulli;

    /// The context-free reads (`value_in_live`, `Backend::delta_of_live`) agree with the checked
    /// ones on every live world, and `dead_worlds` names exactly the worlds a pruning decision
    /// killed, for the pruned and the keep backends (inline and spilled payloads).
    fn live_reads<B: Backend>(prunes: bool) {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        // Runs with two worlds of one direction; runs in which coupling them killed one.
        let seen = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let runs = crate::gradient_with(|[p, q]: [StochasticTriple<B, 2>; 2]| {
            let (a, b, c) = (bernoulli(p)?, bernoulli(q)?, bernoulli(p * 0.5)?);
            // Before anything combines them (a sum would prune a's and c's worlds to one).
            let worlds: Vec<World> = [a, c].iter().flat_map(|x| x.worlds()).collect();
            for x in [a, b, c, b * 2.0 + c * 4.0, a + c * 3.0] {
                for w in x.worlds() {
                    assert_eq!(x.value_in_live(w), x.value_in(w), "world {w:?} of {x:?}");
                }
            }
            let kept = StochasticTriple::couple_worlds(&[a, c]);
            let dead = StochasticTriple::<B, 2>::dead_worlds(&worlds);
            for w in &worlds {
                assert_eq!(dead.contains(w), !kept.contains(w), "world {w:?}");
            }
            seen[0].fetch_add((worlds.len() == 2) as usize, Relaxed);
            seen[1].fetch_add((!dead.is_empty()) as usize, Relaxed);
            Ok(a + b * 2.0 + c * 4.0)
        })
        .at([0.4, 0.6])
        .samples(200)
        .runs();
        assert!(runs.is_ok());
        let seen = seen.map(|x| x.into_inner());
        assert!(
            seen[0] > 10,
            "too few runs with two worlds of a direction: {seen:?}"
        );
        assert_eq!(seen[1] > 0, prunes, "{seen:?}");
    }

    #[test]
    fn live_reads_agree_with_checked_reads() {
        live_reads::<Pruned>(true);
        live_reads::<Keep<4, 4>>(false);
        live_reads::<Keep<4, 1>>(false);
    }

    /// Bit for bit: value, tangents, and each live world and its value.
    fn same<B: Backend, const N: usize>(x: &StochasticTriple<B, N>, y: &StochasticTriple<B, N>) {
        let bits = |t: &StochasticTriple<B, N>| {
            let mut v: Vec<u64> = t.delta.iter().map(|d| d.to_bits()).collect();
            v.extend(t.world_values().iter().map(|w| w.to_bits()));
            (v, t.worlds())
        };
        assert_eq!(bits(x), bits(y), "{x:?} vs {y:?}");
    }

    /// Numbers to fold: ties, signed zeros (values and tangents), NaN and ∞, and numbers with
    /// payloads from draws (`a`, `b`) among numbers without.
    fn mix<B: Backend>(
        p: StochasticTriple<B, 2>,
        q: StochasticTriple<B, 2>,
        a: StochasticTriple<B, 2>,
        b: StochasticTriple<B, 2>,
    ) -> Vec<StochasticTriple<B, 2>> {
        let t = StochasticTriple::<B, 2>::new;
        vec![
            t(3.0, [1.0, -0.0]),
            t(2.0, [-0.0, 0.0]),
            t(2.0, [0.5, 2.0]),
            p * 2.0,
            t(-0.0, [0.0, -0.0]),
            t(0.0, [-0.0, 0.0]),
            t(f64::NAN, [1.0, 1.0]),
            a + 1.0,
            t(1.0, [f64::INFINITY, 0.0]),
            b * q,
            t(0.5, [-1.0, -0.0]),
        ]
    }

    /// `min_of_slice` is `min_of` over the kept and raised numbers, bit for bit, on every
    /// window of a mix of numbers with and without payloads.
    fn min_of_slice_is_min_of<B: Backend>() {
        let runs = crate::gradient_with(|[p, q]: [StochasticTriple<B, 2>; 2]| {
            let (a, b) = (bernoulli(p)?, bernoulli(q)?);
            let xs = mix(p, q, a, b);
            for lo in 0..xs.len() {
                for hi in lo..=xs.len() {
                    let s = &xs[lo..hi];
                    for pattern in 0..4 {
                        let keep = |j: usize| !(j + pattern).is_multiple_of(4);
                        let raise = |j: usize| s[j] * 0.5 + 7.0;
                        let got = StochasticTriple::min_of_slice(s, keep, raise);
                        let want = StochasticTriple::min_of((0..s.len()).map(|j| {
                            if keep(j) {
                                s[j]
                            } else {
                                raise(j)
                            }
                        }));
                        assert_eq!(got.is_some(), want.is_some());
                        if let (Some(g), Some(w)) = (got, want) {
                            same(&g, &w);
                        }
                    }
                }
            }
            Ok(a + b)
        })
        .at([0.4, 0.6])
        .samples(40)
        .runs();
        assert!(runs.is_ok(), "{runs:?}");
    }

    #[test]
    fn min_of_slice_is_the_fold() {
        min_of_slice_is_min_of::<Pruned>();
        min_of_slice_is_min_of::<Keep<4, 4>>();
        min_of_slice_is_min_of::<AllWorlds>();
        min_of_slice_is_min_of::<Smoothed>();
    }

    /// `map_n_shared` is the loop of `map_n` and `other` it stands for, bit for bit, with
    /// inputs without payloads (its fast path) and with them, and gradients with zeros.
    fn map_n_shared_is_map_n<B: Backend>() {
        let runs = crate::gradient_with(|[p, q]: [StochasticTriple<B, 2>; 2]| {
            let (a, b) = (bernoulli(p)?, bernoulli(q)?);
            let xs = mix(p, q, a, b);
            let c = [1.0, 2.5, -0.0, f64::NAN, -3.0, 0.0, 1e300];
            let f = |j: usize, [x, y]: [f64; 2]| c[j] * x + (y * c[j]).exp();
            let grad = |j: usize, [_, y]: [f64; 2], _v: f64| [c[j], c[j] * (y * c[j]).exp()];
            let shared = |j: usize| j % 3 != 1;
            let other = |j: usize| xs[j] * 2.0 + a;
            for inputs in [
                [p * 1.5, q],
                [p, -q],
                [a, p],
                [b, a * q],
                [xs[0], xs[1]],
                [xs[8], xs[6]],
                [xs[8], xs[0]],
            ] {
                let mut got = Vec::new();
                StochasticTriple::map_n_shared(inputs, c.len(), shared, f, grad, other, &mut got);
                assert_eq!(got.len(), c.len());
                for (j, g) in got.iter().enumerate() {
                    let want = if shared(j) {
                        StochasticTriple::map_n(inputs, |x| f(j, x), |x, v| grad(j, x, v))
                    } else {
                        other(j)
                    };
                    same(g, &want);
                }
            }
            Ok(a + b)
        })
        .at([0.4, 0.6])
        .samples(40)
        .runs();
        assert!(runs.is_ok(), "{runs:?}");
    }

    #[test]
    fn map_n_shared_is_the_loop() {
        map_n_shared_is_map_n::<Pruned>();
        map_n_shared_is_map_n::<Keep<4, 4>>();
        map_n_shared_is_map_n::<AllWorlds>();
        map_n_shared_is_map_n::<Smoothed>();
    }
}
