//! The kinematics branch in every world (issue 6, point 3): an alternative world of a stochastic
//! triple may cross φ = 0, pz = 0, Δφ = π, m² = 0 or pt² = 10⁻³⁰⁰ where the primal does not, and
//! must still get the value of the `f64` function at its own inputs, not the primal's branch.
//!
//! Each world test draws a coin k ~ Bernoulli(θ) as a triple in many runs, builds the inputs from
//! it, and checks in every run that the output's alternative world is the `f64` function of the
//! inputs' alternative values, and that some run's world really crosses the branch point. The
//! triple stores an alternative as its difference Δ to the primal, and `world_values` returns
//! primal + Δ, so the comparison is with primal + (f(alternative inputs) − primal), bit for bit
//! (to rounding for a chain of several operations, each of which stores its own Δ).
//! The statistical tests compare derivative estimates of E[φ] and E[y] across such crossings with
//! the exact oracle.

mod common;

use std::f64::consts::{PI, TAU};

use common::assert_close;
use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::momentum::delta_r2_from;
use stochad::jets::observables::{reconstruct_mh, DijetSelection};
use stochad::jets::FourMomentum;
use stochad::sample::bernoulli;
use stochad::{exact, propagate, AllWorldsTriple, Result, Scalar, Triple};

/// Runs per world test: enough for both coin outcomes and their jumps to occur.
const RUNS: u64 = 64;
const THETA: f64 = 0.4;

/// The value a triple's world holds when the function's value there is `alt`.
fn stored(primal: f64, alt: f64) -> f64 {
    primal + (alt - primal)
}

/// The value of `x` in the one alternative world of a single coin (its primal without one).
fn alt(x: &Triple) -> f64 {
    let v = x.world_values();
    assert!(v.len() <= 2, "one coin, at most one world: {v:?}");
    v.get(1).copied().unwrap_or(v[0])
}

/// In runs 0..2·RUNS: k ~ Bernoulli(θ) or Bernoulli(1 − θ) as a triple, inputs `build(k)`,
/// output `f(inputs)`. Checks that the output's primal is `reference` of the primal inputs and
/// its alternative world `reference` of the alternative inputs, bit for bit; returns the
/// (primal, alternative) inputs of the runs that had a world.
fn check_worlds<const K: usize>(
    what: &str,
    build: impl Fn(Triple) -> [Triple; K],
    f: impl Fn([Triple; K]) -> Triple,
    reference: impl Fn([f64; K]) -> f64,
) -> Vec<([f64; K], [f64; K])> {
    check_worlds_within(what, 0.0, build, f, reference)
}

/// [`check_worlds`] for a chain of several operations, whose alternative world picks up a
/// rounding error per step (each step stores its world as a difference to its primal): equal
/// to `tol` relative.
fn check_worlds_within<const K: usize>(
    what: &str,
    tol: f64,
    build: impl Fn(Triple) -> [Triple; K],
    f: impl Fn([Triple; K]) -> Triple,
    reference: impl Fn([f64; K]) -> f64,
) -> Vec<([f64; K], [f64; K])> {
    let mut worlds = Vec::new();
    for run in 0..2 * RUNS {
        stochad::with_run(11, run, || {
            // A coin whose probability grows with θ jumps 0 → 1; one whose probability falls,
            // 1 → 0: half the runs each, so worlds cross both ways.
            let t = Triple::variable(THETA, 0);
            let k = bernoulli(if run % 2 == 0 { t } else { 1.0 - t }).unwrap();
            let inputs = build(k);
            let out = f(inputs);
            let primal = inputs.map(|x| x.value);
            let alternative = inputs.map(|x| alt(&x));
            let want = reference(primal);
            assert_eq!(
                out.value.to_bits(),
                want.to_bits(),
                "{what}: primal {} vs {want} at {primal:?}",
                out.value
            );
            let want_alt = stored(out.value, reference(alternative));
            let got_alt = alt(&out);
            assert!(
                got_alt.to_bits() == want_alt.to_bits()
                    || (got_alt - want_alt).abs() <= tol * want_alt.abs(),
                "{what}: alternative world {got_alt} vs {want_alt} at {alternative:?} \
                 (primal {} at {primal:?})",
                out.value
            );
            if alternative != primal {
                worlds.push((primal, alternative));
            }
        });
    }
    worlds
}

