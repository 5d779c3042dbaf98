//! What a Qanti-kT run returns: the jets of every world in one fixed layout, and the observables
//! read off them.

use crate::error::Result;
use crate::jets::cluster::Jet;
use crate::jets::momentum::FourMomentum;
use crate::propagate::{propagate, propagate_plain, PlainFn};
use smallvec::SmallVec;

use crate::scalar::{Scalar, World};

use super::candidates::Candidate;

/// The result of one Qanti-kT clustering: for each input slot, the four-momentum of the object
/// it ended with and a flag that is 1 if that object is a jet.
///
/// Different histories end with different jets — another number of them, another pT order — and
/// an alternative world of a stochastic triple is another history. So the jets are kept per slot
/// (a jet sits in the lowest slot of its constituents; other slots are empty), the same layout
/// in every world, and observables are computed in each world separately
/// ([`QantiKtJets::mh`]). The primal history's jets with their constituents are
/// [`QantiKtJets::jets`].
#[derive(Clone, Debug)]
pub struct QantiKtJets<S = f64> {
    pub(super) momenta: Vec<FourMomentum<S>>,
    pub(super) is_jet: Vec<S>,
    pub(super) constituents: Vec<Vec<usize>>,
    pub(super) history: Vec<Candidate>,
    /// Worlds ended before the clustering did, with their mH (see `QantiKt::finish_worlds`;
    /// none where the clustering went to its end): [`QantiKtJets::mh`] gives them these
    /// values. Clusterings stopped so are not returned as jets.
    pub(super) ended: SmallVec<[(World, f64); 4]>,
}

impl<S: Scalar> QantiKtJets<S> {
    /// The per-slot four-momenta (zero for slots whose object was merged into a lower slot).
    pub fn momenta(&self) -> &[FourMomentum<S>] {
        &self.momenta
    }

    /// The per-slot jet flags: 1 where the slot holds a jet (per world).
    pub fn is_jet(&self) -> &[S] {
        &self.is_jet
    }

    /// The primal history: the candidate taken at each step (merge slots `a < b` into `a`, or
    /// slot `a` becomes a jet when `a == b`).
    pub fn history(&self) -> &[Candidate] {
        &self.history
    }

    /// The primal history's jets with their constituents (input indices, increasing), by
    /// decreasing pT.
    pub fn jets(&self) -> Vec<Jet<S>> {
        let mut jets: Vec<(f64, Jet<S>)> = (0..self.momenta.len())
            .filter(|&i| self.is_jet[i].value() == 1.0)
            .map(|i| {
                let mut constituents = self.constituents[i].clone();
                constituents.sort_unstable();
                let j = Jet {
                    momentum: self.momenta[i],
                    constituents,
                };
                (self.momenta[i].pt2().value(), j)
            })
            .collect();
        jets.sort_by(|a, b| b.0.total_cmp(&a.0));
        jets.into_iter().map(|(_, j)| j).collect()
    }

    /// The reconstructed Higgs mass: the invariant mass of the two leading-pT jets, **0 when the
    /// history ended with fewer than two jets** (e.g. everything merged into one). Evaluated in
    /// each world on that world's jets, so it is right for every number type.
    ///
    /// # Errors
    /// Only for stochastic triples used outside their run.
    pub fn mh(&self) -> Result<S> {
        let mh = propagate_plain(
            &LeadingPairMass,
            &(self.momenta.clone(), self.is_jet.clone()),
        )?;
        Ok(mh.with_worlds(&self.ended))
    }
}

/// [`leading_pair_mass`] of the slots' momenta and jet flags, for `propagate_plain`.
struct LeadingPairMass;

impl<S: Scalar> PlainFn<(Vec<FourMomentum<S>>, Vec<S>)> for LeadingPairMass {
    type Output<T: Scalar> = T;

    fn call<T: Scalar>(&self, (p, jet): (Vec<FourMomentum<T>>, Vec<T>)) -> Result<T> {
        Ok(leading_pair_mass(&p, &jet))
    }
}

/// The per-event loss of the jet-radius optimisation: (mH − `target`)² where mH < `cut`, else 0
/// (an event whose reconstruction fails the window contributes nothing). The window is decided
/// in each world on that world's mH, so the discontinuity at the cut is differentiated
/// correctly by every estimator (it is part of the observable, not a branch of the caller).
///
/// ```
/// use stochad::jets::qantikt::mh_loss;
/// assert_eq!(mh_loss(130.0_f64, 125.0, 250.0)?, 25.0);
/// assert_eq!(mh_loss(300.0_f64, 125.0, 250.0)?, 0.0);
/// # Ok::<(), stochad::Error>(())
/// ```
///
/// # Errors
/// Only for stochastic triples used outside their run.
pub fn mh_loss<S: Scalar>(mh: S, target: f64, cut: f64) -> Result<S> {
    propagate(
        |m: S| {
            if m.value() < cut {
                (m - target) * (m - target)
            } else {
                S::zero()
            }
        },
        mh,
    )
}

/// Invariant mass of the two highest-pT slots flagged as jets (0 with fewer than two). Plain
/// branches on values: callers run it inside `propagate`.
pub(super) fn leading_pair_mass<S: Scalar>(p: &[FourMomentum<S>], jet: &[S]) -> S {
    let pt2 = (0..p.len())
        .filter(|&i| jet[i].value() == 1.0)
        .map(|i| (i, p[i].pt2().value()));
    match leading_pair(pt2) {
        Some((a, b)) => (p[a] + p[b]).mass(),
        None => S::zero(),
    }
}

/// The two slots of highest pT² among `(slot, pT²)` given in slot order, leader first (strict >:
/// on a tie the lower slot leads); `None` with fewer than two.
pub(super) fn leading_pair(pt2: impl Iterator<Item = (usize, f64)>) -> Option<(usize, usize)> {
    let mut best: [Option<(f64, usize)>; 2] = [None, None];
    for (i, pt2) in pt2 {
        match best {
            [None, _] => best[0] = Some((pt2, i)),
            [Some((p0, _)), _] if pt2 > p0 => best = [Some((pt2, i)), best[0]],
            [Some(_), None] => best[1] = Some((pt2, i)),
            [Some(_), Some((p1, _))] if pt2 > p1 => best[1] = Some((pt2, i)),
            _ => {}
        }
    }
    match best {
        [Some((_, a)), Some((_, b))] => Some((a, b)),
        _ => None,
    }
}
