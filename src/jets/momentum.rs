//! Four-momenta (px, py, pz, E) generic over the scalar type, with FastJet's kinematics.
//!
//! The formulas follow FastJet's `PseudoJet` operation by operation (same order of floating-point
//! operations), so that with `f64` the rapidity, φ and distances agree with FastJet bit for bit;
//! that is what makes the deterministic clustering reproduce FastJet's jets exactly.
//!
//! # World-safe branches
//! The formulas branch (the sign of pz, kt² = 0, m² < 0, φ < 0, Δφ > π, …). With a stochastic
//! triple, an alternative world may lie on the other side of a branch point than the primal
//! (a merged object crossing φ = 0 or pz = 0 when a coin flips), so a branch taken on the primal
//! value would silently give that world the wrong value (2π off, the wrong sign, a NaN). Every
//! branch here is therefore evaluated in each world on that world's own values: one- and
//! two-argument branches inside the closure of [`Scalar::map1`]/[`Scalar::map2`], the
//! formulas of more components (rapidity, pseudorapidity) once per world on the world's
//! momentum, like [`propagate`](crate::propagate). The tangent is the derivative of the branch
//! the primal takes. For number types without worlds (`f64`, [`Dual`](crate::Dual),
//! [`Score`](crate::Score)) all of this is a plain call: the same operations as before.

use std::f64::consts::{PI, TAU};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use crate::scalar::{Scalar, World};

/// The rapidity FastJet gives a massless particle along the beam (kt = 0, E = |pz|), before
/// adding |pz| so that distinct such particles stay distinct (FastJet's `MaxRap`).
pub const MAX_RAPIDITY: f64 = 1e5;

/// A four-momentum (px, py, pz, E) in GeV, generic over the scalar type.
///
/// Addition is the E-scheme recombination: components add.
///
/// ```
/// use stochad::jets::FourMomentum;
/// let a = FourMomentum::new(3.0, 4.0, 0.0, 5.0);
/// let b = FourMomentum::new(-3.0, -4.0, 0.0, 5.0);
/// assert_eq!(a.pt(), 5.0);
/// assert_eq!((a + b).mass(), 10.0);
/// assert_eq!(a.rapidity(), 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, crate::Scalars)]
pub struct FourMomentum<S = f64> {
    /// x component of the momentum.
    pub px: S,
    /// y component of the momentum.
    pub py: S,
    /// z component (beam axis).
    pub pz: S,
    /// Energy.
    pub e: S,
}

impl<S: Scalar> FourMomentum<S> {
    /// A four-momentum from its components.
    pub fn new(px: S, py: S, pz: S, e: S) -> Self {
        FourMomentum { px, py, pz, e }
    }

    /// A four-momentum of constants of type `S` from `f64` components.
    pub fn from_f64(p: FourMomentum<f64>) -> Self {
        FourMomentum::new(S::from(p.px), S::from(p.py), S::from(p.pz), S::from(p.e))
    }

    /// The primal values of the components.
    pub fn primal(&self) -> FourMomentum<f64> {
        FourMomentum::new(
            self.px.value(),
            self.py.value(),
            self.pz.value(),
            self.e.value(),
        )
    }

    /// The components' values in world `w` (live: see [`Scalar::value_in_live`]).
    pub(crate) fn in_live_world(&self, w: World) -> FourMomentum<f64> {
        FourMomentum::new(
            self.px.value_in_live(w),
            self.py.value_in_live(w),
            self.pz.value_in_live(w),
            self.e.value_in_live(w),
        )
    }

    /// Whether all four primal components are finite.
    pub fn is_finite(&self) -> bool {
        self.px.is_finite() && self.py.is_finite() && self.pz.is_finite() && self.e.is_finite()
    }

    /// Squared transverse momentum px² + py² (FastJet's `kt2`/`pt2`).
    #[inline]
    pub fn pt2(&self) -> S {
        self.px * self.px + self.py * self.py
    }

    /// Transverse momentum.
    #[inline]
    pub fn pt(&self) -> S {
        self.pt2().sqrt()
    }