fn momentum(c: [Triple; 4]) -> FourMomentum<Triple> {
    FourMomentum::new(c[0], c[1], c[2], c[3])
}

fn momentum_f64(c: [f64; 4]) -> FourMomentum {
    FourMomentum::new(c[0], c[1], c[2], c[3])
}

fn c(x: f64) -> Triple {
    Triple::from(x)
}

#[test]
fn phi_wraps_in_each_world() {
    // py goes from +0.01 to −0.01 (or back): φ from 0.01 to 2π − 0.01.
    let worlds = check_worlds(
        "phi across 0",
        |k| [c(1.0), c(0.01) - k * 0.02, c(0.0), c(2.0)],
        |p| momentum(p).phi(),
        |p| momentum_f64(p).phi(),
    );
    assert!(
        worlds.iter().any(|(p, a)| p[1] > 0.0 && a[1] < 0.0),
        "no world crossed φ = 0 from above"
    );
    assert!(
        worlds.iter().any(|(p, a)| p[1] < 0.0 && a[1] > 0.0),
        "no world crossed φ = 0 from below"
    );
    // A tiny negative py in the world: atan2 + 2π rounds to 2π, which folds to 0.
    let worlds = check_worlds(
        "phi at 2π",
        |k| [c(1.0), c(1e-300) - k * 2e-300, c(0.0), c(2.0)],
        |p| momentum(p).phi(),
        |p| momentum_f64(p).phi(),
    );
    assert!(worlds.iter().any(|(_, a)| a[1] < 0.0));
    assert_eq!(momentum_f64([1.0, -1e-300, 0.0, 2.0]).phi(), 0.0);
    // pt² = 0 in the world (px −1 → 0, py = −0): φ = 0 there, not atan2(−0, 0) + 2π.
    let worlds = check_worlds(
        "phi at pt = 0",
        |k| [c(-1.0) + k, c(-0.0), c(0.0), c(2.0)],
        |p| momentum(p).phi(),
        |p| momentum_f64(p).phi(),
    );
    assert!(worlds.iter().any(|(_, a)| a[0] == 0.0));
}

#[test]
fn rapidity_sign_follows_each_worlds_pz() {
    // pz from 0.5 to −0.7 (or back): y changes sign.
    let worlds = check_worlds(
        "rapidity across pz = 0",
        |k| [c(1.0), c(0.5), c(0.5) - k * 1.2, c(3.0)],
        |p| momentum(p).rapidity(),
        |p| momentum_f64(p).rapidity(),
    );
    assert!(worlds.iter().any(|(p, a)| p[2] > 0.0 && a[2] < 0.0));
    assert!(worlds.iter().any(|(p, a)| p[2] < 0.0 && a[2] > 0.0));
    // pt → 0 with E = |pz| in the world: FastJet's ±(10⁵ + |pz|) there.
    let worlds = check_worlds(
        "rapidity along the beam",
        |k| [c(1.0) - k, c(0.0), c(-5.0), c(5.0)],
        |p| momentum(p).rapidity(),
        |p| momentum_f64(p).rapidity(),
    );
    assert!(worlds.iter().any(|(_, a)| a[0] == 0.0));
    assert_eq!(momentum_f64([0.0, 0.0, -5.0, 5.0]).rapidity(), -(1e5 + 5.0));
}

#[test]
fn pseudorapidity_follows_each_worlds_direction() {
    let worlds = check_worlds(
        "pseudorapidity across pz = 0",
        |k| [c(1.0), c(0.0), c(0.5) - k, c(3.0)],
        |p| momentum(p).pseudorapidity(),
        |p| momentum_f64(p).pseudorapidity(),
    );
    assert!(worlds.iter().any(|(p, a)| p[2] > 0.0 && a[2] < 0.0));
    let worlds = check_worlds(
        "pseudorapidity along the beam",
        |k| [c(1.0) - k, c(0.0), c(3.0), c(4.0)],
        |p| momentum(p).pseudorapidity(),
        |p| momentum_f64(p).pseudorapidity(),
    );
    assert!(worlds.iter().any(|(_, a)| a[0] == 0.0));
}

