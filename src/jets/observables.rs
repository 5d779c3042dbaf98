//! Observables built on jets: the reconstructed Higgs mass m_jj of the two leading jets.
//!
//! # Primal decisions
//! Which jets pass the selection and which two lead are discrete decisions, and
//! [`DijetSelection::accepts`], [`dijet_mass`] and [`reconstruct_mh`] take them on **primal**
//! values (as the deterministic clustering takes its jet list). The mass of the chosen pair is
//! world-safe, but in an alternative world where a jet crosses a cut or the order of the leading
//! jets changes, that world still uses the primal's pair: its value is silently wrong and the
//! stochastic-triple estimate misses that jump. To make these decisions in every world, run the
//! reconstruction inside [`propagate`](crate::propagate) (see [`dijet_mass`]);
//! [`DijetSelection::acceptance`] is the world-safe form of the selection of one jet.

use crate::error::Result;
use crate::jets::cluster::{Jet, JetDefinition};
use crate::jets::momentum::{per_world, FourMomentum};
use crate::jets::JetError;
use crate::scalar::Scalar;

/// Which jets may count as the Higgs candidates: pt ≥ `ptmin` and |y| ≤ `max_abs_rapidity`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DijetSelection {
    ptmin: f64,
    max_abs_rapidity: f64,
}

impl Default for DijetSelection {
    /// pt ≥ 20 GeV, no rapidity cut.
    fn default() -> Self {
        DijetSelection {
            ptmin: 20.0,
            max_abs_rapidity: f64::INFINITY,
        }
    }
}

impl DijetSelection {
    /// A selection: `ptmin` ≥ 0 (GeV) and `max_abs_rapidity` > 0 (may be infinite); NaN is
    /// rejected.
    pub fn new(ptmin: f64, max_abs_rapidity: f64) -> Result<Self> {
        if !(ptmin.is_finite() && ptmin >= 0.0) {
            return Err(JetError::InvalidParameter {
                what: "dijet selection: ptmin",
                value: ptmin,
                expected: "[0, ∞)",
            }
            .into());
        }
        if max_abs_rapidity.is_nan() || max_abs_rapidity <= 0.0 {
            return Err(JetError::InvalidParameter {
                what: "dijet selection: max |y|",
                value: max_abs_rapidity,
                expected: "(0, ∞]",
            }
            .into());
        }
        Ok(DijetSelection {
            ptmin,
            max_abs_rapidity,
        })
    }

    /// The pt threshold (GeV).
    pub fn ptmin(&self) -> f64 {
        self.ptmin
    }

    /// The rapidity cut.
    pub fn max_abs_rapidity(&self) -> f64 {
        self.max_abs_rapidity
    }

    /// Whether a jet passes, **decided on primal values**: an alternative world in which the
    /// jet crosses a cut gets the primal's answer. Use [`DijetSelection::acceptance`] for the
    /// decision in every world.
    pub fn accepts<S: Scalar>(&self, p: &FourMomentum<S>) -> bool {
        p.pt2().value() >= self.ptmin * self.ptmin
            && p.rapidity().value().abs() <= self.max_abs_rapidity
    }

    /// Whether a jet passes, as a number that is 1 or 0 in each world: world-safe, the cuts are
    /// applied to each alternative world's momentum (the value of
    /// [`DijetSelection::accepts`] there). Its tangent is 0.
    ///
    /// ```
    /// use stochad::jets::{observables::DijetSelection, FourMomentum};
    /// let sel = DijetSelection::default();
    /// assert_eq!(sel.acceptance(&FourMomentum::new(30.0, 0.0, 0.0, 30.0)), 1.0);
    /// assert_eq!(sel.acceptance(&FourMomentum::new(10.0, 0.0, 0.0, 10.0)), 0.0);
    /// ```
    pub fn acceptance<S: Scalar>(&self, p: &FourMomentum<S>) -> S {
        let indicator = |pass: bool| if pass { 1.0 } else { 0.0 };
        per_world(
            p,
            |q| S::from(indicator(self.accepts(q))),
            |q| indicator(self.accepts(q)),
        )
    }
}

/// The reconstructed dijet mass of an event, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DijetMass<S = f64> {
    /// The invariant mass of the two leading selected jets.
    Mass {
        /// m_jj (GeV).
        mass: S,
        /// Positions of the two jets in the jet list given, leading first.
        jets: [usize; 2],
    },
    /// Fewer than two jets passed the selection.
    TooFewJets {
        /// How many passed.
        found: usize,
    },
}

