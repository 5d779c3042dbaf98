//! The all-worlds backend: every value keeps every perturbation that reaches it (no pruning). Lower
//! variance, cost growing with the number of perturbations; for tests and small programs.

use smallvec::SmallVec;

use super::backend::Backend;
use super::replay::{self, Replay, Worlds};
use super::union_of;
use crate::context::{with_live_ctx, ExactList, RunContext};

/// The all-worlds backend: keeps every perturbation (no pruning). The lists live in the run context's arena so the
/// triple stays `Copy`; the payload is a handle (0 = no perturbation).
#[derive(Clone, Copy, Debug, Default)]
pub struct AllWorlds;

/// Handle of an all-worlds backend's list of `(world id, Δ)`, sorted by id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllWorldsPert(u32);

fn store(list: ExactList) -> AllWorldsPert {
    if list.is_empty() {
        return AllWorldsPert(0);
    }
    with_live_ctx(|ctx| {
        ctx.worlds.lists.push(list);
        AllWorldsPert((ctx.worlds.lists.len() - 1) as u32)
    })
}

fn load(p: AllWorldsPert) -> ExactList {
    if p.0 == 0 {
        return ExactList::new();
    }
    with_live_ctx(|ctx| ctx.worlds.lists[p.0 as usize].clone())
}

/// Merges two id-sorted lists, calling `f(da, db)` (missing Δ = 0) for every id of either.
fn merge(a: &ExactList, b: &ExactList, mut f: impl FnMut(u32, f64, f64)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let ia = a.get(i).map_or(u32::MAX, |e| e.0);
        let ib = b.get(j).map_or(u32::MAX, |e| e.0);
        if ia == ib {
            f(ia, a[i].1, b[j].1);
            i += 1;
            j += 1;
        } else if ia < ib {
            f(ia, a[i].1, 0.0);
            i += 1;
        } else {
            f(ib, 0.0, b[j].1);
            j += 1;
        }
    }
}

impl Backend for AllWorlds {
    type Pert = AllWorldsPert;
    const NAME: &'static str = "all-worlds";
    const MANY_WORLDS: bool = true;

    fn is_empty(p: &AllWorldsPert) -> bool {
        p.0 == 0
    }

    fn map1(
        p: AllWorldsPert,
        x: f64,
        fx: f64,
        _dfx: f64,
        f: &impl Fn(f64) -> f64,
    ) -> AllWorldsPert {
        if p.0 == 0 {
            return p;
        }
        let list = load(p);
        store(
            list.iter()
                .map(|&(id, d)| (id, f(x + d) - fx))
                .filter(|e| e.1 != 0.0)
                .collect(),
        )
    }

    fn map2(
        a: AllWorldsPert,
        b: AllWorldsPert,
        x: f64,
        y: f64,
        fxy: f64,
        _dfx: f64,
        _dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> AllWorldsPert {
        if a.0 == 0 && b.0 == 0 {
            return a;
        }
        let (la, lb) = (load(a), load(b));
        let mut out = ExactList::new();
        merge(&la, &lb, |id, da, db| {
            let d = f(x + da, y + db) - fxy;
            if d != 0.0 {
                out.push((id, d));
            }
        });
        store(out)
    }

    fn map_n<const K: usize>(
        perts: [AllWorldsPert; K],
        x: [f64; K],
        fx: f64,
        _grad: &[f64; K],
        f: &impl Fn([f64; K]) -> f64,
    ) -> AllWorldsPert {
        if perts.iter().all(|p| p.0 == 0) {
            return AllWorldsPert(0);
        }
        let lists: [ExactList; K] = perts.map(load);
        let ids: SmallVec<[u32; 8]> = union_of(lists.iter().flatten().map(|e| e.0).collect());
        let mut out = ExactList::new();
        for id in ids {
            let mut alt = x;
            for (a, l) in alt.iter_mut().zip(&lists) {
                *a += l.iter().find(|e| e.0 == id).map_or(0.0, |e| e.1);
            }
            let d = f(alt) - fx;
            if d != 0.0 {
                out.push((id, d));
            }
        }
        store(out)
    }

    // `draw`, `REPLAYS_WORLDS` and `draw_given`: the replayed draw of `replay`.
    replay::replay_draws!();

    fn contribution(p: &AllWorldsPert) -> f64 {
        if p.0 == 0 {
            return 0.0;
        }
        with_live_ctx(|ctx| {
            ctx.worlds.lists[p.0 as usize]
                .iter()
                .map(|&(id, d)| ctx.worlds.perts[id as usize].weight * d)
                .sum()
        })
    }

    fn flips(
        a: &AllWorldsPert,
        b: &AllWorldsPert,
        x: f64,
        y: f64,
        pred: fn(f64, f64) -> bool,
    ) -> bool {
        if a.0 == 0 && b.0 == 0 {
            return false;
        }
        let primal = pred(x, y);
        let mut flipped = false;
        merge(&load(*a), &load(*b), |_, da, db| {
            flipped |= pred(x + da, y + db) != primal
        });
        flipped
    }

    fn alternatives(p: &AllWorldsPert) -> SmallVec<[(u32, f64); 4]> {
        load(*p).into_iter().collect()
    }

    fn from_alternatives(alts: &[(u32, f64)]) -> AllWorldsPert {
        let mut list: ExactList = alts.iter().copied().filter(|e| e.1 != 0.0).collect();
        list.sort_unstable_by_key(|e| e.0);
        store(list)
    }

    fn couple(perts: &[AllWorldsPert]) -> SmallVec<[u32; 4]> {
        union_of(perts.iter().flat_map(|p| load(*p)).map(|e| e.0).collect())
    }
}

impl Replay for AllWorlds {
    fn replayed(ctx: &mut RunContext, perts: &[AllWorldsPert]) -> SmallVec<[u32; 8]> {
        union_of(
            perts
                .iter()
                .flat_map(|p| &ctx.worlds.lists[p.0 as usize])
                .map(|e| e.0)
                .collect(),
        )
    }

    fn delta_in(ctx: &RunContext, p: &AllWorldsPert, id: u32) -> f64 {
        ctx.worlds.lists[p.0 as usize]
            .iter()
            .find(|e| e.0 == id)
            .map_or(0.0, |e| e.1)
    }

    /// Every world.
    fn assemble(ctx: &mut RunContext, worlds: Worlds) -> AllWorldsPert {
        let out: ExactList = worlds.into_iter().filter(|e| e.1 != 0.0).collect();
        if out.is_empty() {
            return AllWorldsPert(0);
        }
        ctx.worlds.lists.push(out);
        AllWorldsPert((ctx.worlds.lists.len() - 1) as u32)
    }
}