#[test]
fn mass_sign_follows_each_worlds_m2() {
    // m² = 4 − px²: 3 at px = 1, −5 at px = 3.
    let worlds = check_worlds(
        "mass across m² = 0",
        |k| [c(1.0) + k * 2.0, c(0.0), c(0.0), c(2.0)],
        |p| momentum(p).mass(),
        |p| momentum_f64(p).mass(),
    );
    assert!(worlds.iter().any(|(p, a)| p[0] == 1.0 && a[0] == 3.0));
    assert!(worlds.iter().any(|(p, a)| p[0] == 3.0 && a[0] == 1.0));
}

#[test]
fn delta_phi_folds_in_each_world() {
    // Δφ from 3.0 to 3.5 (or back): folded to 2π − 3.5 above π.
    let worlds = check_worlds(
        "Δφ across π",
        |k| [c(0.25), c(3.0) + k * 0.5, c(-0.5), c(0.0)],
        |[ya, pa, yb, pb]| delta_r2_from(ya, pa, yb, pb),
        |[ya, pa, yb, pb]| delta_r2_from(ya, pa, yb, pb),
    );
    assert!(worlds.iter().any(|(p, a)| p[1] < PI && a[1] > PI));
    assert!(worlds.iter().any(|(p, a)| p[1] > PI && a[1] < PI));
    // And through two momenta whose azimuths straddle φ = 0 in one world only.
    let worlds = check_worlds_within(
        "ΔR² of momenta",
        1e-14,
        |k| [c(1.0), c(0.2) - k * 0.4, c(0.0), c(2.0)],
        |p| {
            let other = FourMomentum::from_f64(momentum_f64([1.0, 0.3, 0.5, 2.0]));
            momentum(p).delta_r2(&other)
        },
        |p| momentum_f64(p).delta_r2(&momentum_f64([1.0, 0.3, 0.5, 2.0])),
    );
    assert!(!worlds.is_empty());
}

#[test]
fn antikt_scale_tests_pt2_in_each_world() {
    let worlds = check_worlds(
        "anti-kT scale across pt² = 1e-300",
        |k| [c(1.0) - k, c(0.0), c(0.0), c(1.0)],
        |p| Algorithm::AntiKt.scale(momentum(p).pt2()),
        |p| Algorithm::AntiKt.scale(momentum_f64(p).pt2()),
    );
    assert!(worlds.iter().any(|(p, a)| p[0] == 1.0 && a[0] == 0.0));
    assert!(worlds.iter().any(|(p, a)| p[0] == 0.0 && a[0] == 1.0));
    check_worlds(
        "anti-kT beam distance",
        |k| [c(1.0) - k, c(0.0), c(0.0), c(1.0)],
        |p| Algorithm::AntiKt.beam_distance(&momentum(p)),
        |p| Algorithm::AntiKt.beam_distance(&momentum_f64(p)),
    );
}

#[test]
fn selection_indicator_decides_in_each_world() {
    let sel = DijetSelection::new(20.0, 2.5).unwrap();
    // pt 30 → 10: fails the pt cut in the world; pz 10 → 200 (y ≈ 0.05 → 2.54): fails the
    // rapidity cut.
    let worlds = check_worlds(
        "acceptance (pt)",
        |k| [c(30.0) - k * 20.0, c(0.0), c(10.0), c(40.0)],
        |p| sel.acceptance(&momentum(p)),
        |p| sel.acceptance(&momentum_f64(p)),
    );
    assert!(worlds.iter().any(|(p, a)| p[0] == 30.0 && a[0] == 10.0));
    let worlds = check_worlds(
        "acceptance (rapidity)",
        |k| [c(30.0), c(0.0), c(10.0) + k * 190.0, c(202.5)],
        |p| sel.acceptance(&momentum(p)),
        |p| sel.acceptance(&momentum_f64(p)),
    );
    assert!(worlds
        .iter()
        .any(|(p, a)| sel.accepts(&momentum_f64(*p)) != sel.accepts(&momentum_f64(*a))));
}

/// m_jj of two hard jets and a third particle (0, py, 0, |py|), anti-kT R = 0.4; 0 without two
/// selected jets.
fn mjj<S: Scalar>(py: S) -> Result<S> {
    let def = JetDefinition::new(Algorithm::AntiKt, 0.4)?;
    let particles = vec![
        FourMomentum::from_f64(momentum_f64([50.0, 0.0, 0.0, 50.0])),
        FourMomentum::from_f64(momentum_f64([-40.0, 1.0, 0.0, 1601f64.sqrt()])),
        FourMomentum::new(S::zero(), py, S::zero(), py.abs()),
    ];
    let m = reconstruct_mh(&particles, &def, &DijetSelection::default())?;
    Ok(m.mass().unwrap_or(S::zero()))
}