impl<S: Scalar> DijetMass<S> {
    /// The mass, if there is one.
    pub fn mass(&self) -> Option<S> {
        match self {
            DijetMass::Mass { mass, .. } => Some(*mass),
            DijetMass::TooFewJets { .. } => None,
        }
    }
}

/// The invariant mass of the two highest-pt jets of `jets` that pass `selection` (the jets need
/// not be sorted).
///
/// # Decided on the primal
/// **Which jets pass and which two lead is decided on primal values** (pt² and rapidity of the
/// primal jets): in an alternative world where a jet crosses a cut or overtakes a leading jet,
/// the mass is still that of the primal's pair (world-correct for that pair, but the wrong pair),
/// and nothing reports it. The jet list given is itself usually a primal decision (the
/// deterministic clustering's). For decisions taken in every world, run the whole
/// reconstruction inside [`propagate`](crate::propagate), with an output of fixed shape:
///
/// ```
/// use stochad::jets::cluster::{Algorithm, JetDefinition};
/// use stochad::jets::observables::{reconstruct_mh, DijetSelection};
/// use stochad::jets::FourMomentum;
/// use stochad::{propagate, sample::bernoulli, Scalar, Triple};
///
/// /// m_jj, or 0 without two selected jets.
/// fn mjj<S: Scalar>(particles: Vec<FourMomentum<S>>) -> stochad::Result<S> {
///     let def = JetDefinition::new(Algorithm::AntiKt, 0.4)?;
///     let m = reconstruct_mh(&particles, &def, &DijetSelection::default())?;
///     Ok(m.mass().unwrap_or(S::zero()))
/// }
/// let a = FourMomentum::new(50.0, 0.0, 0.0, 50.0);
/// let b = FourMomentum::new(-40.0, 1.0, 0.0, 1601f64.sqrt());
/// // A coin makes a third particle hard enough (pt 45 instead of 10) to replace b as a leading
/// // jet: E[m_jj] = (1 − θ) m(a, b) + θ m(a, c).
/// let program = |t: Triple| -> stochad::Result<Triple> {
///     let py = bernoulli(t)? * -35.0 - 10.0;
///     let c = FourMomentum::new(Triple::zero(), py, Triple::zero(), py.abs());
///     propagate(mjj::<Triple>, vec![FourMomentum::from_f64(a), FourMomentum::from_f64(b), c])
/// };
/// let with_c = |py: f64| mjj(vec![a, b, FourMomentum::new(0.0, py, 0.0, py.abs())]);
/// let exact = with_c(-45.0)? - with_c(-10.0)?;
/// let d = stochad::derivative(program).at(0.5).samples(400).estimate()?;
/// assert!((d.mean - exact).abs() < 5.0 * d.stderr, "{} ± {} vs {exact}", d.mean, d.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
///
/// ```
/// use stochad::jets::cluster::Jet;
/// use stochad::jets::observables::{dijet_mass, DijetMass, DijetSelection};
/// use stochad::jets::FourMomentum;
/// let jet = |px: f64| Jet { momentum: FourMomentum::new(px, 0.0, 0.0, px.abs()), constituents: vec![] };
/// let sel = DijetSelection::default();
/// assert_eq!(dijet_mass(&[jet(50.0), jet(-30.0)], &sel).mass(), Some(2.0 * (50.0f64 * 30.0).sqrt()));
/// assert_eq!(dijet_mass(&[jet(50.0), jet(-10.0)], &sel), DijetMass::TooFewJets { found: 1 });
/// ```
pub fn dijet_mass<S: Scalar>(jets: &[Jet<S>], selection: &DijetSelection) -> DijetMass<S> {
    let mut best: [Option<(f64, usize)>; 2] = [None, None];
    let mut found = 0;
    for (k, j) in jets.iter().enumerate() {
        if !selection.accepts(&j.momentum) {
            continue;
        }
        found += 1;
        let pt2 = j.momentum.pt2().value();
        // Strict >: on a tie the earlier jet leads, as in a stable sort.
        match best {
            [None, _] => best[0] = Some((pt2, k)),
            [Some((p0, _)), _] if pt2 > p0 => best = [Some((pt2, k)), best[0]],
            [Some(_), None] => best[1] = Some((pt2, k)),
            [Some(_), Some((p1, _))] if pt2 > p1 => best[1] = Some((pt2, k)),
            _ => {}
        }
    }
    match best {
        [Some((_, a)), Some((_, b))] => DijetMass::Mass {
            mass: (jets[a].momentum + jets[b].momentum).mass(),
            jets: [a, b],
        },
        _ => DijetMass::TooFewJets { found },
    }
}

