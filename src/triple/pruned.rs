//! The pruned backend: at most one alternative per value; when two perturbations meet, one is
//! kept with probability ∝ |weight| and reweighted, so the estimate stays unbiased.

use smallvec::SmallVec;

use super::backend::Backend;
use super::replay::{self, Replay, Worlds};
use crate::context::{with_live_ctx, RunContext};

/// Pruned backend (the default): one alternative per value; pruning decisions live in the run
/// context and are seen by every value that carries the perturbation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pruned;

/// The perturbation a pruned value carries: the world `id` (or none) and Δ = alternative − value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrunedPert {
    id: u32,
    /// Always 0: the struct has no padding bytes, so building a value writes every field
    /// (copying the padding of one built on the stack stalled store forwarding).
    pad: u32,
    delta: f64,
}

const NONE: u32 = u32::MAX;

impl Default for PrunedPert {
    fn default() -> Self {
        PrunedPert {
            id: NONE,
            pad: 0,
            delta: 0.0,
        }
    }
}

impl PrunedPert {
    #[inline]
    fn some(id: u32, delta: f64) -> Self {
        PrunedPert { id, pad: 0, delta }
    }
    /// World `id` with difference `delta`, or none when `delta` is 0: a value equal to the primal
    /// in that world needs no perturbation, which keeps it out of pruning decisions it has no
    /// stake in (the world stays alive elsewhere).
    #[inline]
    fn nonzero(id: u32, delta: f64) -> Self {
        if delta == 0.0 {
            Self::default()
        } else {
            Self::some(id, delta)
        }
    }
    #[inline]
    fn is_none(&self) -> bool {
        self.id == NONE
    }
}

/// Keeps one of two live perturbations with probability ∝ |weight|, kills the other everywhere,
/// and divides the survivor's weight by its survival probability. Returns the survivor's id.
/// The coin depends on the pair only, so the decision does not depend on where they meet.
pub(super) fn prune(ctx: &mut RunContext, a: u32, b: u32) -> u32 {
    let (wa, wb) = (
        ctx.worlds.perts[a as usize].weight,
        ctx.worlds.perts[b as usize].weight,
    );
    let total = wa.abs() + wb.abs();
    if total == 0.0 {
        ctx.worlds.perts[b as usize].alive = false;
        return a;
    }
    let (keep, lose, w) = if ctx.prune_uniform(a, b) * total < wb.abs() {
        (b, a, wb)
    } else {
        (a, b, wa)
    };
    ctx.worlds.perts[lose as usize].alive = false;
    ctx.worlds.perts[keep as usize].weight = total.copysign(w);
    keep
}

/// The live perturbation among `perts` after pruning them pairwise (None when there is none).
fn couple_all(ctx: &mut RunContext, perts: &[PrunedPert]) -> Option<u32> {
    let mut kept: Option<u32> = None;
    for p in perts {
        // Δ = 0: this value is the primal in that world; it has no stake in the decision.
        if p.is_none() || p.delta == 0.0 || !ctx.worlds.perts[p.id as usize].alive {
            continue;
        }
        kept = Some(match kept {
            None => p.id,
            Some(k) if k == p.id => k,
            Some(k) => prune(ctx, k, p.id),
        });
    }
    kept
}

impl Backend for Pruned {
    type Pert = PrunedPert;
    const NAME: &'static str = "pruned";
    const REISSUES: bool = true;

    #[inline]
    fn without(p: PrunedPert, id: u32) -> PrunedPert {
        if p.id == id {
            PrunedPert::default()
        } else {
            p
        }
    }

    #[inline]
    fn is_empty(p: &PrunedPert) -> bool {
        p.is_none()
    }

    #[inline]
    fn map1(p: PrunedPert, x: f64, fx: f64, _dfx: f64, f: &impl Fn(f64) -> f64) -> PrunedPert {
        if p.is_none() {
            return p;
        }
        PrunedPert::nonzero(p.id, f(x + p.delta) - fx)
    }

