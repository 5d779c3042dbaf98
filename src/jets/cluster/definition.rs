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

/// How the nearest neighbours are searched. All strategies give the same jets and the same
/// four-momenta (FastJet's, bit for bit). The heap-based ones follow FastJet's strategies of the
/// same name step by step, so even exact ties between distances resolve as there; the plain and
/// tiled searches resolve ties as FastJet's `N2Plain` (real events have no such ties).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// The fastest for the event's size, radius and algorithm: see [`Strategy::best_for`].
    #[default]
    Best,
    /// FastJet's `N2Plain`, step by step (ties resolve exactly as there). O(N²).
    N2Plain,
    /// Nearest neighbours searched in tiles of size ≥ R around each object; the smallest
    /// distance by a scan of all candidates. O(N²) with a small constant.
    N2Tiled,
    /// FastJet's `N2MinHeapTiled`: tiles of size ≥ R and a heap of the d_iJ, so a step costs
    /// O(ρR² + log N) (ρ the density of objects). Memory linear in N.
    N2MinHeapTiled,
    /// FastJet's `N2MHTLazy9`: as [`Strategy::N2MinHeapTiled`], but each tile remembers the
    /// largest neighbour distance of its objects, so tiles that cannot be affected by a step are
    /// skipped. Memory linear in N.
    N2MHTLazy9,
    /// FastJet's `N2MHTLazy25`: as [`Strategy::N2MHTLazy9`] with tiles of size ≥ R/2 and 5 × 5
    /// neighbourhoods, which hug the circle ΔR < R more closely: the fastest for tens of
    /// thousands of particles, and from a few thousand at large R. Memory linear in N.
    N2MHTLazy25,
}

impl Strategy {
    /// The number of particles from which `Best` uses the tiled search at radius `r`: 75 up to
    /// R = 0.4, 100 more per unit of R above (fewer, larger tiles help less). Measured
    /// crossovers on the default sample: ~75 particles at R = 0.4, ~130 at R = 1.0.
    pub fn tiled_from(r: f64) -> usize {
        (75.0 + 100.0 * (r - 0.4).max(0.0)).min(1e9) as usize
    }

    /// The number of particles from which `Best` uses a heap-based strategy at radius `r`
    /// instead of [`Strategy::N2Tiled`] (see [`Strategy::best_for`]).
    pub fn heap_from(r: f64) -> usize {
        let r = r.max(0.1);
        (HEAP_FROM_AT_04 * (r / 0.4).powf(HEAP_FROM_EXPONENT)).min(1e9) as usize
    }

    /// The strategy `Best` runs for `n` particles, `algorithm` and radius `r`:
    /// [`Strategy::N2Plain`] below [`Strategy::tiled_from`], [`Strategy::N2Tiled`] below
    /// [`Strategy::heap_from`], then FastJet's own choice between the heap-based strategies:
    /// [`Strategy::N2MinHeapTiled`] for R < 0.65 while ln N < 0.677807 R² − 1.05006 R + 10.6994
    /// (N ≲ 32 000 at R = 0.4), else [`Strategy::N2MHTLazy9`] (FastJet switches to `N2MHTLazy25`
    /// only beyond ~10⁵ particles, or from 700–1000 particles at R > π/2, and we use Lazy9
    /// there). How the first two thresholds were measured is in the README (issue 9).
    pub fn best_for(n: usize, algorithm: Algorithm, r: f64) -> Strategy {
        let _ = algorithm; // FastJet's switches below Lazy25 do not depend on it.
        if n < Strategy::tiled_from(r) {
            return Strategy::N2Plain;
        }
        if n < Strategy::heap_from(r) {
            return Strategy::N2Tiled;
        }
        let bounded_r = r.max(0.1);
        if bounded_r < 0.65 {
            let ln_n = (n as f64).ln();
            let to_lazy = 0.677807 * bounded_r * bounded_r - 1.05006 * bounded_r + 10.6994;
            if ln_n < to_lazy {
                return Strategy::N2MinHeapTiled;
            }
        }
        Strategy::N2MHTLazy9
    }

    /// The name used on command lines and in bench ids: `best`, `plain`, `tiled`, `minheap`,
    /// `lazy9`, `lazy25`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Best => "best",
            Strategy::N2Plain => "plain",
            Strategy::N2Tiled => "tiled",
            Strategy::N2MinHeapTiled => "minheap",
            Strategy::N2MHTLazy9 => "lazy9",
            Strategy::N2MHTLazy25 => "lazy25",
        }
    }
}

impl FromStr for Strategy {
    type Err = Error;

    /// Parses the names of [`Strategy::name`] and FastJet's (`N2Plain`, `N2Tiled`,
    /// `N2MinHeapTiled`, `N2MHTLazy9`, `N2MHTLazy25`), any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "best" => Ok(Strategy::Best),
            "plain" | "n2plain" => Ok(Strategy::N2Plain),
            "tiled" | "n2tiled" => Ok(Strategy::N2Tiled),
            "minheap" | "n2minheaptiled" => Ok(Strategy::N2MinHeapTiled),
            "lazy9" | "n2mhtlazy9" => Ok(Strategy::N2MHTLazy9),
            "lazy25" | "n2mhtlazy25" => Ok(Strategy::N2MHTLazy25),
            _ => Err(Error::config(format!(
                "unknown clustering strategy `{s}`: expected best, plain, tiled, minheap, lazy9 or lazy25"
            ))),
        }
    }
}

/// [`Strategy::heap_from`] at R = 0.4, and how it grows with R (measured, see the README).
const HEAP_FROM_AT_04: f64 = 400.0;
const HEAP_FROM_EXPONENT: f64 = 1.0;

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
