//! The jet definition: which member of the generalised-kT family, and the radius.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::jets::error::invalid_input;
use crate::jets::momentum::{delta_r2_from, FourMomentum};
use crate::jets::JetError;
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
            _ => Err(invalid_input(format!(
                "unknown jet algorithm `{s}`: expected antikt, kt or cambridge"
            ))),
        }
    }
}

/// How the nearest neighbours are searched. All strategies give the same jets and the same
/// four-momenta (FastJet's, bit for bit). [`Strategy::N2Plain`] and the heap-based ones follow
/// FastJet's strategies of the same name step by step, so even exact ties between distances
/// resolve as there; [`Strategy::N2Tiled`] breaks exact ties its own way (real events have none).
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

    /// The strategy FastJet 3.5.2's `Best` picks for `n` particles, `algorithm` and radius `r`
    /// (its `ClusterSequence::_best_strategy`, with FastJet's `NlnN` strategies, used beyond
    /// ~10⁵ particles, mapped to [`Strategy::N2MHTLazy25`], the fastest we have there).
    ///
    /// FastJet's switch points were fitted by its authors to timings of its strategies: N2Plain
    /// up to 30 particles or 39/(R + 0.6); then, for R < 0.65, N2Tiled while N < 44.6283 ·
    /// (1 + 54.3528 R − 45.4947 R²), N2MinHeapTiled while ln N < 10.6994 · (1 − 1.05006 R +
    /// 0.677807 R²); for 0.65 ≤ R < π/2, N2Tiled while ln N < 7.29621 − 1.31304 R; after that
    /// N2MHTLazy9 while ln N < 12.1572 · (1 − 0.512589 R + 0.169967 R²) for anti-kT (12.3373 ·
    /// (1 − 0.484612 R + 0.16237 R²) for kT and C/A), else N2MHTLazy25; for R ≥ π/2, N2Plain below
    /// 75 particles, N2MHTLazy9 below 700 (anti-kT) or 1000 (kT, C/A), then N2MHTLazy25 (R
    /// bounded below by 0.1 throughout). At R = 0.4 that is: N2Tiled from 40 particles,
    /// N2MinHeapTiled from 691, N2MHTLazy9 from 1581, N2MHTLazy25 from 21 920 (anti-kT); at
    /// R = 1.0: N2Tiled from 31, N2MHTLazy9 from 397, N2MHTLazy25 from 2957. These are the
    /// switch points the compiled FastJet 3.5.2 library reports (checked with a probe of its
    /// `_best_strategy` over N for R = 0.1 … 2.0; see `fastjet_choice_matches_the_library`).
    pub fn fastjet_best(n: usize, algorithm: Algorithm, r: f64) -> Strategy {
        use Strategy::{N2MHTLazy25, N2MHTLazy9, N2MinHeapTiled, N2Plain, N2Tiled};
        let nf = n as f64;
        let br = r.max(0.1);
        if n <= 30 || nf <= 39.0 / (br + 0.6) {
            return N2Plain;
        }
        let parabola = |(a, b, c): (f64, f64, f64)| c * (a * br * br + b * br + 1.0);
        let to_lazy25 = match algorithm {
            Algorithm::AntiKt => (0.169967, -0.512589, 12.1572),
            Algorithm::Kt | Algorithm::CambridgeAachen => (0.16237, -0.484612, 12.3373),
        };
        let ln_n = nf.ln();
        let lazy = if ln_n < parabola(to_lazy25) {
            N2MHTLazy9
        } else {
            N2MHTLazy25
        };
        if br < 0.65 {
            if nf < parabola((-45.4947, 54.3528, 44.6283)) {
                N2Tiled
            } else if ln_n < parabola((0.677807, -1.05006, 10.6994)) {
                N2MinHeapTiled
            } else {
                lazy
            }
        } else if br < 0.5 * std::f64::consts::PI {
            if ln_n < -1.31304 * br + 7.29621 {
                N2Tiled
            } else {
                lazy
            }
        } else {
            let to_lazy25 = if algorithm == Algorithm::AntiKt {
                700.0
            } else {
                1000.0
            };
            if nf < 75.0 {
                N2Plain
            } else if nf < to_lazy25 {
                N2MHTLazy9
            } else {
                N2MHTLazy25
            }
        }
    }

    /// The strategy `Best` runs for `n` particles, `algorithm` and radius `r`: where FastJet's
    /// `Best` ([`Strategy::fastjet_best`]) runs a heap-based strategy, the same one (so even
    /// exact ties resolve as in FastJet); where it runs N2Plain or N2Tiled, ours:
    /// [`Strategy::N2Plain`] below [`Strategy::tiled_from`] particles, else
    /// [`Strategy::N2Tiled`]. Our heap strategies cost what FastJet's do, so FastJet's switch
    /// points hold for them; our tiled search is a little faster than FastJet's N2Tiled, and
    /// measured against our heap strategies it stays ahead up to about the same N (~700–1000 at
    /// R = 0.4, ~400–500 at R = 1.0; README, issue 9).
    pub fn best_for(n: usize, algorithm: Algorithm, r: f64) -> Strategy {
        match Strategy::fastjet_best(n, algorithm, r) {
            Strategy::N2Plain | Strategy::N2Tiled | Strategy::Best => {
                if n < Strategy::tiled_from(r) {
                    Strategy::N2Plain
                } else {
                    Strategy::N2Tiled
                }
            }
            heap => heap,
        }
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
            _ => Err(invalid_input(format!(
                "unknown clustering strategy `{s}`: expected best, plain, tiled, minheap, lazy9 or lazy25"
            ))),
        }
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
            return Err(JetError::InvalidParameter {
                what: "jet definition: radius R",
                value: radius,
                expected: "[1e-5, 1e5]",
            }
            .into());
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
    fn fastjet_choice_matches_the_library() {
        use Strategy::{N2MHTLazy25 as L25, N2MHTLazy9 as L9, N2MinHeapTiled as Mht};
        use Strategy::{N2Plain as Plain, N2Tiled as Tiled};
        // Where the strategy changes, as FastJet 3.5.2's compiled `_best_strategy` reports it
        // (N, strategy from N on), per algorithm and R; its NlnN strategies read as Lazy25.
        type Switches<'a> = &'a [(usize, Strategy)];
        let cases: [(Algorithm, f64, Switches); 8] = [
            (
                Algorithm::AntiKt,
                0.1,
                &[(56, Tiled), (267, Mht), (15498, L9), (104266, L25)],
            ),
            (
                Algorithm::AntiKt,
                0.4,
                &[(40, Tiled), (691, Mht), (1581, L9), (21920, L25)],
            ),
            (
                Algorithm::AntiKt,
                0.6,
                &[(33, Tiled), (770, L9), (9529, L25)],
            ),
            (
                Algorithm::AntiKt,
                1.0,
                &[(31, Tiled), (397, L9), (2957, L25)],
            ),
            (Algorithm::AntiKt, 2.0, &[(75, L9), (700, L25)]),
            (
                Algorithm::Kt,
                0.4,
                &[(40, Tiled), (691, Mht), (1581, L9), (28748, L25)],
            ),
            (Algorithm::Kt, 1.0, &[(31, Tiled), (397, L9), (4280, L25)]),
            (Algorithm::CambridgeAachen, 2.0, &[(75, L9), (1000, L25)]),
        ];
        for (alg, r, switches) in cases {
            let mut before = Plain;
            for &(n, s) in switches {
                assert_eq!(
                    Strategy::fastjet_best(n - 1, alg, r),
                    before,
                    "{alg} R = {r} N = {}",
                    n - 1
                );
                assert_eq!(
                    Strategy::fastjet_best(n, alg, r),
                    s,
                    "{alg} R = {r} N = {n}"
                );
                before = s;
            }
            assert_eq!(Strategy::fastjet_best(300_000, alg, r), L25);
        }
        // Best: ours below the heap strategies, FastJet's from there.
        assert_eq!(Strategy::best_for(50, Algorithm::AntiKt, 0.4), Plain);
        assert_eq!(Strategy::best_for(131, Algorithm::AntiKt, 0.4), Tiled);
        assert_eq!(Strategy::best_for(5000, Algorithm::AntiKt, 0.4), L9);
        assert_eq!(Strategy::best_for(30000, Algorithm::AntiKt, 1.0), L25);
        for s in [
            "best",
            "plain",
            "tiled",
            "minheap",
            "lazy9",
            "lazy25",
            "N2MHTLazy25",
        ] {
            let parsed: Strategy = s.parse().unwrap();
            assert_eq!(parsed.name().parse::<Strategy>().unwrap(), parsed);
        }
        assert!("nlnn".parse::<Strategy>().is_err());
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
