//! The clustering state: a fixed set of slots, one per input particle, whose contents may differ
//! between worlds (which objects are active, which became jets, what they carry), plus what the
//! candidate search needs in `f64`.
//!
//! Every slot holds a four-momentum and two flags as numbers of the scalar type, so an
//! alternative world can have other objects in the same layout: `active` is 1 while the object
//! takes part, `jet` is 1 once it was moved to the jet list. A merge of slots a < b puts the sum
//! in a and clears b (zero momentum, flags 0): stale values would keep worlds alive for nothing.

use smallvec::SmallVec;

use crate::error::Result;
use crate::jets::cluster::Algorithm;
use crate::jets::momentum::FourMomentum;
use crate::propagate::{add_world_values, propagate_plain, world_table, PlainFn};
use crate::scalar::{Scalar, World};

use super::candidates::Candidate;
use super::jets::{leading_pair, leading_pair_mass, QantiKtJets};
use super::search::{Search, View, Views};

/// The kinematics an inactive slot carries: finite, neutral values (an inactive candidate gets
/// weight 0 whatever its distance, and no world may hold an infinity: Δ = ∞ − ∞ is NaN).
const CLEARED: [f64; 3] = [0.0, 0.0, 1.0];

/// Rapidity, azimuth and anti-kT scale of a slot, evaluated in each world on that world's
/// momentum and flag (so each world takes its own branch of FastJet's conventions).
pub(super) fn slot_kinematics<S: Scalar>(p: FourMomentum<S>, active: S) -> Result<[S; 3]> {
    propagate_plain(&Kinematics, &(p, active))
}

/// [`slot_kinematics`] in one world, written once over the number type.
struct Kinematics;

impl<S: Scalar> PlainFn<(FourMomentum<S>, S)> for Kinematics {
    type Output<T: Scalar> = [T; 3];

    fn call<T: Scalar>(&self, (p, active): (FourMomentum<T>, T)) -> Result<[T; 3]> {
        Ok(if active.value() == 1.0 {
            [p.rapidity(), p.phi(), Algorithm::AntiKt.scale(p.pt2())]
        } else {
            CLEARED.map(T::from)
        })
    }
}

/// Per touched slot: four-momentum, `active` and `jet` flags.
type Slots<S> = Vec<(FourMomentum<S>, S, S)>;

/// One step in one world, written once over the number type: the candidate `k` (an index into
/// `cands`) merges its two slots into the lower one or moves its slot to the jet list; `touched`
/// are the slots of the input, in order.
struct Step<'a> {
    cands: &'a [Candidate],
    touched: &'a [usize],
}

impl<S: Scalar> PlainFn<(Slots<S>, S)> for Step<'_> {
    type Output<T: Scalar> = Slots<T>;

    fn call<T: Scalar>(&self, (mut sub, k): (Slots<T>, T)) -> Result<Slots<T>> {
        let c = self.cands[k.value() as usize];
        let local = |slot: u32| {
            self.touched
                .iter()
                .position(|&t| t == slot as usize)
                .expect("touched holds every world's slots")
        };
        let a = local(c.a);
        if c.is_beam() {
            sub[a].1 = T::zero();
            sub[a].2 = T::one();
        } else {
            let b = local(c.b);
            sub[a].0 = sub[a].0 + sub[b].0;
            sub[b] = (FourMomentum::default(), T::zero(), T::zero());
        }
        Ok(sub)
    }
}

/// The state of one clustering run.
#[derive(Clone, Debug)]
pub(super) struct State<S> {
    /// Per-slot four-momentum.
    pub p: Vec<FourMomentum<S>>,
    /// Per-slot flag: 1 while the object takes part.
    pub active: Vec<S>,
    /// Per-slot flag: 1 once the object became a jet.
    pub jet: Vec<S>,
    /// Per-slot rapidity, azimuth and anti-kT scale, cached (world-safe, see [`slot_kinematics`]).
    pub kin: Vec<[S; 3]>,
    /// Per slot: whether its kinematics and flag carry no derivative information (then distances
    /// are computed in `f64`, the same numbers at a fraction of the cost).
    pub plain: Vec<bool>,
    /// Per slot: whether its kinematics and flag carry no tangent, whatever worlds they carry
    /// (then a world-free distance is computed in `f64` from the primal values).
    pub flat: Vec<bool>,
    /// The candidate search, fed each slot's view in every world.
    pub search: Search,
    /// Input particles of each slot's object in the primal history.
    pub constituents: Vec<Vec<usize>>,
    /// Worlds ended before the clustering did, with their mH (see `QantiKt::finish_worlds`):
    /// [`QantiKtJets::mh`] gives them these values instead of those of the slots.
    pub ended: SmallVec<[(World, f64); 4]>,
    /// Scratch for [`State::couple`].
    scratch: Vec<S>,
    /// Per slot: whether its kinematics without worlds are [`Kinematics`] with the number type
    /// on its momentum and flag without worlds (set by [`State::apply`]; not for the particles'
    /// kinematics, computed in `f64`), so that a step which leaves them in the primal may keep
    /// them.
    typed: Vec<bool>,
}