    /// Squared invariant mass (E + pz)(E − pz) − pt², as FastJet computes it; may be negative.
    #[inline]
    pub fn m2(&self) -> S {
        (self.e + self.pz) * (self.e - self.pz) - self.pt2()
    }

    /// Invariant mass; for m² < 0 FastJet's convention m = −√(−m²).
    ///
    /// World-safe: the sign of m² is tested in each world (m² may change sign where the primal's
    /// does not).
    #[inline]
    pub fn mass(&self) -> S {
        self.m2().map1(
            signed_sqrt,
            |m2, m| {
                if m2 < 0.0 {
                    0.5 / -m
                } else {
                    0.5 / m
                }
            },
        )
    }

    /// Rapidity ½ ln((E + pz)/(E − pz)), computed as FastJet does:
    /// y = ½ ln((pt² + max(0, m²)) / (E + |pz|)²), negated for pz > 0. A particle with pt = 0 and
    /// E = |pz| gets ±(10⁵ + |pz|) (sign of pz) instead of ±∞.
    ///
    /// World-safe: the formula (its tests of pz > 0 and of pt = 0, E = |pz|) is evaluated once per
    /// alternative world on that world's momentum, as [`propagate`](crate::propagate) does; the
    /// primal pass carries the tangents.
    #[inline]
    pub fn rapidity(&self) -> S {
        per_world(
            self,
            Self::rapidity_formula,
            FourMomentum::<f64>::rapidity_formula,
        )
    }

    /// [`FourMomentum::rapidity`] with branches on primal values: right for numbers without
    /// worlds, which is how [`per_world`] calls it.
    #[inline]
    fn rapidity_formula(&self) -> S {
        let kt2 = self.pt2();
        let pz = self.pz.value();
        if kt2.value() == 0.0 && self.e.value() == pz.abs() {
            // FastJet lifts the degeneracy between such particles with |pz|.
            let y = self.pz.abs() + MAX_RAPIDITY;
            return if pz >= 0.0 { y } else { -y };
        }
        let effective_m2 = self.m2().max(S::zero());
        let e_plus_pz = self.e + self.pz.abs();
        let y = ((kt2 + effective_m2) / (e_plus_pz * e_plus_pz)).ln() * 0.5;
        if pz > 0.0 {
            -y
        } else {
            y
        }
    }

    /// Azimuth atan2(py, px) in [0, 2π); 0 when pt² = 0 (as in FastJet).
    ///
    /// World-safe: the wrap into [0, 2π) and the pt² = 0 convention are applied in each world
    /// (a world may cross φ = 0 where the primal does not).
    #[inline]
    pub fn phi(&self) -> S {
        self.py.map2(
            self.px,
            azimuth,
            |py, px, _| {
                let pt2 = px * px + py * py;
                if pt2 == 0.0 {
                    0.0
                } else {
                    px / pt2
                }
            },
            |py, px, _| {
                let pt2 = px * px + py * py;
                if pt2 == 0.0 {
                    0.0
                } else {
                    -py / pt2
                }
            },
        )
    }

    /// Pseudorapidity −ln tan(θ/2) (FastJet's formula); ±10⁵ (sign of pz, + for pz = 0) along the
    /// beam, 0 for pz = 0.
    ///
    /// World-safe like [`FourMomentum::rapidity`]: evaluated once per alternative world on that
    /// world's momentum.
    pub fn pseudorapidity(&self) -> S {
        per_world(
            self,
            Self::pseudorapidity_formula,
            FourMomentum::<f64>::pseudorapidity_formula,
        )
    }

    /// [`FourMomentum::pseudorapidity`] with branches on primal values (see
    /// [`FourMomentum::rapidity_formula`]).
    fn pseudorapidity_formula(&self) -> S {
        if self.px.value() == 0.0 && self.py.value() == 0.0 {
            let y = S::from(MAX_RAPIDITY);
            return if self.pz.value() < 0.0 { -y } else { y };
        }
        if self.pz.value() == 0.0 {
            return S::zero();
        }
        let mut theta = (self.pt() / self.pz).atan();
        if theta.value() < 0.0 {
            theta += PI;
        }
        -(theta * 0.5).tan().ln()
    }