/// The jet selection and the choice of the leading pair are primal decisions (documented): in
/// the world where the third particle becomes a leading jet, `dijet_mass` keeps the primal's
/// pair. Inside `propagate` every world decides for itself.
#[test]
fn dijet_mass_decides_on_the_primal_unless_propagated() {
    let build = |k: Triple| [k * -35.0 - 10.0]; // py = −10 (below 20 GeV) or −45 (leading)
    let worlds = check_worlds(
        "m_jj through propagate",
        build,
        |[py]| propagate(mjj::<Triple>, py).unwrap(),
        |[py]| mjj(py).unwrap(),
    );
    assert!(worlds.iter().any(|(p, a)| p[0] == -10.0 && a[0] == -45.0));
    // Without propagate the world where the third particle leads keeps m(a, b).
    let (m_ab, m_ac) = (mjj(-10.0).unwrap(), mjj(-45.0).unwrap());
    let mut seen = false;
    for run in 0..2 * RUNS {
        stochad::with_run(11, run, || {
            let [py] = build(bernoulli(Triple::variable(THETA, 0)).unwrap());
            let m = mjj(py).unwrap();
            if py.value == -10.0 && alt(&py) == -45.0 {
                seen = true;
                assert_eq!((m.value, alt(&m)), (m_ab, m_ab), "not {m_ac}");
            }
        });
    }
    assert!(seen);
}

/// The all-worlds backend keeps one world per coin: each world of a rapidity is the `f64` rapidity of
/// that world's momentum.
#[test]
fn exact_backend_worlds_are_each_evaluated() {
    let mut crossed = 0;
    for run in 0..RUNS {
        stochad::with_run(5, run, || {
            let t = AllWorldsTriple::<1>::variable(THETA, 0);
            let (k1, k2) = (bernoulli(t).unwrap(), bernoulli(t).unwrap());
            // k1 moves pz across 0, k2 moves pt to 0 with E = |pz| (FastJet's beam convention).
            let px = AllWorldsTriple::from(1.0) - k2;
            let pz = k1 * -1.0 + 0.5;
            let e = AllWorldsTriple::from(0.5);
            let p = FourMomentum::new(px, AllWorldsTriple::from(0.0), pz, e);
            let y = p.rapidity();
            let (px0, pz0) = (px.value, pz.value);
            let rap = |px: f64, pz: f64| momentum_f64([px, 0.0, pz, 0.5]).rapidity();
            assert_eq!(y.value, rap(px0, pz0));
            let alts = |x: &AllWorldsTriple| x.world_values()[1..].to_vec();
            let mut want: Vec<f64> = alts(&pz)
                .into_iter()
                .map(|pz| rap(px0, pz))
                .chain(alts(&px).into_iter().map(|px| rap(px, pz0)))
                .map(|a| stored(y.value, a))
                .filter(|&a| a != y.value)
                .collect();
            let mut got = alts(&y);
            want.sort_by(f64::total_cmp);
            got.sort_by(f64::total_cmp);
            assert_eq!(got, want, "worlds of y at px = {px0}, pz = {pz0}");
            crossed += alts(&pz)
                .iter()
                .filter(|&&a| (a > 0.0) != (pz0 > 0.0))
                .count();
        });
    }
    assert!(crossed > 0);
}

/// φ of (1, θ − 0.6k): for k = 1 the momentum is below the x axis, φ ≈ 2π − 0.3.
fn phi_program<S: Scalar>(t: S) -> Result<S> {
    let k = bernoulli(t)?;
    let p = FourMomentum::new(S::one(), t - k * 0.6, S::zero(), S::from(2.0));
    Ok(p.phi())
}

/// y of a momentum whose pz crosses 0 with one coin and whose energy another coin raises.
fn rapidity_program<S: Scalar>(t: S) -> Result<S> {
    let (k1, k2) = (bernoulli(t)?, bernoulli(t * 0.5)?);
    let pz = t * 2.0 - k1 * 1.5;
    let p = FourMomentum::new(S::one(), S::from(0.5), pz, k2 + 3.0);
    Ok(p.rapidity())
}