/// Clusters `particles` with `definition` and reconstructs m_jj of the two leading jets passing
/// `selection`: the mH reconstruction of a ZH → ℓℓbb̄ event (leptons not among the particles).
///
/// **The clustering, the jets' pt threshold and the choice of the two jets are decided on the
/// primal** (see [`dijet_mass`]); wrap the call in [`propagate`](crate::propagate) to decide them
/// in every world.
pub fn reconstruct_mh<S: Scalar>(
    particles: &[FourMomentum<S>],
    definition: &JetDefinition,
    selection: &DijetSelection,
) -> Result<DijetMass<S>> {
    let jets = definition
        .cluster(particles)?
        .inclusive_jets(selection.ptmin());
    Ok(dijet_mass(&jets, selection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jets::cluster::Algorithm;
    use crate::Dual;

    fn jet<S: Scalar>(px: S, py: f64, pz: f64) -> Jet<S> {
        let e = (px * px + py * py + pz * pz + 25.0).sqrt();
        Jet {
            momentum: FourMomentum::new(px, S::from(py), S::from(pz), e),
            constituents: vec![],
        }
    }

    #[test]
    fn picks_two_hardest_selected_jets_in_any_order() {
        let jets = [
            jet(25.0, 0.0, 0.0),
            jet(-60.0, 1.0, 3.0),
            jet(0.0, 40.0, 2.0),
            jet(5.0, 1.0, 0.0),
        ];
        let sel = DijetSelection::default();
        match dijet_mass(&jets, &sel) {
            DijetMass::Mass { mass, jets: which } => {
                assert_eq!(which, [1, 2]);
                assert_eq!(mass, (jets[1].momentum + jets[2].momentum).mass());
            }
            other => panic!("{other:?}"),
        }
        // A rapidity cut removes the forward jet.
        let forward = [
            jet(30.0, 0.0, 500.0),
            jet(-25.0, 0.0, 0.0),
            jet(0.0, 22.0, 0.0),
        ];
        let sel = DijetSelection::new(20.0, 2.5).unwrap();
        assert!(matches!(
            dijet_mass(&forward, &sel),
            DijetMass::Mass { jets: [1, 2], .. }
        ));
    }

    #[test]
    fn too_few_jets_is_reported() {
        let sel = DijetSelection::default();
        assert_eq!(
            dijet_mass::<f64>(&[], &sel),
            DijetMass::TooFewJets { found: 0 }
        );
        assert_eq!(
            dijet_mass(&[jet(30.0, 0.0, 0.0), jet(1.0, 0.0, 0.0)], &sel),
            DijetMass::TooFewJets { found: 1 }
        );
        assert_eq!(DijetMass::<f64>::TooFewJets { found: 1 }.mass(), None);
    }

    #[test]
    fn selection_is_validated() {
        assert!(DijetSelection::new(-1.0, 1.0).is_err());
        assert!(DijetSelection::new(f64::NAN, 1.0).is_err());
        assert!(DijetSelection::new(1.0, 0.0).is_err());
        assert!(DijetSelection::new(1.0, f64::NAN).is_err());
        assert!(DijetSelection::new(0.0, f64::INFINITY).is_ok());
    }

    #[test]
    fn reconstruct_back_to_back_pair_and_derivative() {
        // Two back-to-back massless jets of pt = 50 + t: m = 2 pt at y = 0, dm/dt = 2.
        let t = Dual::<1>::variable(0.0, 0);
        let pt = t + 50.0;
        let ps = vec![
            FourMomentum::new(pt, Dual::from(0.0), Dual::from(0.0), pt),
            FourMomentum::new(-pt, Dual::from(0.0), Dual::from(0.0), pt),
            FourMomentum::new(
                Dual::from(1.0),
                Dual::from(0.05),
                Dual::from(0.0),
                Dual::from(1.00125),
            ),
        ];
        let def = JetDefinition::new(Algorithm::AntiKt, 0.4).unwrap();
        let m = reconstruct_mh(&ps, &def, &DijetSelection::default())
            .unwrap()
            .mass()
            .unwrap();
        let plain: Vec<FourMomentum> = ps.iter().map(|p| p.primal()).collect();
        let mf = reconstruct_mh(&plain, &def, &DijetSelection::default())
            .unwrap()
            .mass()
            .unwrap();
        assert_eq!(m.value, mf);
        // The soft particle joins the first jet; the mass's pt-derivative stays close to 2.
        assert!((m.tangent[0] - 2.0).abs() < 0.05, "{}", m.tangent[0]);
    }
}
