//! The keep-K backend: each value keeps up to `K` alternative worlds per direction, pruning only
//! beyond that — between the pruned backend (one) and the all-worlds backend (all).
//!
//! Why: in long programs most worlds die on their own — their difference to the primal returns
//! to 0 and they leave every value — but while alive they take part in the pruned backend's
//! decisions, so the one world it keeps is often one that dies, and the estimate of the run is 0
//! while a world that mattered was dropped. Keeping a few lets the ones that matter survive
//! (on the Qanti-kT clusterer about 3 worlds are alive at a time). Up to 8 worlds are stored
//! inline, so such values cost no allocation and no context access; a value with more keeps them
//! in the run context's arena (appended, freed with the run).

use smallvec::SmallVec;

use super::backend::Backend;
use super::pruned::prune;
use super::replay::{self, Replay, Worlds};
use super::union_of;
use crate::context::{with_live_ctx, RunContext};
use crate::scalar::World;

/// Keep-K backend: up to `K` worlds per value and direction (`K` ≥ 1; `Keep<1>` prunes like
/// [`Pruned`](super::Pruned)), at most `I` of them (default 8) inline in the value, more in the
/// run's arena. A triple is copied at every operation: inline room for all `K` made a keep-32
/// triple (two directions) ~800 bytes, and copying took half its time; most values carry a
/// few worlds. For `K` < 8, `I = K` keeps values smallest (`KeepTriple` uses the default).
///
/// Memory: for `K` > `I`, every value created with more than `I` worlds appends them to the
/// arena, which is freed only when the run ends. Keep-32 with
/// [`ProportionalFan(8)`](crate::sample::Coupling::ProportionalFan) on the largest default
/// event (109 particles, R = 0.8, α = 1) fills 40–75 MB per run, and the arena grows faster than
/// the event; `Keep<K, K>` never spills (constant memory, larger copies: on that event it was
/// 10 % faster, on the smaller events 1.5× slower than `I = 8`; since the state update stopped
/// copying every number per world, the difference is small: keep-32 `SignedFan(4)` −3 % and
/// +8 % instructions on the 109- and 48-particle events, keep-16 `SignedFan(2)` −5 % / −0.4 %).
#[derive(Clone, Copy, Debug, Default)]
pub struct Keep<const K: usize, const I: usize = 8>;

/// The worlds a keep-K value carries: `len` pairs (world id, Δ), sorted by id, Δ ≠ 0 — inline
/// up to `I`, beyond that in the run context's arena from offset `spill` on.
#[derive(Clone, Copy, Debug)]
pub struct KeepPert<const K: usize, const I: usize = 8> {
    /// `u32`, not `u8`, though at most `I` is stored: the struct then has no padding bytes
    /// (copying those of a value built on the stack stalled store forwarding: keep-4 Qanti-kT
    /// samples ran 7 % slower).
    len: u32,
    ids: [u32; I],
    deltas: [f64; I],
    spill: u32,
}

impl<const K: usize, const I: usize> Default for KeepPert<K, I> {
    fn default() -> Self {
        KeepPert {
            len: 0,
            ids: [0; I],
            deltas: [0.0; I],
            spill: 0,
        }
    }
}

/// A payload's entries loaded from the arena (inline ones are borrowed instead).
type Loaded<T> = SmallVec<[T; 16]>;

impl<const K: usize, const I: usize> KeepPert<K, I> {
    /// The entries `(ids, deltas)` when held inline.
    #[inline]
    fn inline(&self) -> Option<(&[u32], &[f64])> {
        let n = self.len as usize;
        (n <= I).then(|| (&self.ids[..n], &self.deltas[..n]))
    }