#[test]
fn phi_derivative_across_the_wrap_is_unbiased() {
    let theta = 0.3;
    let exact = exact::derivative(phi_program, theta).unwrap().gradient[0];
    // E[φ] = (1 − θ)·atan θ + θ·(2π − atan(0.6 − θ)): the jump of ≈ 2π dominates.
    let atan_d = |y: f64| 1.0 / (1.0 + y * y);
    let analytic = -theta.atan()
        + (1.0 - theta) * atan_d(theta)
        + (TAU - (0.6 - theta).atan())
        + theta * atan_d(0.6 - theta);
    assert!((exact - analytic).abs() < 1e-12, "{exact} vs {analytic}");
    let d = stochad::derivative(phi_program)
        .at(theta)
        .samples(20_000)
        .seed(3)
        .estimate()
        .unwrap();
    assert_close("dE[φ]/dθ", d.mean, d.stderr, exact);
    assert!(5.0 * d.stderr < 0.05 * exact.abs(), "{d:?} vs {exact}");
}

#[test]
fn rapidity_derivative_across_pz_zero_is_unbiased() {
    let theta = 0.35;
    let exact = exact::derivative(rapidity_program, theta).unwrap().gradient[0];
    let d = stochad::derivative(rapidity_program)
        .at(theta)
        .samples(160_000)
        .seed(4)
        .estimate()
        .unwrap();
    assert_close("dE[y]/dθ", d.mean, d.stderr, exact);
    assert!(5.0 * d.stderr < 0.05 * exact.abs(), "{d:?} vs {exact}");
}

/// Rapidity and pseudorapidity of momenta with known values, in both hemispheres: the
/// clustering is symmetric under y → −y, so only absolute values like these can see a sign
/// error. (3, 4, ±12, 13) is massless with y = η = ±ln 5; (1, 2, ±2, 4) is massive with
/// y = ±½ ln 3 and η = ±atanh(2/3) = ±½ ln 5.
#[test]
fn rapidity_of_known_momenta_in_both_hemispheres() {
    for sign in [1.0, -1.0] {
        let massless = FourMomentum::new(3.0, 4.0, 12.0 * sign, 13.0);
        let massive = FourMomentum::new(1.0, 2.0, 2.0 * sign, 4.0);
        let close = |got: f64, want: f64| (got - want).abs() < 1e-14;
        assert!(close(massless.rapidity(), sign * 5f64.ln()), "{massless:?}");
        assert!(close(massless.pseudorapidity(), sign * 5f64.ln()));
        assert!(
            close(massive.rapidity(), sign * 0.5 * 3f64.ln()),
            "{massive:?}"
        );
        assert!(close(massive.pseudorapidity(), sign * 0.5 * 5f64.ln()));
        // dy/dpz at fixed E, px, py is E/(E² − pz²): 4/12 for the massive one, either sign.
        let d = FourMomentum::new(
            stochad::Dual::<1>::from(1.0),
            stochad::Dual::from(2.0),
            stochad::Dual::variable(2.0 * sign, 0),
            stochad::Dual::from(4.0),
        )
        .rapidity();
        assert!(close(d.value, sign * 0.5 * 3f64.ln()) && close(d.tangent[0], 1.0 / 3.0));
        // A world in the other hemisphere: pz = 2·sign − 4·sign·k, so k = 1 mirrors it.
        let mut crossed = 0;
        for i in 0..RUNS {
            stochad::with_run(50, i, || -> Result<()> {
                let k = bernoulli(Triple::variable(THETA, 0))?;
                let pz = Triple::from(2.0 * sign) - k * (4.0 * sign);
                let y = FourMomentum::new(c(1.0), c(2.0), pz, c(4.0)).rapidity();
                let primal = sign * 0.5 * 3f64.ln() * (1.0 - 2.0 * k.value());
                assert!(close(y.value(), primal), "{y:?}");
                for w in y.worlds() {
                    assert!(close(y.value_in(w), -primal), "{y:?}");
                    crossed += 1;
                }
                Ok(())
            })
            .unwrap();
        }
        assert!(crossed > 0);
    }
}