    /// Squared distance Δy² + Δφ² in the rapidity–azimuth plane, Δφ folded into [0, π].
    #[inline]
    pub fn delta_r2(&self, other: &Self) -> S {
        delta_r2_from(self.rapidity(), self.phi(), other.rapidity(), other.phi())
    }
}

/// Δy² + Δφ² from rapidities and azimuths in [0, 2π), Δφ = |φa − φb| folded into [0, π]; the
/// same operations as FastJet's `_bj_dist`.
///
/// World-safe: the fold is applied in each world (a world's Δφ may cross π where the primal's
/// does not).
#[inline]
pub fn delta_r2_from<S: Scalar>(ya: S, phia: S, yb: S, phib: S) -> S {
    let dphi = (phia - phib).map1(fold_delta_phi, |d, _| {
        let sign = if d > 0.0 {
            1.0
        } else if d < 0.0 {
            -1.0
        } else {
            0.0
        };
        if d.abs() > PI {
            -sign
        } else {
            sign
        }
    });
    let dy = ya - yb;
    dphi * dphi + dy * dy
}

/// |Δφ| folded into [0, π] (FastJet's `_bj_dist`: 2π − |Δφ| above π).
#[inline]
fn fold_delta_phi(d: f64) -> f64 {
    let a = d.abs();
    if a > PI {
        TAU - a
    } else {
        a
    }
}

/// FastJet's azimuth of (px, py), from (py, px): atan2 shifted into [0, 2π), 0 when pt² = 0.
#[inline]
fn azimuth(py: f64, px: f64) -> f64 {
    let mut phi = if px * px + py * py == 0.0 {
        0.0
    } else {
        py.atan2(px)
    };
    if phi < 0.0 {
        phi += TAU;
    }
    // atan2 of a tiny negative angle + 2π can round up to 2π itself.
    if phi >= TAU {
        phi -= TAU;
    }
    phi
}

/// √m², or FastJet's −√(−m²) for m² < 0.
#[inline]
fn signed_sqrt(m2: f64) -> f64 {
    if m2 < 0.0 {
        -(-m2).sqrt()
    } else {
        m2.sqrt()
    }
}

/// A function of a whole four-momentum, evaluated world by world: `primal` runs on the momentum
/// stripped of its alternative worlds (so its branches on primal values are right and it carries
/// the tangents), `world` on each alternative world's momentum (as `f64`); the result carries each
/// world's value. The same two functions as [`propagate`](crate::propagate) would run, without its
/// checks (`world` is deterministic and the output one number).
///
/// Numbers without worlds, and triples carrying no live world (this includes the smoothed backend,
/// whose smoothed tangent then flows through `primal` by the chain rule), just call `primal`.
#[inline]
pub(crate) fn per_world<S: Scalar>(
    p: &FourMomentum<S>,
    primal: impl FnOnce(&FourMomentum<S>) -> S,
    world: impl Fn(&FourMomentum<f64>) -> f64,
) -> S {
    if !S::CARRIES_WORLDS {
        return primal(p);
    }
    let worlds = S::couple_worlds(&[p.px, p.py, p.pz, p.e]);
    if worlds.is_empty() {
        return primal(p);
    }
    let stripped = FourMomentum::new(
        p.px.without_worlds(),
        p.py.without_worlds(),
        p.pz.without_worlds(),
        p.e.without_worlds(),
    );
    let mut out = primal(&stripped);
    for w in worlds {
        let alt = FourMomentum::new(
            p.px.value_in(w),
            p.py.value_in(w),
            p.pz.value_in(w),
            p.e.value_in(w),
        );
        out = out.with_world(w, world(&alt));
    }
    out
}