    /// `f(ids, deltas)` on this payload's entries.
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&[u32], &[f64]) -> R) -> R {
        if let Some((ids, deltas)) = self.inline() {
            return f(ids, deltas);
        }
        let (ids, deltas) = with_live_ctx(|ctx| self.load(ctx));
        f(&ids, &deltas)
    }

    /// [`KeepPert::with`] inside a borrow of the run context `ctx`.
    #[inline]
    fn with_in<R>(&self, ctx: &RunContext, f: impl FnOnce(&[u32], &[f64]) -> R) -> R {
        if let Some((ids, deltas)) = self.inline() {
            return f(ids, deltas);
        }
        let (ids, deltas) = self.load(ctx);
        f(&ids, &deltas)
    }

    /// A spilled payload's entries from the arena.
    fn load(&self, ctx: &RunContext) -> (Loaded<u32>, Loaded<f64>) {
        let e = &ctx.worlds.keep[self.spill as usize..][..self.len as usize];
        (
            e.iter().map(|x| x.0).collect(),
            e.iter().map(|x| x.1).collect(),
        )
    }

    /// The payload with worlds `ids` (sorted) and differences `d(i)` for the i-th, zero
    /// differences dropped.
    #[inline]
    fn build(ids: &[u32], mut d: impl FnMut(usize) -> f64) -> Self {
        if ids.len() <= I {
            let mut out = KeepPert::default();
            let mut n = 0;
            for (i, &id) in ids.iter().enumerate() {
                let v = d(i);
                if v != 0.0 {
                    out.ids[n] = id;
                    out.deltas[n] = v;
                    n += 1;
                }
            }
            out.len = n as u32;
            return out;
        }
        let buf: Buf = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, d(i)))
            .filter(|e| e.1 != 0.0)
            .collect();
        store(&buf)
    }

    /// The payload of the same worlds with new differences `d(i, Δ_i)`; zeros dropped.
    #[inline]
    fn remap(&self, mut d: impl FnMut(usize, f64) -> f64) -> Self {
        self.with(|ids, deltas| Self::build(ids, |i| d(i, deltas[i])))
    }

    #[inline]
    pub(super) fn delta_of(&self, id: u32) -> f64 {
        self.with(|ids, deltas| delta_in(ids, deltas, id))
    }
}

/// Δ of world `id` in entries `ids`, `deltas` (0 if absent).
#[inline]
fn delta_in(ids: &[u32], deltas: &[f64], id: u32) -> f64 {
    ids.iter().position(|&x| x == id).map_or(0.0, |i| deltas[i])
}

/// [`delta_in`] for ids asked in increasing order (as a payload's own ids are): a walk along
/// the entries, O(entries + asks) where a search per ask is O(entries × asks). An id at or
/// below the previous match starts the walk again, so any order gives the right Δ.
struct Walk<'a> {
    ids: &'a [u32],
    deltas: &'a [f64],
    at: usize,
}

impl<'a> Walk<'a> {
    #[inline]
    fn new(ids: &'a [u32], deltas: &'a [f64]) -> Self {
        Walk { ids, deltas, at: 0 }
    }

    /// Δ of world `id` (0 if absent).
    #[inline]
    fn delta(&mut self, id: u32) -> f64 {
        if self.at > 0 && self.ids[self.at - 1] >= id {
            self.at = 0;
        }
        while self.at < self.ids.len() && self.ids[self.at] < id {
            self.at += 1;
        }
        if self.at < self.ids.len() && self.ids[self.at] == id {
            self.at += 1;
            self.deltas[self.at - 1]
        } else {
            0.0
        }
    }
}

