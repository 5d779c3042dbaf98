//! The keep-K backend: each value keeps up to `K` alternative worlds per direction, pruning only
//! beyond that — between the pruned backend (one) and the all-worlds backend (all).
//!
//! Why: in long programs most worlds die on their own — their difference to the primal returns
//! to 0 and they leave every value — but while alive they take part in the pruned backend's
//! decisions, so the one world it keeps is often one that dies, and the estimate of the run is 0
//! while a world that mattered was dropped. Keeping a few lets the ones that matter survive
//! (on the Qanti-kT clusterer about 3 worlds are alive at a time). The worlds are stored inline,
//! so values with at most `K` worlds cost no allocation and no context access.

use smallvec::SmallVec;

use super::backend::Backend;
use super::pruned::prune;
use super::replay::{self, Replay, Worlds};
use crate::context::{with_live_ctx, RunContext};
use crate::error::Result;
use crate::sample::{Draw, Family};

/// Keep-K backend: up to `K` worlds per value and direction (`K` ≥ 1; `Keep<1>` prunes like
/// [`Pruned`](super::Pruned)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Keep<const K: usize>;

/// The worlds a keep-K value carries: `len` pairs (world id, Δ), sorted by id, Δ ≠ 0.
#[derive(Clone, Copy, Debug)]
pub struct KeepPert<const K: usize> {
    len: u8,
    ids: [u32; K],
    deltas: [f64; K],
}

impl<const K: usize> Default for KeepPert<K> {
    fn default() -> Self {
        KeepPert {
            len: 0,
            ids: [0; K],
            deltas: [0.0; K],
        }
    }
}

impl<const K: usize> KeepPert<K> {
    #[inline]
    fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        (0..self.len as usize).map(|i| (self.ids[i], self.deltas[i]))
    }

    #[inline]
    fn ids(&self) -> &[u32] {
        &self.ids[..self.len as usize]
    }

    /// The payload of the worlds `ids` (as in `self`, same order) with new differences `d(i)`
    /// for the i-th; zero differences dropped.
    #[inline]
    fn remap(&self, mut d: impl FnMut(usize) -> f64) -> Self {
        let mut out = KeepPert::default();
        let mut n = 0;
        for i in 0..self.len as usize {
            let v = d(i);
            if v != 0.0 {
                out.ids[n] = self.ids[i];
                out.deltas[n] = v;
                n += 1;
            }
        }
        out.len = n as u8;
        out
    }

    /// Whether every world of `self` is also one of `other` (both sorted).
    #[inline]
    fn within(&self, other: &Self) -> bool {
        let mut j = 0;
        for &id in self.ids() {
            while j < other.len as usize && other.ids[j] < id {
                j += 1;
            }
            if j == other.len as usize || other.ids[j] != id {
                return false;
            }
        }
        true
    }

    #[inline]
    pub(super) fn delta_of(&self, id: u32) -> f64 {
        self.iter().find(|e| e.0 == id).map_or(0.0, |e| e.1)
    }
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
pub(super) fn pack<const K: usize>(mut buf: Buf) -> KeepPert<K> {
    buf.retain(|e| e.1 != 0.0);
    if buf.len() > K {
        with_live_ctx(|ctx| fit::<K>(ctx, &mut buf));
    }
    let mut p = KeepPert::<K> {
        len: buf.len() as u8,
        ..Default::default()
    };
    for (i, (id, d)) in buf.into_iter().enumerate() {
        p.ids[i] = id;
        p.deltas[i] = d;
    }
    p
}