impl<S: Scalar> Add for FourMomentum<S> {
    type Output = Self;
    /// E-scheme recombination.
    #[inline]
    fn add(self, o: Self) -> Self {
        FourMomentum::new(self.px + o.px, self.py + o.py, self.pz + o.pz, self.e + o.e)
    }
}

impl<S: Scalar> AddAssign for FourMomentum<S> {
    #[inline]
    fn add_assign(&mut self, o: Self) {
        *self = *self + o;
    }
}

impl<S: Scalar> Sub for FourMomentum<S> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        FourMomentum::new(self.px - o.px, self.py - o.py, self.pz - o.pz, self.e - o.e)
    }
}

impl<S: Scalar> SubAssign for FourMomentum<S> {
    #[inline]
    fn sub_assign(&mut self, o: Self) {
        *self = *self - o;
    }
}

impl<S: Scalar> Neg for FourMomentum<S> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        FourMomentum::new(-self.px, -self.py, -self.pz, -self.e)
    }
}

impl<S: Scalar> Sum for FourMomentum<S> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(FourMomentum::default(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dual;

    fn p(px: f64, py: f64, pz: f64, e: f64) -> FourMomentum {
        FourMomentum::new(px, py, pz, e)
    }

    #[test]
    fn basic_kinematics() {
        let a = p(3.0, 4.0, 12.0, 13.0);
        assert_eq!(a.pt2(), 25.0);
        assert_eq!(a.pt(), 5.0);
        assert_eq!(a.m2(), 0.0);
        let y = 0.5 * ((13.0f64 + 12.0) / (13.0 - 12.0)).ln();
        assert!((a.rapidity() - y).abs() < 1e-14);
        assert!((a.phi() - 4f64.atan2(3.0)).abs() < 1e-15);
        // Massless: pseudorapidity equals rapidity.
        assert!((a.pseudorapidity() - y).abs() < 1e-13);
    }

    #[test]
    fn rapidity_is_odd_in_pz() {
        let a = p(1.0, 2.0, 7.5, 10.0);
        let b = p(1.0, 2.0, -7.5, 10.0);
        assert_eq!(a.rapidity(), -b.rapidity());
        assert!(a.rapidity() > 0.0);
        assert_eq!(p(1.0, 0.0, 0.0, 2.0).rapidity(), 0.0);
    }

    #[test]
    fn rapidity_along_the_beam_is_large_and_distinct() {
        assert_eq!(p(0.0, 0.0, 50.0, 50.0).rapidity(), 1e5 + 50.0);
        assert_eq!(p(0.0, 0.0, -20.0, 20.0).rapidity(), -(1e5 + 20.0));
        // E > |pz| at pt = 0 is a massive particle at rest in the transverse plane: finite.
        let y = p(0.0, 0.0, 3.0, 5.0).rapidity();
        assert!((y - 0.5 * (8.0f64 / 2.0).ln()).abs() < 1e-14);
        // The zero vector: pt = 0 and E = |pz| = 0.
        assert_eq!(p(0.0, 0.0, 0.0, 0.0).rapidity(), 1e5);
    }

    #[test]
    fn tachyonic_rapidity_uses_zero_mass() {
        // m² < 0 (E < |p|): FastJet forces m² to 0 in the rapidity.
        let a = p(3.0, 4.0, 2.0, 5.0);
        assert!(a.m2() < 0.0);
        let y = 0.5 * (25.0f64 / 49.0).ln();
        assert_eq!(a.rapidity(), -y);
    }

    #[test]
    fn phi_range_and_zero_pt() {
        assert_eq!(p(0.0, 0.0, 5.0, 5.0).phi(), 0.0);
        // atan2(0, -0) = π, but pt² = 0 gives φ = 0.
        assert_eq!(p(-0.0, 0.0, 1.0, 2.0).phi(), 0.0);
        assert_eq!(p(-1.0, 0.0, 0.0, 1.0).phi(), PI);
        let phi = p(1.0, -1e-300, 0.0, 1.0).phi();
        assert!((0.0..TAU).contains(&phi));
        let phi = p(0.0, -1.0, 0.0, 1.0).phi();
        assert!((phi - 1.5 * PI).abs() < 1e-15);
    }

    #[test]
    fn mass_sign_convention() {
        assert_eq!(p(0.0, 0.0, 0.0, 3.0).mass(), 3.0);
        // m² = 25 − 9 − 16 − 144 < 0.
        let a = p(3.0, 4.0, 12.0, 5.0);
        assert_eq!(a.m2(), -144.0);
        assert_eq!(a.mass(), -12.0);
        // Collinear massless particles add to a massless one.
        let b = p(1.0, 2.0, 2.0, 3.0);
        assert_eq!((b + b).mass(), 0.0);
        assert_eq!((b + b).rapidity(), b.rapidity());
    }

    #[test]
    fn pseudorapidity_edges() {
        assert_eq!(p(0.0, 0.0, 3.0, 4.0).pseudorapidity(), 1e5);
        assert_eq!(p(0.0, 0.0, -3.0, 4.0).pseudorapidity(), -1e5);
        assert_eq!(p(1.0, 1.0, 0.0, 4.0).pseudorapidity(), 0.0);
        let a = p(1.0, 0.0, -1.0, 4.0);
        let eta = -(std::f64::consts::FRAC_PI_8 * 3.0).tan().ln();
        assert!((a.pseudorapidity() - eta).abs() < 1e-14);
    }

    #[test]
    fn delta_r2_folds_phi() {
        let a = p(1.0, 0.1, 0.0, 2.0);
        let b = p(1.0, -0.1, 0.0, 2.0);
        let dphi = 2.0 * 0.1f64.atan();
        assert!((a.delta_r2(&b) - dphi * dphi).abs() < 1e-15);
        assert_eq!(a.delta_r2(&b), b.delta_r2(&a));
        let c = p(-1.0, 0.0, 0.0, 2.0);
        let d = p(1.0, 0.0, 0.0, 2.0);
        assert!((c.delta_r2(&d) - PI * PI).abs() < 1e-14);
    }

    #[test]
    fn e_scheme_arithmetic() {
        let a = p(1.0, 2.0, 3.0, 10.0);
        let b = p(-0.5, 0.25, 1.0, 4.0);
        let mut c = a;
        c += b;
        assert_eq!(c, p(0.5, 2.25, 4.0, 14.0));
        assert_eq!(c - b, a);
        assert_eq!([a, b].into_iter().sum::<FourMomentum>(), c);
        assert_eq!(-a + a, p(0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn dual_matches_f64_and_differentiates() {
        // d/dt of the kinematics along px → px + t, checked against central differences.
        let base = p(3.0, -4.0, 7.0, 12.0);
        let lift = |t: Dual<1>| {
            let mut q = FourMomentum::<Dual<1>>::from_f64(base);
            q.px += t;
            q
        };
        let q = lift(Dual::variable(0.0, 0));
        let h = 1e-6;
        let shifted = |dx: f64| p(base.px + dx, base.py, base.pz, base.e);
        type Kinematic = fn(&FourMomentum) -> f64;
        let checks: [(Dual<1>, Kinematic); 6] = [
            (q.pt(), |m| m.pt()),
            (q.mass(), |m| m.mass()),
            (q.rapidity(), |m| m.rapidity()),
            (q.phi(), |m| m.phi()),
            (q.pseudorapidity(), |m| m.pseudorapidity()),
            (q.m2(), |m| m.m2()),
        ];
        for (dual, f) in checks {
            assert_eq!(dual.value, f(&base));
            let fd = (f(&shifted(h)) - f(&shifted(-h))) / (2.0 * h);
            assert!(
                (dual.tangent[0] - fd).abs() < 1e-6,
                "{} vs {fd}",
                dual.tangent[0]
            );
        }
        assert_eq!(q.primal(), base);
        let other = FourMomentum::<Dual<1>>::from_f64(p(1.0, 1.0, 0.5, 3.0));
        assert_eq!(q.delta_r2(&other).value, base.delta_r2(&other.primal()));
    }
}