/// [`Backend::map_n`] on the arguments' entries `(ids, Δs)`.
fn map_entries<const K: usize, const I: usize, const M: usize>(
    entries: [(&[u32], &[f64]); M],
    x: [f64; M],
    fx: f64,
    f: &impl Fn([f64; M]) -> f64,
) -> KeepPert<K, I> {
    // Fast path: one argument carries every world the others carry (e.g. a shared minimum
    // that saw them all): evaluate per world of that one, no merging.
    let widest = (0..M).max_by_key(|&m| entries[m].0.len()).unwrap_or(0);
    if M > 0 && !entries[widest].0.is_empty() {
        let ids = entries[widest].0;
        if entries.iter().all(|e| within(e.0, ids)) {
            let mut walks = entries.map(|e| Walk::new(e.0, e.1));
            return KeepPert::build(ids, |w| {
                let mut alt = x;
                for (v, e) in alt.iter_mut().zip(&mut walks) {
                    if !e.ids.is_empty() {
                        *v += e.delta(ids[w]);
                    }
                }
                f(alt) - fx
            });
        }
    }
    let ids: SmallVec<[u32; 16]> =
        union_of(entries.iter().flat_map(|e| e.0.iter().copied()).collect());
    let mut buf = Buf::new();
    let mut walks = entries.map(|e| Walk::new(e.0, e.1));
    for id in ids {
        let mut alt = x;
        for (v, e) in alt.iter_mut().zip(&mut walks) {
            *v += e.delta(id);
        }
        buf.push((id, f(alt) - fx));
    }
    pack(buf)
}

/// Whether every id of `a` is also one of `b` (both sorted).
#[inline]
fn within(a: &[u32], b: &[u32]) -> bool {
    let mut j = 0;
    for &id in a {
        while j < b.len() && b[j] < id {
            j += 1;
        }
        if j == b.len() || b[j] != id {
            return false;
        }
    }
    true
}

/// A payload of the sorted, nonzero entries `buf` (at most `K`): inline, or in the arena.
#[inline]
fn store<const K: usize, const I: usize>(buf: &[(u32, f64)]) -> KeepPert<K, I> {
    if buf.len() > I {
        return with_live_ctx(|ctx| store_in(ctx, buf));
    }
    let mut p = KeepPert::<K, I> {
        len: buf.len() as u32,
        ..Default::default()
    };
    for (i, &(id, d)) in buf.iter().enumerate() {
        p.ids[i] = id;
        p.deltas[i] = d;
    }
    p
}

/// [`store`] inside a borrow of the run context `ctx`.
fn store_in<const K: usize, const I: usize>(
    ctx: &mut RunContext,
    buf: &[(u32, f64)],
) -> KeepPert<K, I> {
    if buf.len() <= I {
        return store(buf);
    }
    KeepPert {
        len: buf.len() as u32,
        spill: spill(ctx, buf),
        ..Default::default()
    }
}

/// Appends `entries` to the run's arena; their offset.
fn spill(ctx: &mut RunContext, entries: &[(u32, f64)]) -> u32 {
    let at = ctx.worlds.keep.len() as u32;
    ctx.worlds.keep.extend_from_slice(entries);
    at
}

/// Worlds under construction (possibly more than `K`), sorted by id.
pub(super) type Buf = SmallVec<[(u32, f64); 16]>;

/// Reduces `buf` to at most `K` worlds: drops dead ones, then prunes the two of smallest |weight|
/// against each other until `K` remain (each pairwise decision unbiased, killed everywhere).
pub(super) fn fit<const K: usize>(ctx: &mut RunContext, buf: &mut Buf) {
    buf.retain(|e| ctx.worlds.perts[e.0 as usize].alive);
    while buf.len() > K {
        let w = |e: &(u32, f64)| ctx.worlds.perts[e.0 as usize].weight.abs();
        let mut order: SmallVec<[usize; 16]> = (0..buf.len()).collect();
        order.sort_by(|&a, &b| {
            w(&buf[a])
                .total_cmp(&w(&buf[b]))
                .then(buf[a].0.cmp(&buf[b].0))
        });
        let (a, b) = (buf[order[0]].0, buf[order[1]].0);
        let keep = prune(ctx, a, b);
        let lose = if keep == a { b } else { a };
        buf.retain(|e| e.0 != lose);
    }
}