impl<S: Scalar> State<S> {
    /// All particles active, no jets.
    pub fn new(particles: &[FourMomentum<f64>]) -> Result<Self> {
        let n = particles.len();
        let p: Vec<FourMomentum<S>> = particles
            .iter()
            .map(|&p| FourMomentum::from_f64(p))
            .collect();
        let active = vec![S::one(); n];
        // The particles are constants: their kinematics in `f64` are every number type's (the
        // same operations on the same values, no tangent, no world), at a fraction of the cost.
        let kin = particles
            .iter()
            .map(|&q| Ok(slot_kinematics(q, 1.0)?.map(S::from)))
            .collect::<Result<Vec<_>>>()?;
        let plain: Vec<bool> = kin.iter().map(|k| is_plain(k, S::one())).collect();
        let flat = kin.iter().map(|k| is_flat(k, S::one())).collect();
        let mut st = State {
            p,
            active,
            jet: vec![S::zero(); n],
            kin,
            plain,
            flat,
            search: Search::new(n),
            constituents: (0..n).map(|i| vec![i]).collect(),
            ended: SmallVec::new(),
            scratch: Vec::new(),
            typed: vec![false; n],
        };
        for i in 0..n {
            st.search
                .set(i, views_of(st.p[i], &st.kin[i], st.active[i])?);
        }
        Ok(st)
    }

    /// The primal history's state with `f64` numbers (for a number type that carries no
    /// worlds: its values are the primal's), paused: without its constituents and its search's
    /// filed pairs (see [`Search::snapshot`]), which [`State::go_on`] makes again.
    pub fn paused(&self) -> State<f64> {
        let kin: Vec<[f64; 3]> = self
            .kin
            .iter()
            .map(|k| k.map(|x| x.primal_value()))
            .collect();
        let active: Vec<f64> = self.active.iter().map(|a| a.primal_value()).collect();
        State {
            p: self.p.iter().map(|q| q.primal()).collect(),
            jet: self.jet.iter().map(|j| j.primal_value()).collect(),
            plain: kin
                .iter()
                .zip(&active)
                .map(|(k, &a)| is_plain(k, a))
                .collect(),
            flat: kin
                .iter()
                .zip(&active)
                .map(|(k, &a)| is_flat(k, a))
                .collect(),
            kin,
            active,
            search: self.search.snapshot(),
            constituents: Vec::new(),
            ended: SmallVec::new(),
            scratch: Vec::new(),
            typed: vec![false; self.len()],
        }
    }

    /// Makes a paused state ready to go on after the steps of `history`: its constituents
    /// (replayed from the history, as [`State::apply`] builds them) and its search's room for
    /// filed pairs.
    pub fn go_on(&mut self, history: &[Candidate]) {
        self.constituents = (0..self.len()).map(|i| vec![i]).collect();
        for c in history.iter().filter(|c| !c.is_beam()) {
            let moved = std::mem::take(&mut self.constituents[c.b as usize]);
            self.constituents[c.a as usize].extend(moved);
        }
        self.search.go_on();
    }