    #[inline]
    fn map2(
        a: PrunedPert,
        b: PrunedPert,
        x: f64,
        y: f64,
        fxy: f64,
        _dfx: f64,
        _dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> PrunedPert {
        match (a.is_none(), b.is_none()) {
            (true, true) => a,
            (false, true) => PrunedPert::nonzero(a.id, f(x + a.delta, y) - fxy),
            (true, false) => PrunedPert::nonzero(b.id, f(x, y + b.delta) - fxy),
            (false, false) if a.id == b.id => {
                PrunedPert::nonzero(a.id, f(x + a.delta, y + b.delta) - fxy)
            }
            (false, false) => match with_live_ctx(|ctx| couple_all(ctx, &[a, b])) {
                None => PrunedPert::default(),
                Some(id) if id == a.id => PrunedPert::nonzero(id, f(x + a.delta, y) - fxy),
                Some(id) => PrunedPert::nonzero(id, f(x, y + b.delta) - fxy),
            },
        }
    }

    #[inline]
    fn map_n<const K: usize>(
        perts: [PrunedPert; K],
        x: [f64; K],
        fx: f64,
        _grad: &[f64; K],
        f: &impl Fn([f64; K]) -> f64,
    ) -> PrunedPert {
        // The common case: every perturbed argument carries the same world.
        let mut id = NONE;
        let mut one_world = true;
        for p in &perts {
            if !p.is_none() {
                if id == NONE {
                    id = p.id;
                } else if p.id != id {
                    one_world = false;
                }
            }
        }
        if id == NONE {
            return PrunedPert::default();
        }
        if !one_world {
            match with_live_ctx(|ctx| couple_all(ctx, &perts)) {
                None => return PrunedPert::default(),
                Some(kept) => id = kept,
            }
        }
        let mut alt = x;
        for (a, p) in alt.iter_mut().zip(&perts) {
            if p.id == id {
                *a += p.delta;
            }
        }
        PrunedPert::nonzero(id, f(alt) - fx)
    }

    // `draw`, `REPLAYS_WORLDS` and `draw_given`: the replayed draw of `replay`.
    replay::replay_draws!();

    fn contribution(p: &PrunedPert) -> f64 {
        if p.is_none() {
            return 0.0;
        }
        with_live_ctx(|ctx| {
            let s = ctx.worlds.perts[p.id as usize];
            if s.alive {
                s.weight * p.delta
            } else {
                0.0
            }
        })
    }

    fn flips(a: &PrunedPert, b: &PrunedPert, x: f64, y: f64, pred: fn(f64, f64) -> bool) -> bool {
        if a.is_none() && b.is_none() {
            return false;
        }
        let primal = pred(x, y);
        let alive = |p: &PrunedPert| {
            !p.is_none()
                && crate::context::with_ctx("", |ctx| ctx.worlds.perts[p.id as usize].alive)
                    .unwrap_or(false)
        };
        let (la, lb) = (alive(a), alive(b));
        if la && lb && a.id == b.id {
            return pred(x + a.delta, y + b.delta) != primal;
        }
        (la && pred(x + a.delta, y) != primal) || (lb && pred(x, y + b.delta) != primal)
    }

    fn alternatives(p: &PrunedPert) -> SmallVec<[(u32, f64); 4]> {
        let mut v = SmallVec::new();
        if !p.is_none() && with_live_ctx(|ctx| ctx.worlds.perts[p.id as usize].alive) {
            v.push((p.id, p.delta));
        }
        v
    }

    #[inline]
    fn delta_of_live(p: &PrunedPert, id: u32) -> f64 {
        if p.id == id {
            p.delta
        } else {
            0.0
        }
    }

    /// Without the run context where `p` carries no other world: then nothing meets `id`.
    fn with_world(p: PrunedPert, id: u32, delta: f64) -> PrunedPert {
        if p.is_none() || p.id == id {
            return PrunedPert::nonzero(id, delta);
        }
        super::backend::with_world_by_alternatives::<Self>(p, id, delta)
    }

    fn from_alternatives(alts: &[(u32, f64)]) -> PrunedPert {
        match alts {
            [] => PrunedPert::default(),
            [(id, d)] => PrunedPert::some(*id, *d),
            _ => unreachable!("the pruned backend replays one world"),
        }
    }

    fn couple(perts: &[PrunedPert]) -> SmallVec<[u32; 4]> {
        if perts.iter().all(|p| p.is_none()) {
            return SmallVec::new();
        }
        with_live_ctx(|ctx| couple_all(ctx, perts))
            .into_iter()
            .collect()
    }
}

impl Replay for Pruned {
    fn replayed(ctx: &mut RunContext, perts: &[PrunedPert]) -> SmallVec<[u32; 8]> {
        couple_all(ctx, perts).into_iter().collect()
    }

    fn delta_in(_: &RunContext, p: &PrunedPert, id: u32) -> f64 {
        Self::delta_of_live(p, id)
    }

    /// One world: each further one is pruned against the kept one, in order.
    fn assemble(ctx: &mut RunContext, worlds: Worlds) -> PrunedPert {
        let mut out = PrunedPert::default();
        for (id, delta) in worlds {
            if delta == 0.0 {
                continue;
            }
            if out.is_none() || prune(ctx, out.id, id) == id {
                out = PrunedPert::some(id, delta);
            }
        }
        out
    }
}