/// The ids of several payloads, merged and deduplicated.
fn union<const K: usize>(perts: &[KeepPert<K>]) -> SmallVec<[u32; 16]> {
    let mut ids: SmallVec<[u32; 16]> = SmallVec::new();
    for p in perts {
        ids.extend(p.iter().map(|e| e.0));
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl<const K: usize> Backend for Keep<K> {
    type Pert = KeepPert<K>;
    const NAME: &'static str = "keep";

    #[inline]
    fn is_empty(p: &KeepPert<K>) -> bool {
        p.len == 0
    }

    #[inline]
    fn map1(p: KeepPert<K>, x: f64, fx: f64, _dfx: f64, f: &impl Fn(f64) -> f64) -> KeepPert<K> {
        p.remap(|i| f(x + p.deltas[i]) - fx)
    }

    fn map2(
        a: KeepPert<K>,
        b: KeepPert<K>,
        x: f64,
        y: f64,
        fxy: f64,
        _dfx: f64,
        _dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> KeepPert<K> {
        // Fast paths: one side unperturbed, or both carrying the same worlds.
        if a.len == 0 {
            return b.remap(|i| f(x, y + b.deltas[i]) - fxy);
        }
        if b.len == 0 {
            return a.remap(|i| f(x + a.deltas[i], y) - fxy);
        }
        if a.ids() == b.ids() {
            return a.remap(|i| f(x + a.deltas[i], y + b.deltas[i]) - fxy);
        }
        if a.within(&b) {
            return b.remap(|i| f(x + a.delta_of(b.ids[i]), y + b.deltas[i]) - fxy);
        }
        if b.within(&a) {
            return a.remap(|i| f(x + a.deltas[i], y + b.delta_of(a.ids[i])) - fxy);
        }
        let mut buf = Buf::new();
        let (mut i, mut j) = (0, 0);
        let (la, lb) = (a.len as usize, b.len as usize);
        while i < la || j < lb {
            let ia = if i < la { a.ids[i] } else { u32::MAX };
            let ib = if j < lb { b.ids[j] } else { u32::MAX };
            let (id, da, db) = if ia == ib {
                i += 1;
                j += 1;
                (ia, a.deltas[i - 1], b.deltas[j - 1])
            } else if ia < ib {
                i += 1;
                (ia, a.deltas[i - 1], 0.0)
            } else {
                j += 1;
                (ib, 0.0, b.deltas[j - 1])
            };
            buf.push((id, f(x + da, y + db) - fxy));
        }
        pack(buf)
    }

    fn map_n<const M: usize>(
        perts: [KeepPert<K>; M],
        x: [f64; M],
        fx: f64,
        _grad: &[f64; M],
        f: &impl Fn([f64; M]) -> f64,
    ) -> KeepPert<K> {
        // Fast path: one argument carries every world the others carry (e.g. a shared minimum
        // that saw them all): evaluate per world of that one, no merging.
        let widest = perts
            .iter()
            .max_by_key(|p| p.len)
            .copied()
            .unwrap_or_default();
        if widest.len > 0 && perts.iter().all(|p| p.within(&widest)) {
            return widest.remap(|w| {
                let id = widest.ids[w];
                let mut alt = x;
                for (v, p) in alt.iter_mut().zip(&perts) {
                    if p.len > 0 {
                        *v += p.delta_of(id);
                    }
                }
                f(alt) - fx
            });
        }
        let mut buf = Buf::new();
        for id in union(&perts) {
            let mut alt = x;
            for (v, p) in alt.iter_mut().zip(&perts) {
                *v += p.delta_of(id);
            }
            buf.push((id, f(alt) - fx));
        }
        pack(buf)
    }

    fn draw<F: Family>(
        ctx: &mut RunContext,
        family: &F,
        values: &[f64],
        tangents: &[f64],
        perts: &[KeepPert<K>],
        draw: Draw,
    ) -> Result<KeepPert<K>> {
        replay::draw::<Self, F>(ctx, family, values, tangents, perts, draw)
    }

    fn contribution(p: &KeepPert<K>) -> f64 {
        if p.len == 0 {
            return 0.0;
        }
        with_live_ctx(|ctx| {
            p.iter()
                .filter(|e| ctx.worlds.perts[e.0 as usize].alive)
                .map(|(id, d)| ctx.worlds.perts[id as usize].weight * d)
                .sum()
        })
    }

    fn flips(a: &KeepPert<K>, b: &KeepPert<K>, x: f64, y: f64, pred: fn(f64, f64) -> bool) -> bool {
        if a.len == 0 && b.len == 0 {
            return false;
        }
        let primal = pred(x, y);
        with_live_ctx(|ctx| {
            union(&[*a, *b]).into_iter().any(|id| {
                ctx.worlds.perts[id as usize].alive
                    && pred(x + a.delta_of(id), y + b.delta_of(id)) != primal
            })
        })
    }

    fn alternatives(p: &KeepPert<K>) -> SmallVec<[(u32, f64); 4]> {
        if p.len == 0 {
            return SmallVec::new();
        }
        with_live_ctx(|ctx| {
            p.iter()
                .filter(|e| ctx.worlds.perts[e.0 as usize].alive)
                .collect()
        })
    }

    fn from_alternatives(alts: &[(u32, f64)]) -> KeepPert<K> {
        let mut buf: Buf = alts.iter().copied().collect();
        buf.sort_unstable_by_key(|e| e.0);
        pack(buf)
    }

    fn couple(perts: &[KeepPert<K>]) -> SmallVec<[u32; 4]> {
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

impl<const K: usize> Replay for Keep<K> {
    fn replayed(ctx: &mut RunContext, perts: &[KeepPert<K>]) -> SmallVec<[u32; 8]> {
        union(perts)
            .into_iter()
            .filter(|&id| ctx.worlds.perts[id as usize].alive)
            .collect()
    }

    fn delta_in(_: &RunContext, p: &KeepPert<K>, id: u32) -> f64 {
        p.delta_of(id)
    }

    /// Up to `K` worlds, pruned by [`fit`] beyond.
    fn assemble(ctx: &mut RunContext, mut worlds: Worlds) -> KeepPert<K> {
        worlds.retain(|e| e.1 != 0.0);
        fit::<K>(ctx, &mut worlds);
        pack(worlds)
    }
}