/// The payload from a buffer, pruned to `K` if needed.
#[inline]
pub(super) fn pack<const K: usize, const I: usize>(mut buf: Buf) -> KeepPert<K, I> {
    buf.retain(|e| e.1 != 0.0);
    if buf.len() > K {
        with_live_ctx(|ctx| fit::<K>(ctx, &mut buf));
    }
    store(&buf)
}

/// The ids of several payloads, merged and deduplicated (see [`merge_ids`]).
fn union<const K: usize, const I: usize>(perts: &[KeepPert<K, I>]) -> SmallVec<[u32; 16]> {
    let (mut ids, mut scratch) = (SmallVec::new(), SmallVec::new());
    for p in perts {
        if p.len > 0 {
            p.with(|more, _| merge_ids(&mut ids, &mut scratch, more));
        }
    }
    ids
}

/// Merges the sorted ids `more` into the sorted, deduplicated `ids` (`scratch` is scratch),
/// skipping the work where `ids` has them all already: payloads of one state mostly carry the
/// same worlds, so a union stays O(K) per payload where collecting every id and sorting them
/// grew with the number of payloads.
fn merge_ids(ids: &mut SmallVec<[u32; 16]>, scratch: &mut SmallVec<[u32; 16]>, more: &[u32]) {
    if within(more, ids) {
        return;
    }
    scratch.clear();
    let (mut i, mut j) = (0, 0);
    while i < ids.len() || j < more.len() {
        let a = ids.get(i).copied().unwrap_or(u32::MAX);
        let b = more.get(j).copied().unwrap_or(u32::MAX);
        scratch.push(a.min(b));
        i += (a <= b) as usize;
        j += (b <= a) as usize;
    }
    std::mem::swap(ids, scratch);
}

impl<const K: usize, const I: usize> Backend for Keep<K, I> {
    type Pert = KeepPert<K, I>;
    const NAME: &'static str = "keep";
    const MANY_WORLDS: bool = true;

    #[inline]
    fn is_empty(p: &KeepPert<K, I>) -> bool {
        p.len == 0
    }

    #[inline]
    fn map1(
        p: KeepPert<K, I>,
        x: f64,
        fx: f64,
        _dfx: f64,
        f: &impl Fn(f64) -> f64,
    ) -> KeepPert<K, I> {
        p.remap(|_, d| f(x + d) - fx)
    }

