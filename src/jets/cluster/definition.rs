//! The jet definition: which member of the generalised-kT family, and the radius.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::jets::momentum::{delta_r2_from, FourMomentum};
use crate::scalar::Scalar;

/// A member of the generalised-kT family: d_ij = min(pt_i^{2p}, pt_j^{2p}) ΔR²_ij / R²,
/// d_iB = pt_i^{2p}.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// p = 1: soft particles cluster first.
    Kt,
    /// p = 0: purely geometric, closest pairs first.
    CambridgeAachen,
    /// p = −1: hard particles collect their neighbours; cone-like jets.
    AntiKt,
}

impl Algorithm {
    /// The exponent p of the family.
    pub fn p(self) -> i32 {
        match self {
            Algorithm::Kt => 1,
            Algorithm::CambridgeAachen => 0,
            Algorithm::AntiKt => -1,
        }
    }

    /// The per-object scale pt^{2p} from pt², as FastJet computes it (its `kt2` field): for
    /// anti-kT 1/pt², or 10³⁰⁰ when pt² ≤ 10⁻³⁰⁰.
    ///
    /// World-safe: the pt² > 10⁻³⁰⁰ test is made in each world (an alternative world's object
    /// may have pt = 0 where the primal's does not).
    #[inline]
    pub fn scale<S: Scalar>(self, pt2: S) -> S {
        match self {
            Algorithm::Kt => pt2,
            Algorithm::CambridgeAachen => S::one(),
            Algorithm::AntiKt => pt2.map1(
                |x| if x > 1e-300 { x.recip() } else { 1e300 },
                |x, f| if x > 1e-300 { -f * f } else { 0.0 },
            ),
        }
    }

    /// The beam distance d_iB = pt_i^{2p}.
    pub fn beam_distance<S: Scalar>(self, a: &FourMomentum<S>) -> S {
        self.scale(a.pt2())
    }

    /// The pair distance d_ij = min(pt_i^{2p}, pt_j^{2p}) ΔR²_ij / R², with R a scalar so the
    /// radius can carry derivatives.
    pub fn pair_distance<S: Scalar>(
        self,
        a: &FourMomentum<S>,
        b: &FourMomentum<S>,
        radius: S,
    ) -> S {
        let dr2 = delta_r2_from(a.rapidity(), a.phi(), b.rapidity(), b.phi());
        let (sa, sb) = (self.scale(a.pt2()), self.scale(b.pt2()));
        sa.min(sb) * dr2 / (radius * radius)
    }

    /// The name used on command lines: `antikt`, `kt` or `cambridge`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Kt => "kt",
            Algorithm::CambridgeAachen => "cambridge",
            Algorithm::AntiKt => "antikt",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses `antikt`/`anti-kt`, `kt`, `cambridge`/`ca`/`cambridge-aachen` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "antikt" | "anti-kt" | "akt" => Ok(Algorithm::AntiKt),
            "kt" => Ok(Algorithm::Kt),
            "cambridge" | "ca" | "cambridge-aachen" | "c/a" => Ok(Algorithm::CambridgeAachen),
            _ => Err(Error::config(format!(
                "unknown jet algorithm `{s}`: expected antikt, kt or cambridge"
            ))),
        }
    }
}

/// How the nearest neighbours are searched. All strategies give the same jets (they differ only
/// in how exact ties between distances are broken, which real events do not have).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// [`Strategy::N2Tiled`] from [`Strategy::tiled_from`] particles on, else
    /// [`Strategy::N2Plain`].
    #[default]
    Best,
    /// FastJet's `N2Plain`, step by step (ties resolve exactly as there).
    N2Plain,
    /// Nearest neighbours searched in tiles of size ≥ R around each object.
    N2Tiled,
}

impl Strategy {
    /// The number of particles from which `Best` uses the tiled search at radius `r`: 75 up to
    /// R = 0.4, 100 more per unit of R above (fewer, larger tiles help less). Measured
    /// crossovers on the default sample: ~75 particles at R = 0.4, ~130 at R = 1.0.
    pub fn tiled_from(r: f64) -> usize {
        (75.0 + 100.0 * (r - 0.4).max(0.0)).min(1e9) as usize
    }
}

