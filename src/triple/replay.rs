//! A discrete draw of a stochastic triple, written once over three verbs of the backends that
//! replay worlds (pruned, keep-K, all-worlds): which worlds the parameters carry into the draw,
//! what a parameter is in one of them, and how the draw's worlds become its output's payload.
//!
//! Every world a parameter carries is redrawn with the family's coupled redraw (the same
//! uniform, that world's parameters); the draw's own dependence on θ opens new worlds, one per
//! jump of the family's coupling. A backend only says how many worlds it keeps.

use smallvec::SmallVec;

use super::backend::Backend;
use crate::context::RunContext;
use crate::error::Result;
use crate::sample::{jumps_inward, Draw, Family};

/// A draw's worlds under construction, `(world id, Δ)` with Δ = its outcome − the primal's:
/// first the replayed worlds, then the new jumps (whose ids come after every older world's).
pub(super) type Worlds = SmallVec<[(u32, f64); 16]>;

/// The verbs a backend gives so the draw below can serve it.
pub(super) trait Replay: Backend {
    /// The worlds the draw is replayed in, from the parameters' payloads `perts` (increasing
    /// ids): the live worlds they carry, coupled as the backend couples (the pruned backend
    /// prunes them to one).
    fn replayed(ctx: &mut RunContext, perts: &[Self::Pert]) -> SmallVec<[u32; 8]>;

    /// Δ of world `id` in payload `p` (0 where `p` does not carry it).
    fn delta_in(ctx: &RunContext, p: &Self::Pert, id: u32) -> f64;

    /// [`Replay::delta_in`] of each of `ids` (increasing) into `out`, with one read of the
    /// payload where the backend can.
    fn deltas_in(ctx: &RunContext, p: &Self::Pert, ids: &[u32], out: &mut [f64]) {
        for (o, &id) in out.iter_mut().zip(ids) {
            *o = Self::delta_in(ctx, p, id);
        }
    }

    /// The output's payload from the draw's worlds (Δ = 0 where the draw's outcome there is
    /// the primal's: those carry nothing).
    fn assemble(ctx: &mut RunContext, worlds: Worlds) -> Self::Pert;
}

/// The draw verbs of a backend that replays worlds (`draw`, `REPLAYS_WORLDS`, `draw_given`), in
/// its `impl Backend`: this module's [`draw`] and [`draw_given`], the same for every such backend.
macro_rules! replay_draws {
    () => {
        fn draw<F: $crate::sample::Family>(
            ctx: &mut $crate::context::RunContext,
            family: &F,
            values: &[f64],
            tangents: &[f64],
            perts: &[Self::Pert],
            draw: $crate::sample::Draw,
        ) -> $crate::error::Result<Self::Pert> {
            $crate::triple::replay::draw::<Self, F>(ctx, family, values, tangents, perts, draw)
        }

        const REPLAYS_WORLDS: bool = true;

        fn draw_given<F: $crate::sample::Family>(
            ctx: &mut $crate::context::RunContext,
            family: &F,
            values: &[f64],
            tangents: &[f64],
            given: &[(u32, &[f64])],
            draw: $crate::sample::Draw,
        ) -> $crate::error::Result<Self::Pert> {
            $crate::triple::replay::draw_given::<Self, F>(
                ctx, family, values, tangents, given, draw,
            )
        }
    };
}
pub(super) use replay_draws;

/// [`Backend::draw`] for a backend that replays worlds: see the module docs.
pub(super) fn draw<B: Replay, F: Family>(
    ctx: &mut RunContext,
    family: &F,
    values: &[f64],
    tangents: &[f64],
    perts: &[B::Pert],
    draw: Draw,
) -> Result<B::Pert> {
    let mut worlds = Worlds::new();
    let replayed = B::replayed(ctx, perts);
    if !replayed.is_empty() {
        // With many worlds (more than 4, in a backend that keeps many), each parameter's Δ in
        // every replayed world first, parameter-major (one read of each payload); with a few
        // (always, in the pruned backend), read as needed: the table costs more there.
        let nw = replayed.len();
        let mut deltas: Vec<f64> = Vec::new();
        let table = B::MANY_WORLDS && nw > 4;
        if table {
            deltas.resize(values.len() * nw, 0.0);
            for (p, row) in perts.iter().zip(deltas.chunks_exact_mut(nw)) {
                B::deltas_in(ctx, p, &replayed, row);
            }
        }
        let mut alt: SmallVec<[f64; 8]> = SmallVec::from_slice(values);
        for (j, &id) in replayed.iter().enumerate() {
            for (i, ((a, &v), p)) in alt.iter_mut().zip(values).zip(perts).enumerate() {
                let d = if table {
                    deltas[i * nw + j]
                } else {
                    B::delta_in(ctx, p, id)
                };
                *a = if d != 0.0 { v + d } else { v };
            }
            worlds.push(redraw(ctx, family, values, &alt, id, draw)?);
        }
    }
    finish::<B, F>(ctx, family, values, tangents, draw, worlds)
}

/// [`Backend::draw_given`] for a backend that replays worlds: each given world redrawn from its
/// given parameters, then the new jumps, as [`draw`] does.
pub(super) fn draw_given<B: Replay, F: Family>(
    ctx: &mut RunContext,
    family: &F,
    values: &[f64],
    tangents: &[f64],
    given: &[(u32, &[f64])],
    draw: Draw,
) -> Result<B::Pert> {
    let mut worlds = Worlds::new();
    for &(id, alt) in given {
        worlds.push(redraw(ctx, family, values, alt, id, draw)?);
    }
    finish::<B, F>(ctx, family, values, tangents, draw, worlds)
}

/// World `id`'s outcome from its parameters `alt` (the same uniform, or the family's coupled
/// redraw), as (id, Δ).
fn redraw<F: Family>(
    ctx: &mut RunContext,
    family: &F,
    values: &[f64],
    alt: &[f64],
    id: u32,
    draw: Draw,
) -> Result<(u32, f64)> {
    family.validate(alt)?;
    let k_alt = family.redraw(values, alt, draw, &mut ctx.redraw_stream(id));
    Ok((id, k_alt - draw.outcome))
}

/// The new worlds from the draw's own dependence on θ, after the replayed `worlds`, and the
/// payload of them all.
fn finish<B: Replay, F: Family>(
    ctx: &mut RunContext,
    family: &F,
    values: &[f64],
    tangents: &[f64],
    draw: Draw,
    mut worlds: Worlds,
) -> Result<B::Pert> {
    let k = draw.outcome;
    if tangents.iter().any(|&t| t != 0.0) {
        for jump in jumps_inward(family, values, tangents, k, &mut ctx.rng.coupling) {
            if jump.weight != 0.0 && jump.target != k {
                let id = ctx.new_pert(jump.weight);
                worlds.push((id, jump.target - k));
            }
        }
    }
    Ok(B::assemble(ctx, worlds))
}