    /// The clustering so far as jets (`history` its steps).
    pub fn into_jets(self, history: Vec<Candidate>) -> QantiKtJets<S> {
        QantiKtJets {
            momenta: self.p,
            is_jet: self.jet,
            constituents: self.constituents,
            history,
            ended: self.ended,
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.p.len()
    }

    /// The invariant mass of the two objects of highest pT among those active or already jets,
    /// in the primal history (0 with fewer than two): what the history so far predicts mH to be.
    pub fn leading_pair_mass(&self) -> f64 {
        // Primal values read without `.value()`: a strict run would flag reads of perturbed ones.
        let primal = |i: usize| {
            let q = self.p[i];
            FourMomentum::new(
                q.px.primal_value(),
                q.py.primal_value(),
                q.pz.primal_value(),
                q.e.primal_value(),
            )
        };
        let pt2 = (0..self.len())
            .filter(|&i| self.active[i].primal_value() == 1.0 || self.jet[i].primal_value() == 1.0)
            .map(|i| (i, primal(i).pt2()));
        match leading_pair(pt2) {
            Some((a, b)) => (primal(a) + primal(b)).mass(),
            None => 0.0,
        }
    }

    /// Whether the primal history's mH can no longer change: two objects are jets already and
    /// no jet the objects still active could make would have the pT of the second of them
    /// (times 1 − 10⁻⁹, far beyond rounding): first their summed pT, then, where that is not
    /// enough, [`largest_subset_pt`]'s bound. So no later jet can be one of the two leading
    /// ones, and the two leading jets, and so mH, are those of the finished clustering, bit for
    /// bit.
    pub fn mh_known(&self) -> bool {
        self.mh_known_in(|x| x.primal_value())
    }

    /// Whether the step that just took candidate `c` in the primal history leaves mH known
    /// ([`State::mh_known_everywhere`]): only a step that makes a jet can (a merge leaves the
    /// jets as they are, and the next jet's step sees what it did to the active objects' pT).
    pub fn mh_known_after(&self, c: Candidate) -> bool {
        c.is_beam() && self.mh_known_everywhere()
    }

    /// Whether mH can no longer change in the primal history nor in any alternative world
    /// the state carries ([`State::mh_known`] in each: their values where they differ). A later
    /// draw's new world branches off a history whose mH is known, so it cannot change mH
    /// either.
    fn mh_known_everywhere(&self) -> bool {
        self.mh_known()
            && self
                .carried_worlds()
                .iter()
                .all(|&w| self.mh_known_in(|x| x.value_in(w)))
    }

    /// Slot `i`'s kinematics (y, φ, s) at their primal values, read in place (not a copy of
    /// its three numbers: the candidates' loops read them per candidate).
    #[inline]
    pub fn primal_kin(&self, i: usize) -> [f64; 3] {
        let k = &self.kin[i];
        [
            k[0].primal_value(),
            k[1].primal_value(),
            k[2].primal_value(),
        ]
    }

    /// The live worlds some slot carries, each once, in the order met: every slot's momentum
    /// (all four components: mH sees them all) and flags are read (a world may differ from the
    /// primal only in its jets, which no view shows).
    pub fn carried_worlds(&self) -> SmallVec<[World; 8]> {
        let mut worlds: SmallVec<[World; 8]> = SmallVec::new();
        if !S::CARRIES_WORLDS {
            return worlds;
        }
        for i in 0..self.len() {
            let q = self.p[i];
            for x in [q.px, q.py, q.pz, q.e, self.jet[i], self.active[i]] {
                for w in x.worlds() {
                    if !worlds.contains(&w) {
                        worlds.push(w);
                    }
                }
            }
        }
        worlds
    }

    /// Whether world `w`'s mH can no longer change ([`State::mh_known`] with its values; `w`
    /// live).
    pub fn mh_known_in_world(&self, w: World) -> bool {
        self.mh_known_in(|x| x.value_in_live(w))
    }

    /// World `w`'s state in `f64` (`w` live), its search the primal's with the slots that
    /// differ in `w` set to `w`'s views: what the world's history has become, to go on by
    /// itself ([`State::paused`] is the primal's). Its constituents are not the world's (only
    /// mH is read off it).
    pub fn in_world(&self, w: World) -> State<f64> {
        let n = self.len();
        let val = |x: S| x.value_in_live(w);
        let mut st = State {
            p: self.p.iter().map(|q| q.in_live_world(w)).collect(),
            active: self.active.iter().map(|&a| val(a)).collect(),
            jet: self.jet.iter().map(|&j| val(j)).collect(),
            kin: self
                .kin
                .iter()
                .map(|k| k.map(|x| x.primal_value()))
                .collect(),
            plain: vec![true; n],
            flat: vec![true; n],
            search: self.search.snapshot(),
            constituents: (0..n).map(|i| vec![i]).collect(),
            ended: SmallVec::new(),
            scratch: Vec::new(),
            typed: vec![false; n],
        };
        st.search.go_on();
        // A slot that is not varying looks the same in every world (its kinematics and flag);
        // a varying one has its view of `w` (computed from `w`'s values), or the primal's.
        for &v in self.search.varying() {
            let v = v as usize;
            let x = self.search.views(v)[self.varying_view_index(v, w)];
            st.kin[v] = [x.y, x.phi, x.s];
            let mut views = Views::new();
            views.push(View { world: None, ..x });
            st.search.set(v, views);
        }
        st
    }

    /// The invariant mass of world `w`'s two leading jets (`w` live), as [`QantiKtJets::mh`]
    /// computes it there (in `f64` from its values).
    pub fn mh_in(&self, w: World) -> f64 {
        let p: Vec<FourMomentum<f64>> = self.p.iter().map(|q| q.in_live_world(w)).collect();
        let jet: Vec<f64> = self.jet.iter().map(|j| j.value_in_live(w)).collect();
        leading_pair_mass(&p, &jet)
    }

    /// [`State::mh_known`] with the numbers' values as `value` reads them.
    fn mh_known_in(&self, value: impl Fn(S) -> f64) -> bool {
        let pt = |i: usize| {
            let q = self.p[i];
            let (x, y) = (value(q.px), value(q.py));
            (x * x + y * y).sqrt()
        };
        let (mut top, mut rest, mut jets) = ([0.0f64; 2], 0.0, 0);
        for i in 0..self.len() {
            if value(self.jet[i]) == 1.0 {
                jets += 1;
                let x = pt(i);
                if x > top[0] {
                    top = [x, top[0]];
                } else if x > top[1] {
                    top[1] = x;
                }
            } else if value(self.active[i]) == 1.0 {
                rest += pt(i);
            }
        }
        let second = top[1] * (1.0 - 1e-9);
        if jets < 2 || rest >= std::f64::consts::PI * second {
            // The tighter bound is at least rest/π: it cannot help.
            return false;
        }
        if rest < second {
            return true;
        }
        let active: SmallVec<[(f64, f64); 64]> = (0..self.len())
            .filter(|&i| value(self.jet[i]) != 1.0 && value(self.active[i]) == 1.0)
            .map(|i| (value(self.p[i].px), value(self.p[i].py)))
            .collect();
        largest_subset_pt(&active, second) < second
    }

    /// Applies the candidate `k` (an index into `cands`, a discrete number that may differ
    /// between worlds): in each world, that world's candidate merges its two slots into the
    /// lower one or moves its slot to the jet list. Only the slots some world's candidate
    /// touches are replayed.
    pub fn apply(&mut self, cands: &[Candidate], k: S) -> Result<()> {
        let mut touched: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
        for v in k.world_values() {
            let c = cands[v as usize];
            touched.extend([c.a as usize, c.b as usize]);
        }
        touched.sort_unstable();
        touched.dedup();
        let sub: Slots<S> = touched
            .iter()
            .map(|&i| (self.p[i], self.active[i], self.jet[i]))
            .collect();
        let step = Step {
            cands,
            touched: &touched,
        };
        let out = propagate_plain(&step, &(sub, k))?;
        // The primal's candidate changes its slots only: the others' momentum and flag are
        // theirs without worlds (`Step` returns them as they were).
        let c = cands[k.primal_value() as usize];
        for (&i, (p, active, jet)) in touched.iter().zip(out) {
            let kept = i != c.a as usize && (c.is_beam() || i != c.b as usize);
            let (kin, views) = self.kinematics_after(i, p, active, kept)?;
            self.p[i] = p;
            self.active[i] = active;
            self.jet[i] = jet;
            self.kin[i] = kin;
            self.plain[i] = is_plain(&kin, active);
            self.flat[i] = is_flat(&kin, active);
            self.search.set(i, views);
            self.typed[i] = S::CARRIES_WORLDS;
        }
        // The primal history's constituents.
        if !c.is_beam() {
            let moved = std::mem::take(&mut self.constituents[c.b as usize]);
            self.constituents[c.a as usize].extend(moved);
        }
        self.refresh_varying(&touched)
    }

    /// Slot `i`'s kinematics and views once its momentum and flag became `p` and `active`:
    /// what [`slot_kinematics`] and [`views_of`] give (the same coupling of the worlds, the same
    /// evaluation without worlds and in `f64` in each world, attached alike), except that in a
    /// world where the slot's momentum and flag are those it had, bit for bit, its kinematics
    /// there come from its view of that world (computed from those same values) instead of a
    /// second evaluation. A step changes a slot in the few worlds whose candidate touches it,
    /// while it is replayed in every world that touches any slot of the step: keep-16 spent a
    /// fifth of its time re-evaluating unchanged worlds' kinematics (`propagate_plain` is the
    /// reference: debug builds check the result against it).
    fn kinematics_after(
        &self,
        i: usize,
        p: FourMomentum<S>,
        active: S,
        kept: bool,
    ) -> Result<([S; 3], Views)> {
        let (kin, views) = self.kinematics_in_worlds(i, p, active, kept)?;
        #[cfg(debug_assertions)]
        {
            let reference = slot_kinematics(p, active)?;
            for (x, y) in kin.iter().zip(&reference) {
                let (wx, wy) = (x.worlds(), y.worlds());
                debug_assert_eq!(x.primal_value().to_bits(), y.primal_value().to_bits());
                debug_assert_eq!(wx, wy);
                for w in wx {
                    debug_assert_eq!(x.value_in_live(w).to_bits(), y.value_in_live(w).to_bits());
                }
            }
            debug_assert_eq!(views, views_of(p, &reference, active)?);
        }
        Ok((kin, views))
    }

    /// [`State::kinematics_after`] without the debug builds' check.
    fn kinematics_in_worlds(
        &self,
        i: usize,
        p: FourMomentum<S>,
        active: S,
        kept: bool,
    ) -> Result<([S; 3], Views)> {
        if !S::CARRIES_WORLDS {
            let kin = slot_kinematics(p, active)?;
            return Ok((kin, views_of(p, &kin, active)?));
        }
        let xs = [p.px, p.py, p.pz, p.e, active];
        let worlds = S::couple_worlds(&xs);
        let strip = |x: S| x.without_worlds();
        // Without worlds, the same inputs as for the slot's kinematics: the same outputs.
        let mut kin = if kept && self.typed[i] {
            self.kin[i].map(strip)
        } else {
            <Kinematics as PlainFn<(FourMomentum<S>, S)>>::call(
                &Kinematics,
                (
                    FourMomentum::new(strip(p.px), strip(p.py), strip(p.pz), strip(p.e)),
                    strip(active),
                ),
            )?
        };
        if worlds.is_empty() {
            // Nor does the flag carry any: the primal's view only.
            return Ok((kin, views_in(&kin, active, &[], |_| unreachable!())?));
        }
        // The slot's momentum and flag in each world, now and before the step (a world the old
        // numbers do not carry sees their primal).
        let q = self.p[i];
        let old = [q.px, q.py, q.pz, q.e, self.active[i]];
        let (now, was) = (
            values_by_world(&xs, &worlds),
            values_by_world(&old, &worlds),
        );
        let before = self.search.views(i);
        let primal_before = self.primal_kin(i);
        let mut in_world: smallvec::SmallVec<[[f64; 3]; 16]> = smallvec::SmallVec::new();
        for (j, &w) in worlds.iter().enumerate() {
            let (x, y) = (now[j], was[j]);
            in_world.push(if x.map(f64::to_bits) == y.map(f64::to_bits) {
                before
                    .iter()
                    .find(|v| v.world == Some(w))
                    .map_or(primal_before, |v| [v.y, v.phi, v.s])
            } else {
                let q = FourMomentum::new(x[0], x[1], x[2], x[3]);
                <Kinematics as PlainFn<(FourMomentum<S>, S)>>::call(&Kinematics, (q, x[4]))?
            });
        }
        let primal_kin = kin.map(|x| x.primal_value());
        for (c, x) in kin.iter_mut().enumerate() {
            add_world_values(x, &worlds, |j| in_world[j][c]);
        }
        // The worlds the views show, as `views_of` finds them (those the kinematics or the flag
        // carry), without asking each number: the kinematics carry the worlds where they differ
        // from the primal (`add_world_values`), the flag some of `worlds` (it was coupled with
        // the momentum).
        let mut shown: smallvec::SmallVec<[World; 8]> = worlds
            .iter()
            .zip(&in_world)
            .filter(|(_, k)| (0..3).any(|c| k[c] - primal_kin[c] != 0.0))
            .map(|(&w, _)| w)
            .collect();
        for w in active.worlds() {
            if !shown.contains(&w) {
                shown.push(w);
            }
        }
        shown.sort_unstable();
        let views = views_in(&kin, active, &shown, |w| {
            let j = worlds.iter().position(|&x| x == w).ok_or_else(|| {
                crate::Error::config(format!(
                    "Qanti-kT: slot {i} carries world {w:?}, which its kinematics were not \
                     computed in"
                ))
            })?;
            Ok(in_world[j])
        })?;
        Ok((kin, views))
    }

    /// Prunes the worlds the state carries to those one number can carry together (for the
    /// pruned triple, one per direction), at the start of every step: the step's arithmetic then
    /// never meets two worlds of one direction, and pruning decisions do not depend on which
    /// candidates the search kept (so sparse and dense runs decide alike).
    pub fn couple(&mut self) {
        if !S::CARRIES_WORLDS || self.search.varying().is_empty() {
            return;
        }
        let mut xs = std::mem::take(&mut self.scratch);
        xs.clear();
        for &v in self.search.varying() {
            let v = v as usize;
            let p = self.p[v];
            xs.extend([p.px, p.py, p.pz, p.e, self.active[v], self.jet[v]]);
            xs.extend(self.kin[v]);
        }
        S::couple_worlds(&xs);
        self.scratch = xs;
    }

    /// The straight-through relaxed step of [`Sampling::GumbelSoftmax`](super::Sampling): the
    /// state becomes state + Σ_j z_j·(apply_j(state) − state), with z the relaxed one-hot of the
    /// candidates (value 1 at `k`, so the values are those of applying `k`; tangents from every
    /// candidate). For numbers without alternative worlds only.
    pub fn apply_relaxed(&mut self, cands: &[Candidate], z: &[S], k: usize) -> Result<()> {
        let (p0, active0, jet0) = (self.p.clone(), self.active.clone(), self.jet.clone());
        let scaled =
            |q: FourMomentum<S>, x: S| FourMomentum::new(q.px * x, q.py * x, q.pz * x, q.e * x);
        let mut touched = Vec::new();
        for (j, (c, &zj)) in cands.iter().zip(z).enumerate() {
            if j != k && zj.is_constant() {
                continue; // value 0 and no tangent: no change
            }
            let (a, b) = (c.a as usize, c.b as usize);
            if c.is_beam() {
                self.active[a] -= zj * active0[a];
                self.jet[a] += zj * (-jet0[a] + 1.0);
            } else {
                self.p[a] += scaled(p0[b], zj);
                self.p[b] -= scaled(p0[b], zj);
                self.active[b] -= zj * active0[b];
            }
            touched.extend([a, b]);
        }
        touched.sort_unstable();
        touched.dedup();
        // Later steps see the primal kinematics only: the relaxation's tangents reach the jets'
        // momenta (and so the observable) but not later distances. Letting them through later
        // weights too compounds them step after step — single samples of 1e8–1e11 on real
        // events — so each step's choice is relaxed on its own, straight through to the output.
        let detach = |x: S| S::from(x.value());
        for i in touched {
            let q = self.p[i];
            let (q, a) = (
                FourMomentum::new(detach(q.px), detach(q.py), detach(q.pz), detach(q.e)),
                detach(self.active[i]),
            );
            self.kin[i] = slot_kinematics(q, a)?;
            self.typed[i] = false;
            self.plain[i] = is_plain(&self.kin[i], a);
            self.flat[i] = is_flat(&self.kin[i], a);
            self.search.set(i, views_of(q, &self.kin[i], a)?);
        }
        let c = cands[k];
        if !c.is_beam() {
            let moved = std::mem::take(&mut self.constituents[c.b as usize]);
            self.constituents[c.a as usize].extend(moved);
        }
        Ok(())
    }

    /// The worlds the varying slots' views were read in (dead ones among them until
    /// [`State::refresh_varying`] re-reads their slots), each once.
    fn view_worlds(&self) -> smallvec::SmallVec<[World; 8]> {
        let mut worlds: smallvec::SmallVec<[World; 8]> = smallvec::SmallVec::new();
        for &v in self.search.varying() {
            for w in self.search.views(v as usize).iter().filter_map(|x| x.world) {
                if !worlds.contains(&w) {
                    worlds.push(w);
                }
            }
        }
        worlds
    }

    /// Per world in which some varying slot has a view of its own, how many slots do (dead
    /// worlds among them until [`State::forget_dead_worlds`] or a step reads their slots again).
    pub fn own_views(&self) -> SmallVec<[(World, usize); 8]> {
        let mut counts: SmallVec<[(World, usize); 8]> = SmallVec::new();
        for &v in self.search.varying() {
            for w in self.search.views(v as usize).iter().filter_map(|x| x.world) {
                match counts.iter_mut().find(|e| e.0 == w) {
                    Some(e) => e.1 += 1,
                    None => counts.push((w, 1)),
                }
            }
        }
        counts
    }

    /// Gives world `w` the slots of `apart` (its clustering, forked: see `fork`), as its
    /// values in each slot's momentum and flags, for the jets of a finished clustering (the
    /// slots' kinematics and views are left as they are).
    pub fn rejoin(&mut self, w: World, apart: &State<f64>) {
        for (i, (q, (&a, &j))) in apart
            .p
            .iter()
            .zip(apart.active.iter().zip(&apart.jet))
            .enumerate()
        {
            let p = self.p[i];
            self.p[i] = FourMomentum::new(
                p.px.with_world(w, q.px),
                p.py.with_world(w, q.py),
                p.pz.with_world(w, q.pz),
                p.e.with_world(w, q.e),
            );
            self.active[i] = self.active[i].with_world(w, a);
            self.jet[i] = self.jet[i].with_world(w, j);
        }
    }

    /// Reads the slots that carried a world that died since they were set (pruned, or
    /// reissued to go on apart) again without it.
    pub fn forget_dead_worlds(&mut self) -> Result<()> {
        self.refresh_varying(&[])
    }

    /// The live worlds in which some slot differs from the primal, in order (none for numbers
    /// without worlds): after [`State::couple`], coupled as the number type requires. In every
    /// other live world the slots are the primal's.
    pub fn live_worlds(&self) -> smallvec::SmallVec<[World; 8]> {
        let mut worlds = self.view_worlds();
        let dead = S::dead_worlds(&worlds);
        worlds.retain(|w| !dead.contains(w));
        worlds.sort_unstable();
        worlds
    }

    /// Where world `w`'s view of the varying slot `i` is among its views (0, the primal's, where
    /// the world has none of its own).
    #[inline]
    pub fn varying_view_index(&self, i: usize, w: World) -> usize {
        let views = self.search.views(i);
        views.iter().position(|x| x.world == Some(w)).unwrap_or(0)
    }

    /// Re-reads the slots that differed between worlds and carry a world that pruning killed
    /// since they were set (a slot's views change only then or when it is set): worlds pruned
    /// away no longer count, and a slot equal in every live world becomes a plain member again.
    /// `touched` were just set.
    fn refresh_varying(&mut self, touched: &[usize]) -> Result<()> {
        if !S::CARRIES_WORLDS {
            return Ok(());
        }
        let worlds = self.view_worlds();
        let dead = S::dead_worlds(&worlds);
        if dead.is_empty() {
            return Ok(());
        }
        let stale: smallvec::SmallVec<[u32; 16]> = self
            .search
            .varying()
            .iter()
            .copied()
            .filter(|&v| {
                !touched.contains(&(v as usize))
                    && self
                        .search
                        .views(v as usize)
                        .iter()
                        .any(|x| x.world.is_some_and(|w| dead.contains(&w)))
            })
            .collect();
        for v in stale {
            let v = v as usize;
            self.search
                .set(v, views_of(self.p[v], &self.kin[v], self.active[v])?);
        }
        Ok(())
    }
}

/// The values of `xs` in each of `worlds` (live), world by world: read number by number for a
/// world or two (the pruned triple's one per direction), else with one read of each number's
/// payload for all worlds (`propagate`'s table).
fn values_by_world<S: Scalar>(xs: &[S; 5], worlds: &[World]) -> SmallVec<[[f64; 5]; 4]> {
    let nw = worlds.len();
    if nw <= 2 {
        return worlds
            .iter()
            .map(|&w| xs.map(|x| x.value_in_live(w)))
            .collect();
    }
    let by_number = world_table(xs, worlds);
    (0..nw)
        .map(|j| std::array::from_fn(|c| by_number[c * nw + j]))
        .collect()
}

/// Directions of [`largest_subset_pt`]'s bound (each stands for those within π/32 of it).
const BOUND_DIRECTIONS: usize = 32;

/// An upper bound on the pT of any sum of some of the transverse vectors `v`, i.e. on any jet
/// made of them: max over directions u of Σ max(0, v·u) (a subset's sum projected on its own
/// direction, which only grows when the vectors with v·u < 0 leave and those with v·u > 0
/// join). Bounded on `BOUND_DIRECTIONS` directions u_k, each standing for the directions within
/// δ = π/32 of it: a vector at angle x from u_k is at least max(0, x − δ) from such a u, so it
/// adds at most |v|·cos(max(0, x − δ)) there, and nothing where x − δ ≥ π/2. Up to π times
/// tighter than Σ|v| where the vectors spread in φ; plus 10⁻⁹ of it for rounding. Once one
/// direction's bound reaches `limit` it is returned (the caller only asks whether the bound
/// is below `limit`): the directions are taken from the one nearest the vectors' sum, where
/// the bound is largest.
fn largest_subset_pt(v: &[(f64, f64)], limit: f64) -> f64 {
    let delta = std::f64::consts::PI / BOUND_DIRECTIONS as f64;
    let (cd, sd) = (delta.cos(), delta.sin());
    // Side by side, and each vector's share below computed without branches (the loop then
    // vectorises).
    let (xs, ys): (SmallVec<[f64; 64]>, SmallVec<[f64; 64]>) = v.iter().copied().unzip();
    let norms: SmallVec<[f64; 64]> = v.iter().map(|&(x, y)| (x * x + y * y).sqrt()).collect();
    let (sx, sy) = (xs.iter().sum::<f64>(), ys.iter().sum::<f64>());
    let first = (sy.atan2(sx) / (2.0 * delta))
        .round()
        .rem_euclid(BOUND_DIRECTIONS as f64) as usize;
    let mut best: f64 = 0.0;
    for j in 0..BOUND_DIRECTIONS {
        let angle = ((first + j) % BOUND_DIRECTIONS) as f64 * 2.0 * delta;
        let (ux, uy) = (angle.cos(), angle.sin());
        let mut g = 0.0;
        for ((&x, &y), &norm) in xs.iter().zip(&ys).zip(&norms) {
            // |v| cos x and |v| sin x, x the angle between v and u_k.
            let (along, across) = (x * ux + y * uy, (x * uy - y * ux).abs());
            let lobe = along * cd + across * sd;
            let share = if along >= norm * cd { norm } else { lobe };
            g += if along > -norm * sd { share } else { 0.0 };
        }
        best = best.max(g * (1.0 + 1e-9));
        if best >= limit {
            break;
        }
    }
    best
}

/// Whether a slot's kinematics and flag are constants.
fn is_plain<S: Scalar>(kin: &[S; 3], active: S) -> bool {
    kin.iter().all(|x| x.is_constant()) && active.is_constant()
}

/// Whether a slot's kinematics and flag carry no tangent, ignoring the worlds they carry.
fn is_flat<S: Scalar>(kin: &[S; 3], active: S) -> bool {
    kin.iter().all(|x| x.without_worlds().is_constant()) && active.without_worlds().is_constant()
}

/// A slot in each world: the primal view first, then one per world its kinematics or flag carry,
/// each evaluated on that world's momentum and flag ([`Kinematics`] in `f64`), not read from the
/// kinematics' own values there: a number keeps another world's value as a difference to its
/// primal, which loses the world's value where the primal is far larger — the scale s = 1/pt²
/// spans many orders of magnitude between objects (a soft particle in the primal, a hard jet in
/// another world), up to FastJet's 10³⁰⁰ for an object with pt = 0, where the difference left
/// nothing of the other world's scale. Momenta and flags stay within a few orders of magnitude.
fn views_of<S: Scalar>(p: FourMomentum<S>, kin: &[S; 3], active: S) -> Result<Views> {
    views_with(kin, active, |w| {
        <Kinematics as PlainFn<(FourMomentum<S>, S)>>::call(
            &Kinematics,
            (p.in_live_world(w), active.value_in_live(w)),
        )
    })
}

/// [`views_of`] with each world's rapidity, azimuth and scale from `in_world`.
fn views_with<S: Scalar>(
    kin: &[S; 3],
    active: S,
    in_world: impl Fn(World) -> Result<[f64; 3]>,
) -> Result<Views> {
    let mut worlds: smallvec::SmallVec<[World; 8]> = smallvec::SmallVec::new();
    if S::CARRIES_WORLDS {
        for x in kin.iter().chain(std::iter::once(&active)) {
            worlds.extend(x.worlds());
        }
        worlds.sort_unstable();
        worlds.dedup();
    }
    views_in(kin, active, &worlds, in_world)
}

/// [`views_with`] for the worlds `worlds` (those the kinematics and flag carry, in order).
fn views_in<S: Scalar>(
    kin: &[S; 3],
    active: S,
    worlds: &[World],
    in_world: impl Fn(World) -> Result<[f64; 3]>,
) -> Result<Views> {
    let mut views = Views::new();
    views.push(View {
        world: None,
        y: kin[0].primal_value(),
        phi: kin[1].primal_value(),
        s: kin[2].primal_value(),
        on: active.primal_value() == 1.0,
    });
    for &w in worlds {
        let [y, phi, s] = in_world(w)?;
        views.push(View {
            world: Some(w),
            y,
            phi,
            s,
            on: active.value_in_live(w) == 1.0,
        });
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound is at least the pT of every subset's sum (all 2¹⁰ subsets of random sets of
    /// ten), and tighter than the summed pT where the vectors spread in φ.
    #[test]
    fn largest_subset_pt_bounds_every_subset() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut uniform = || {
            state = crate::context::splitmix64(state);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..200 {
            let v: Vec<(f64, f64)> = (0..10)
                .map(|_| {
                    let (pt, phi) = (0.1 + 50.0 * uniform(), std::f64::consts::TAU * uniform());
                    (pt * phi.cos(), pt * phi.sin())
                })
                .collect();
            let bound = largest_subset_pt(&v, f64::INFINITY);
            // Asked against a limit, it stops once it knows the bound reaches it.
            assert!(largest_subset_pt(&v, 0.5 * bound) >= 0.5 * bound);
            assert_eq!(largest_subset_pt(&v, 2.0 * bound), bound);
            let mut most: f64 = 0.0;
            for mask in 1u32..1 << v.len() {
                let (x, y) = v
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask >> i & 1 == 1)
                    .fold((0.0, 0.0), |(x, y), (_, &(a, b))| (x + a, y + b));
                most = most.max((x * x + y * y).sqrt());
            }
            let sum: f64 = v.iter().map(|&(x, y)| (x * x + y * y).sqrt()).sum();
            assert!(bound >= most, "bound {bound} below a subset's pT {most}");
            assert!(bound <= 1.25 * most, "bound {bound} loose against {most}");
            assert!(bound < sum, "bound {bound} not below the summed pT {sum}");
        }
    }
}