/// The smallest radius [`JetDefinition::new`] accepts.
pub const MIN_RADIUS: f64 = 1e-5;
/// The largest radius [`JetDefinition::new`] accepts.
pub const MAX_RADIUS: f64 = 1e5;

/// Which jet algorithm and radius: the configuration of a clustering run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JetDefinition {
    algorithm: Algorithm,
    radius: f64,
    strategy: Strategy,
}

impl JetDefinition {
    /// A jet definition; the radius must lie in [10⁻⁵, 10⁵] (beyond, R² under- or overflows
    /// the distance arithmetic long before it means anything physically).
    ///
    /// ```
    /// use stochad::jets::cluster::{Algorithm, JetDefinition};
    /// assert!(JetDefinition::new(Algorithm::AntiKt, 0.4).is_ok());
    /// assert!(JetDefinition::new(Algorithm::AntiKt, -1.0).is_err());
    /// ```
    pub fn new(algorithm: Algorithm, radius: f64) -> Result<Self> {
        if !(MIN_RADIUS..=MAX_RADIUS).contains(&radius) {
            return Err(Error::InvalidParameter {
                what: "jet definition: radius R",
                value: radius,
                expected: "[1e-5, 1e5]",
            });
        }
        Ok(JetDefinition {
            algorithm,
            radius,
            strategy: Strategy::Best,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The radius R.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// The same definition with another search strategy.
    pub fn with_strategy(self, strategy: Strategy) -> Self {
        JetDefinition { strategy, ..self }
    }

    /// The search strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }
}

impl fmt::Display for JetDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} R = {}", self.algorithm, self.radius)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dual;

    #[test]
    fn radius_is_validated() {
        for r in [0.0, -0.4, f64::NAN, f64::INFINITY, 1e-6, 2e5, 1e200] {
            assert!(JetDefinition::new(Algorithm::Kt, r).is_err(), "R = {r}");
        }
        assert!(JetDefinition::new(Algorithm::Kt, MIN_RADIUS).is_ok());
        assert!(JetDefinition::new(Algorithm::Kt, MAX_RADIUS).is_ok());
        let d = JetDefinition::new(Algorithm::CambridgeAachen, 1.2).unwrap();
        assert_eq!(
            (d.algorithm(), d.radius()),
            (Algorithm::CambridgeAachen, 1.2)
        );
    }

    #[test]
    fn names_round_trip() {
        for a in [Algorithm::Kt, Algorithm::CambridgeAachen, Algorithm::AntiKt] {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
        }
        assert_eq!("Anti-kT".parse::<Algorithm>().unwrap(), Algorithm::AntiKt);
        assert!("siscone".parse::<Algorithm>().is_err());
    }

    #[test]
    fn distances() {
        let a = FourMomentum::new(3.0, 4.0, 0.0, 5.0);
        let b = FourMomentum::new(4.0, 3.0, 0.0, 5.0);
        let dr2 = a.delta_r2(&b);
        assert_eq!(Algorithm::AntiKt.beam_distance(&a), 1.0 / 25.0);
        assert_eq!(Algorithm::Kt.beam_distance(&a), 25.0);
        assert_eq!(Algorithm::CambridgeAachen.beam_distance(&a), 1.0);
        let d = Algorithm::AntiKt.pair_distance(&a, &b, 0.5);
        assert!((d - dr2 / 25.0 / 0.25).abs() < 1e-15);
        assert_eq!(Algorithm::AntiKt.scale(0.0), 1e300);
        // d/dR of d_ij = −2 d_ij / R.
        let ad = FourMomentum::<Dual<1>>::from_f64(a);
        let bd = FourMomentum::<Dual<1>>::from_f64(b);
        let dd = Algorithm::Kt.pair_distance(&ad, &bd, Dual::variable(0.5, 0));
        assert!((dd.tangent[0] + 2.0 * dd.value / 0.5).abs() < 1e-12);
    }
}