    fn map2(
        a: KeepPert<K, I>,
        b: KeepPert<K, I>,
        x: f64,
        y: f64,
        fxy: f64,
        _dfx: f64,
        _dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> KeepPert<K, I> {
        // Fast paths: one side unperturbed, or both carrying the same worlds.
        if a.len == 0 {
            return b.remap(|_, d| f(x, y + d) - fxy);
        }
        if b.len == 0 {
            return a.remap(|_, d| f(x + d, y) - fxy);
        }
        a.with(|ai, ad| {
            b.with(|bi, bd| {
                if ai == bi {
                    return KeepPert::build(ai, |i| f(x + ad[i], y + bd[i]) - fxy);
                }
                if within(ai, bi) {
                    let mut a = Walk::new(ai, ad);
                    return KeepPert::build(bi, |i| f(x + a.delta(bi[i]), y + bd[i]) - fxy);
                }
                if within(bi, ai) {
                    let mut b = Walk::new(bi, bd);
                    return KeepPert::build(ai, |i| f(x + ad[i], y + b.delta(ai[i])) - fxy);
                }
                let mut buf = Buf::new();
                let (mut i, mut j) = (0, 0);
                let (la, lb) = (ai.len(), bi.len());
                while i < la || j < lb {
                    let ia = if i < la { ai[i] } else { u32::MAX };
                    let ib = if j < lb { bi[j] } else { u32::MAX };
                    let (id, da, db) = if ia == ib {
                        i += 1;
                        j += 1;
                        (ia, ad[i - 1], bd[j - 1])
                    } else if ia < ib {
                        i += 1;
                        (ia, ad[i - 1], 0.0)
                    } else {
                        j += 1;
                        (ib, 0.0, bd[j - 1])
                    };
                    buf.push((id, f(x + da, y + db) - fxy));
                }
                pack(buf)
            })
        })
    }

    fn map_n<const M: usize>(
        perts: [KeepPert<K, I>; M],
        x: [f64; M],
        fx: f64,
        _grad: &[f64; M],
        f: &impl Fn([f64; M]) -> f64,
    ) -> KeepPert<K, I> {
        if perts.iter().all(|p| p.len as usize <= I) {
            let entries = perts
                .each_ref()
                .map(|p| (&p.ids[..p.len as usize], &p.deltas[..p.len as usize]));
            return map_entries(entries, x, fx, f);
        }
        let loaded: [(Loaded<u32>, Loaded<f64>); M] = std::array::from_fn(|m| {
            if perts[m].len > 0 {
                perts[m].with(|i, d| (Loaded::from_slice(i), Loaded::from_slice(d)))
            } else {
                (Loaded::new(), Loaded::new())
            }
        });
        map_entries(loaded.each_ref().map(|(i, d)| (&i[..], &d[..])), x, fx, f)
    }

    // `draw`, `REPLAYS_WORLDS` and `draw_given`: the replayed draw of `replay`.
    replay::replay_draws!();

    fn contribution(p: &KeepPert<K, I>) -> f64 {
        if p.len == 0 {
            return 0.0;
        }
        with_live_ctx(|ctx| {
            p.with_in(ctx, |ids, deltas| {
                ids.iter()
                    .zip(deltas)
                    .filter(|e| ctx.worlds.perts[*e.0 as usize].alive)
                    .map(|(&id, &d)| ctx.worlds.perts[id as usize].weight * d)
                    .sum()
            })
        })
    }

    fn flips(
        a: &KeepPert<K, I>,
        b: &KeepPert<K, I>,
        x: f64,
        y: f64,
        pred: fn(f64, f64) -> bool,
    ) -> bool {
        if a.len == 0 && b.len == 0 {
            return false;
        }
        let primal = pred(x, y);
        let ids = union(&[*a, *b]);
        let alts: SmallVec<[(u32, f64, f64); 16]> = ids
            .into_iter()
            .map(|id| (id, a.delta_of(id), b.delta_of(id)))
            .collect();
        with_live_ctx(|ctx| {
            alts.iter().any(|&(id, da, db)| {
                ctx.worlds.perts[id as usize].alive && pred(x + da, y + db) != primal
            })
        })
    }

    fn alternatives(p: &KeepPert<K, I>) -> SmallVec<[(u32, f64); 4]> {
        if p.len == 0 {
            return SmallVec::new();
        }
        with_live_ctx(|ctx| {
            p.with_in(ctx, |ids, deltas| {
                ids.iter()
                    .zip(deltas)
                    .filter(|e| ctx.worlds.perts[*e.0 as usize].alive)
                    .map(|(&id, &d)| (id, d))
                    .collect()
            })
        })
    }

    /// Inline entries are read without the run context.
    fn delta_of_live(p: &KeepPert<K, I>, id: u32) -> f64 {
        p.with(|ids, deltas| delta_in(ids, deltas, id))
    }

    /// One read of the payload (a spilled one is loaded once, not once per world).
    fn values_of_live(p: &KeepPert<K, I>, value: f64, dir: u32, worlds: &[World], out: &mut [f64]) {
        p.with(|ids, deltas| {
            let mut walk = Walk::new(ids, deltas);
            for (o, w) in out.iter_mut().zip(worlds) {
                if w.dir == dir {
                    *o = value + walk.delta(w.id);
                }
            }
        })
    }

    fn live_delta(p: &KeepPert<K, I>, id: u32) -> f64 {
        if p.len == 0 {
            return 0.0;
        }
        with_live_ctx(|ctx| {
            if ctx.worlds.perts[id as usize].alive {
                p.with_in(ctx, |ids, deltas| delta_in(ids, deltas, id))
            } else {
                0.0
            }
        })
    }

    fn from_alternatives(alts: &[(u32, f64)]) -> KeepPert<K, I> {
        let mut buf: Buf = alts.iter().copied().collect();
        buf.sort_unstable_by_key(|e| e.0);
        pack(buf)
    }

    /// As the default (the live worlds, `id`'s replaced, coupled when more than one),
    /// without building a payload per world.
    fn with_world(p: KeepPert<K, I>, id: u32, delta: f64) -> KeepPert<K, I> {
        with_live_ctx(|ctx| {
            let mut buf: Buf = p.with_in(ctx, |ids, deltas| {
                ids.iter()
                    .zip(deltas)
                    .filter(|e| *e.0 != id && ctx.worlds.perts[*e.0 as usize].alive)
                    .map(|(&i, &d)| (i, d))
                    .collect()
            });
            if delta != 0.0 {
                let at = buf.partition_point(|e| e.0 < id);
                buf.insert(at, (id, delta));
            }
            if buf.len() > 1 {
                fit::<K>(ctx, &mut buf);
            }
            store_in(ctx, &buf)
        })
    }

    /// Where `p` carries no world and `worlds` (distinct ids) fit in `K`: the payload of the
    /// live, nonzero ones, built once (one after the other, nothing would be pruned: the same
    /// worlds). Otherwise one after the other.
    fn with_worlds(p: KeepPert<K, I>, worlds: &[(u32, f64)]) -> KeepPert<K, I> {
        if p.len != 0 || worlds.len() > K {
            return super::backend::with_worlds_in_turn::<Self>(p, worlds);
        }
        with_live_ctx(|ctx| {
            let mut buf: Buf = worlds
                .iter()
                .filter(|e| e.1 != 0.0 && ctx.worlds.perts[e.0 as usize].alive)
                .copied()
                .collect();
            buf.sort_unstable_by_key(|e| e.0);
            store_in(ctx, &buf)
        })
    }

    fn couple(perts: &[KeepPert<K, I>]) -> SmallVec<[u32; 4]> {
        let ids = union(perts);
        if ids.is_empty() {
            return SmallVec::new();
        }
        with_live_ctx(|ctx| {
            let mut buf: Buf = ids.into_iter().map(|id| (id, 1.0)).collect();
            fit::<K>(ctx, &mut buf);
            buf.into_iter().map(|e| e.0).collect()
        })
    }
}

impl<const K: usize, const I: usize> Replay for Keep<K, I> {
    fn replayed(ctx: &mut RunContext, perts: &[KeepPert<K, I>]) -> SmallVec<[u32; 8]> {
        let (mut ids, mut scratch) = (SmallVec::new(), SmallVec::new());
        for p in perts {
            if p.len > 0 {
                p.with_in(ctx, |more, _| merge_ids(&mut ids, &mut scratch, more));
            }
        }
        ids.into_iter()
            .filter(|&id| ctx.worlds.perts[id as usize].alive)
            .collect()
    }

    fn delta_in(ctx: &RunContext, p: &KeepPert<K, I>, id: u32) -> f64 {
        p.with_in(ctx, |ids, deltas| delta_in(ids, deltas, id))
    }

    /// One read of the payload (a spilled one is loaded once, not once per world).
    fn deltas_in(ctx: &RunContext, p: &KeepPert<K, I>, ids: &[u32], out: &mut [f64]) {
        p.with_in(ctx, |pi, pd| {
            let mut walk = Walk::new(pi, pd);
            for (o, &id) in out.iter_mut().zip(ids) {
                *o = walk.delta(id);
            }
        })
    }

    /// Up to `K` worlds, pruned by [`fit`] beyond.
    fn assemble(ctx: &mut RunContext, mut worlds: Worlds) -> KeepPert<K, I> {
        worlds.retain(|e| e.1 != 0.0);
        fit::<K>(ctx, &mut worlds);
        store_in(ctx, &worlds)
    }
}
