//! The discrete families: exact unbiasedness of their couplings, sampled jumps against the
//! expected ones, inversion against the probability mass, validation, and f64/dual agreement.

use proptest::prelude::*;
use stochad::context::Stream;
use stochad::sample::{
    bernoulli, binomial, categorical, categorical_by, categorical_logits, categorical_with,
    geometric, poisson, Bernoulli, Binomial, Categorical, Coupling, Family, Geometric, Poisson,
};
use stochad::{with_run, Dual, Error, Result, Scalar};

/// A named test function.
type TestFn = (&'static str, fn(f64) -> f64);

/// The test functions of the reference suite.
fn fs() -> [TestFn; 3] {
    [
        ("7x-3", |x| 7.0 * x - 3.0),
        ("(x+1)^2", |x| (x + 1.0) * (x + 1.0)),
        ("sqrt(x+1)", |x| (x + 1.0).sqrt()),
    ]
}

/// Outcomes to sum over: the support, cut deep enough to be exact at the test's precision.
fn outcomes<F: Family>(fam: &F, params: &[f64]) -> Vec<f64> {
    fam.support(params, 1e-18)
}

/// Checks `Σ_k p_k Σ_j rate_kj (f(j) − f(k)) = d/dθ Σ_k p_k(θ) f(k)` for every test function,
/// where the right side sums over `all` (which must include zero-probability outcomes that gain
/// mass).
fn coupling_identity<F: Family>(fam: &F, params: &[f64], tangents: &[f64], all: &[f64]) {
    let duals: Vec<Dual<1>> = params
        .iter()
        .zip(tangents)
        .map(|(&p, &t)| Dual::new(p, [t]))
        .collect();
    for (name, f) in fs() {
        let mut lhs = 0.0;
        for k in outcomes(fam, params) {
            let pk: f64 = fam.pmf(params, k);
            for j in fam.jump_rates(params, tangents, k) {
                // Signed couplings have negative rates too; none is zero or infinite.
                assert!(
                    j.weight != 0.0 && j.weight.is_finite(),
                    "{}: rate {j:?} from {k}",
                    fam.name()
                );
                lhs += pk * j.weight * (f(j.target) - f(k));
            }
        }
        let rhs: f64 = all
            .iter()
            .map(|&k| fam.pmf(&duals, k).tangent[0] * f(k))
            .sum();
        assert!(
            (lhs - rhs).abs() <= 1e-10 * (1.0 + rhs.abs()),
            "{} {params:?} δ = {tangents:?} through {name}: coupling gives {lhs}, derivative is {rhs}",
            fam.name()
        );
    }
}

fn scalar_identity<F: Family>(fam: &F, param: f64, tangent: f64) {
    let all = outcomes(fam, &[param]);
    coupling_identity(fam, &[param], &[tangent], &all);
}

fn categorical_identity(params: &[f64], tangents: &[f64]) {
    let all: Vec<f64> = (0..params.len()).map(|k| k as f64).collect();
    for coupling in [
        Coupling::Inversion,
        Coupling::Proportional,
        Coupling::ProportionalFan(3),
        Coupling::Signed,
        Coupling::SignedFan(4),
    ] {
        coupling_identity(
            &Categorical::with_coupling(coupling),
            params,
            tangents,
            &all,
        );
    }
}

/// Probabilities with some exact zeros, and tangents summing to zero that are non-negative on the
/// zero-probability categories (they can only gain mass).
fn categorical_case() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    prop::collection::vec((0.0..1.0f64, any::<bool>(), -1.0..1.0f64), 2..7).prop_filter_map(
        "needs a positive probability",
        |cells| {
            let w: Vec<f64> = cells
                .iter()
                .map(|&(x, zero, _)| if zero { 0.0 } else { x + 0.05 })
                .collect();
            let total: f64 = w.iter().sum();
            if total == 0.0 {
                return None;
            }
            let p: Vec<f64> = w.iter().map(|x| x / total).collect();
            let mut d: Vec<f64> = cells
                .iter()
                .zip(&p)
                .map(|(&(_, _, t), &pk)| if pk == 0.0 { t.abs() } else { t })
                .collect();
            let npos = p.iter().filter(|&&x| x > 0.0).count() as f64;
            let excess: f64 = d.iter().sum::<f64>() / npos;
            for (dk, &pk) in d.iter_mut().zip(&p) {
                if pk > 0.0 {
                    *dk -= excess;
                }
            }
            Some((p, d))
        },
    )
}

proptest! {
    // Bounded so a bug fails fast: 24 cases, at most 64 shrinking steps and 20 s of shrinking.
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 64,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn scalar_couplings_are_unbiased(p in 0.02..0.98f64, lambda in 0.1..60.0f64, d in -2.0..2.0f64) {
        scalar_identity(&Bernoulli, p, d);
        scalar_identity(&Binomial { n: 3 }, p, d);
        scalar_identity(&Binomial { n: 20 }, p, d);
        scalar_identity(&Geometric, p.max(0.1), d);
        scalar_identity(&Poisson, lambda, d);
    }

    #[test]
    fn categorical_couplings_are_unbiased((p, d) in categorical_case()) {
        categorical_identity(&p, &d);
        let neg: Vec<f64> = d.iter().map(|x| -x).collect();
        // Flipping every tangent is only valid where no zero-probability category would lose.
        if p.iter().zip(&d).all(|(&pk, &dk)| pk > 0.0 || dk == 0.0) {
            categorical_identity(&p, &neg);
        }
    }
}

#[test]
fn couplings_are_unbiased_at_fixed_points() {
    for d in [0.7, -0.7] {
        for p in [0.3, 0.8] {
            scalar_identity(&Bernoulli, p, d);
            scalar_identity(&Binomial { n: 3 }, p, d);
            scalar_identity(&Binomial { n: 20 }, p, d);
            scalar_identity(&Geometric, p, d);
        }
        scalar_identity(&Poisson, 3.5, d);
        scalar_identity(&Poisson, 900.0, d);
    }
    // Zero-probability categories gaining mass, on either side of every drawn category.
    categorical_identity(&[0.0, 0.3, 0.0, 0.0, 0.7], &[0.1, -0.3, 0.05, 0.0, 0.15]);
    categorical_identity(&[0.0, 0.3, 0.0, 0.0, 0.7], &[0.1, 0.3, 0.05, 0.2, -0.65]);
    categorical_identity(&[0.5, 0.0, 0.5], &[-0.2, 0.3, -0.1]);
    categorical_identity(&[0.2, 0.3, 0.5], &[0.1, -0.3, 0.2]);
    categorical_identity(&[0.2, 0.3, 0.5], &[-0.1, 0.3, -0.2]);
    // Unnormalised weights whose tangents do not sum to zero: the family normalises itself.
    categorical_identity(&[2.0, 0.0, 5.0, 1.0], &[0.4, 0.3, -1.0, 0.25]);
    categorical_identity(&[0.0, 7.0, 0.0, 3.0, 0.0], &[0.5, 2.0, 0.0, -1.0, 0.2]);
    categorical_identity(&[1e3, 2e3, 4e3], &[10.0, 30.0, 5.0]);
}

#[test]
fn inversion_jumps_go_to_neighbours_and_gainers() {
    let cat = Categorical::with_coupling(Coupling::Inversion);
    let p = [0.0, 0.3, 0.0, 0.0, 0.7];
    // Drawn 4 (p = 0.7, δ = 0.15 > 0): L = 0.15 > 0, the stretch lost on the left goes to the
    // zero-probability category 2 (δ = 0.05) and then to category 1.
    let d = [0.1, -0.3, 0.05, 0.0, 0.15];
    let targets: Vec<f64> = cat
        .jump_rates(&p, &d, 4.0)
        .iter()
        .map(|j| j.target)
        .collect();
    assert!(
        targets.is_empty(),
        "L = −0.15 < 0 and nothing right of 4: {targets:?}"
    );
    let rates = cat.jump_rates(&p, &d, 1.0);
    // Drawn 1: L = 0.1 → category 0 (zero probability, gaining 0.1); R = −0.2 → category 2
    // takes 0.05, category 4 the remaining 0.15.
    let want = [(0.0, 0.1 / 0.3), (2.0, 0.05 / 0.3), (4.0, 0.15 / 0.3)];
    assert_eq!(rates.len(), want.len(), "{rates:?}");
    for (r, (t, w)) in rates.iter().zip(want) {
        assert_eq!(r.target, t);
        assert!((r.weight - w).abs() < 1e-15, "{rates:?}");
    }
    // Tangents whose rounded sum is not exactly zero never push the ends outwards.
    let p = [0.1, 0.2, 0.7];
    let d = [0.1, 0.2, -0.3 + 1e-17];
    assert!(cat.jump_rates(&p, &d, 2.0).iter().all(|j| j.target < 2.0));
    assert!(cat
        .jump_rates(&p, &[-0.1 - 1e-17, 0.0, 0.1], 0.0)
        .iter()
        .all(|j| j.target > 0.0));
}

/// Mean and standard error of `Σ_jumps w · g(target)` over `n` samples of `jumps`.
fn sampled_jump_mean<F: Family>(
    fam: &F,
    p: &[f64],
    d: &[f64],
    k: f64,
    g: fn(f64) -> f64,
    n: usize,
) -> (f64, f64) {
    let mut stream = Stream::from_key(20_240_611);
    let (mut s, mut s2) = (0.0, 0.0);
    for _ in 0..n {
        let x: f64 = fam
            .jumps(p, d, k, &mut stream)
            .iter()
            .map(|j| j.weight * g(j.target))
            .sum();
        s += x;
        s2 += x * x;
    }
    let mean = s / n as f64;
    (
        mean,
        ((s2 / n as f64 - mean * mean).max(0.0) / n as f64).sqrt(),
    )
}

#[test]
fn sampled_jumps_match_rates_in_expectation() {
    let cases: [(&[f64], &[f64]); 3] = [
        (&[0.0, 0.3, 0.0, 0.0, 0.7], &[0.1, -0.3, 0.05, 0.0, 0.15]),
        (&[0.1, 0.2, 0.3, 0.4], &[0.2, -0.1, 0.15, -0.25]),
        (&[0.25, 0.25, 0.0, 0.5], &[-0.3, 0.1, 0.3, -0.1]),
    ];
    for coupling in [
        Coupling::Inversion,
        Coupling::Proportional,
        Coupling::ProportionalFan(3),
        Coupling::Signed,
        Coupling::SignedFan(4),
    ] {
        let cat = Categorical::with_coupling(coupling);
        for (p, d) in cases {
            for k in (0..p.len()).filter(|&k| p[k] > 0.0) {
                let k = k as f64;
                for (name, g) in fs() {
                    let want: f64 = cat
                        .jump_rates(p, d, k)
                        .iter()
                        .map(|j| j.weight * g(j.target))
                        .sum();
                    // The scale a 5 % error is measured against: the expected jump, except for
                    // the signed couplings, whose opposite jumps cancel by design (there: their
                    // effects without cancellation, and more samples).
                    let signed = matches!(coupling, Coupling::Signed | Coupling::SignedFan(_));
                    let (scale, n) = if signed {
                        let gross: f64 = cat
                            .jump_rates(p, d, k)
                            .iter()
                            .map(|j| (j.weight * g(j.target)).abs())
                            .sum();
                        (gross, 400_000)
                    } else {
                        (want.abs(), 100_000)
                    };
                    let (mean, se) = sampled_jump_mean(&cat, p, d, k, g, n);
                    // Power: an error of 5 % of the scale would fail (deterministic couplings
                    // have σ̂ = 0 and are compared to rounding).
                    assert!(
                        5.0 * se <= 0.05 * scale,
                        "{coupling:?} p = {p:?} k = {k} g = {name}: too weak, 5σ̂ = {} vs {scale}",
                        5.0 * se
                    );
                    assert!(
                        (mean - want).abs() <= 5.0 * se + 1e-10 * (1.0 + want.abs()),
                        "{coupling:?} p = {p:?} δ = {d:?} k = {k} g = {name}: {mean} ± {se} vs {want}"
                    );
                }
                let most = match coupling {
                    Coupling::ProportionalFan(m) => m as usize,
                    Coupling::SignedFan(m) => 2 * m as usize,
                    _ => 2,
                };
                assert!(cat.jumps(p, d, k, &mut Stream::from_key(1)).len() <= most);
            }
        }
    }
    // Deterministic couplings: the sampled jumps are the rates.
    let mut s = Stream::from_key(3);
    for k in 0..=3 {
        let k = k as f64;
        assert_eq!(
            Binomial { n: 3 }.jumps(&[0.4], &[-0.5], k, &mut s).to_vec(),
            Binomial { n: 3 }.jump_rates(&[0.4], &[-0.5], k)
        );
        assert_eq!(
            Geometric.jumps(&[0.4], &[0.5], k, &mut s).to_vec(),
            Geometric.jump_rates(&[0.4], &[0.5], k)
        );
        assert_eq!(
            Poisson.jumps(&[2.0], &[-0.5], k, &mut s).to_vec(),
            Poisson.jump_rates(&[2.0], &[-0.5], k)
        );
    }
}

/// Frequencies of `quantile(u)` over the grid `u = (i + ½)/m` against the probability mass: each
/// outcome's frequency is off by at most `2/m` from grid rounding.
fn inversion_matches_pmf<F: Family>(fam: &F, params: &[f64]) {
    let m = 100_000;
    let mut counts = std::collections::BTreeMap::<u64, usize>::new();
    let mut last = f64::NEG_INFINITY;
    for i in 0..m {
        let k = fam.quantile(params, (i as f64 + 0.5) / m as f64);
        assert!(k >= last, "{}: quantile not monotone", fam.name());
        last = k;
        *counts.entry(k as u64).or_default() += 1;
    }
    let mut total_pmf = 0.0;
    for (&k, &c) in &counts {
        let p: f64 = fam.pmf(params, k as f64);
        assert!(
            (c as f64 / m as f64 - p).abs() <= 2.0 / m as f64,
            "{} {params:?}: outcome {k} has frequency {} but pmf {p}",
            fam.name(),
            c as f64 / m as f64
        );
        total_pmf += p;
    }
    assert!(
        total_pmf > 1.0 - 2e-5 * counts.len() as f64,
        "{}: mass outside the sampled outcomes",
        fam.name()
    );
    // The largest uniform never runs past the support.
    let top = fam.quantile(params, 1.0 - f64::EPSILON / 2.0);
    assert!(
        top.is_finite() && fam.pmf(params, top) > 0.0,
        "{}: quantile(1⁻) = {top}",
        fam.name()
    );
}

#[test]
fn inversion_reproduces_the_mass() {
    for p in [0.03, 0.3, 0.75, 1.0] {
        inversion_matches_pmf(&Bernoulli, &[p]);
        inversion_matches_pmf(&Binomial { n: 3 }, &[p]);
        inversion_matches_pmf(&Binomial { n: 20 }, &[p]);
        inversion_matches_pmf(&Geometric, &[p]);
    }
    inversion_matches_pmf(&Binomial { n: 5000 }, &[0.4]);
    for lambda in [0.0, 0.7, 12.0, 1000.0] {
        inversion_matches_pmf(&Poisson, &[lambda]);
    }
    for coupling in [Coupling::Inversion, Coupling::Proportional] {
        inversion_matches_pmf(
            &Categorical::with_coupling(coupling),
            &[0.0, 0.3, 0.0, 0.0, 0.7],
        );
        inversion_matches_pmf(
            &Categorical::with_coupling(coupling),
            &[0.1, 0.2, 0.3, 0.4, 0.0],
        );
    }
    // Probabilities whose float sum is 1 − ε: the last category is still the one drawn at u → 1.
    let p = [0.1, 0.2, 0.7 - 1e-16, 0.0];
    assert_eq!(
        Categorical::default().quantile(&p, 1.0 - f64::EPSILON / 2.0),
        2.0
    );
}

#[test]
fn large_parameters_neither_underflow_nor_hang() {
    // e^−λ underflows for λ > 745; the draws must still be centred on λ.
    let k = with_run(1, 0, || poisson(1e5_f64)).unwrap();
    assert!((k - 1e5).abs() < 10.0 * 1e5_f64.sqrt(), "{k}");
    let k = with_run(1, 0, || binomial(1_000_000, 0.5_f64)).unwrap();
    assert!((k - 5e5).abs() < 10.0 * 500.0, "{k}");
    // A tiny success probability and u → 1 stay finite.
    assert!(Geometric
        .quantile(&[1e-300], 1.0 - f64::EPSILON / 2.0)
        .is_finite());
    let e = Poisson.pmf(&[Dual::<1>::new(1e5, [1.0])], 1e5);
    let direct = 1.0 / (std::f64::consts::TAU * 1e5).sqrt(); // Stirling, to O(1/λ)
    assert!(
        (e.value / direct - 1.0).abs() < 1e-5 && e.tangent[0].abs() < 1e-7,
        "{e:?}"
    );
}

fn is_param_err<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::InvalidParameter { .. }))
}

fn is_weight_err<T: std::fmt::Debug>(r: Result<T>) -> bool {
    matches!(r, Err(Error::InvalidWeights { .. }))
}

#[test]
fn bad_parameters_are_typed_errors() {
    with_run(0, 0, || {
        for p in [-0.1, 1.1, f64::NAN] {
            assert!(is_param_err(bernoulli(p)), "bernoulli({p})");
            assert!(is_param_err(binomial(4, p)), "binomial(4, {p})");
            assert!(is_param_err(geometric(p)), "geometric({p})");
        }
        assert!(is_param_err(geometric(0.0)));
        assert!(is_param_err(binomial(Binomial::MAX_N + 1, 0.5)));
        for l in [-1.0, f64::NAN, f64::INFINITY, 2.0 * Poisson::MAX_LAMBDA] {
            assert!(is_param_err(poisson(l)), "poisson({l})");
        }
        // Short lists and longer ones (the check reads four weights at a time, then the rest):
        // a bad weight inside the blocks of four, or beside them.
        let bad: [&[f64]; 10] = [
            &[],
            &[0.0, 0.0],
            &[-1.0, 2.0],
            &[f64::NAN, 1.0],
            &[f64::INFINITY, 1.0],
            &[1e308, 1e308],
            &[1.0, 1.0, 1.0, -1.0, 1.0],
            &[1.0, 2.0, -0.5, 1.0],
            &[1.0, 1.0, 1.0, 1.0, 1.0, f64::NEG_INFINITY],
            &[0.5, f64::NAN, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        ];
        for w in bad {
            assert!(is_weight_err(categorical(w)), "categorical({w:?})");
            assert!(
                is_weight_err(categorical_with(w, Coupling::Inversion)),
                "categorical({w:?})"
            );
        }
        let bad: [&[f64]; 4] = [
            &[],
            &[f64::NAN, 0.0],
            &[f64::INFINITY, 0.0],
            &[f64::NEG_INFINITY; 2],
        ];
        for l in bad {
            assert!(
                is_weight_err(categorical_logits(l)),
                "categorical_logits({l:?})"
            );
        }
    });
    // The family takes unnormalised weights: [0.5, 0.7] is p = [5/12, 7/12].
    let c = Categorical::default();
    assert!(c.validate(&[0.5, 0.7]).is_ok());
    // −0 is a weight of 0, in a block of four or not.
    assert!(c.validate(&[-0.0, 1.0, 1.0, 1.0, -0.0]).is_ok());
    assert!((c.pmf(&[0.5, 0.7], 1.0) - 7.0 / 12.0).abs() < 1e-15);
    assert_eq!(c.quantile(&[0.5, 0.7], 0.4), 0.0);
    assert_eq!(c.quantile(&[0.5, 0.7], 0.42), 1.0);
    assert!(matches!(
        c.validate(&[0.5, -0.7]),
        Err(Error::InvalidWeights { .. })
    ));
    assert!(matches!(
        bernoulli(0.5_f64),
        Err(Error::NoRunContext { .. })
    ));
}

/// A program using every sampler, with parameters that depend on θ and on earlier draws.
fn program<S: Scalar>(theta: S) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    let b = bernoulli(theta)?;
    let n = binomial(12, theta)?;
    let g = geometric(theta * 0.5 + 0.1)?;
    let k = poisson(theta * 4.0 + n)?;
    let c = categorical(&[theta, b + 0.5, theta * theta, S::from(0.0)])?;
    let c2 = categorical_with(&[theta, -theta + 1.0, g + 1.0], Coupling::Inversion)?;
    let l = categorical_logits(&[theta * 3.0, -theta, k / 10.0])?;
    out.extend([b, n, g, k, c, c2, l].iter().map(|x| x.value()));
    Ok(out)
}

#[test]
fn f64_and_dual_runs_take_the_same_path() {
    let mut distinct = std::collections::HashSet::new();
    for sample in 0..200 {
        let plain = with_run(42, sample, || program(0.35_f64)).unwrap();
        let dual = with_run(42, sample, || program(Dual::<2>::new(0.35, [1.0, -2.0]))).unwrap();
        assert_eq!(plain, dual, "sample {sample}");
        distinct.insert(format!("{plain:?}"));
    }
    assert!(
        distinct.len() > 150,
        "the program's outcomes barely vary: {}",
        distinct.len()
    );
}

/// The coupling asked for is the one used. p = (0.2, 0.3, 0.5) with δ = (0.1, 0, −0.1), drawn 2:
/// the inversion coupling moves the draw to its layout neighbour 1 (which takes over the stretch
/// the moving boundary uncovers), the proportional one to the only category that gains, 0.
#[test]
fn the_requested_coupling_is_used() {
    use stochad::Triple;
    let (p, d) = ([0.2, 0.3, 0.5], [0.1, 0.0, -0.1]);
    for (coupling, target) in [(Coupling::Inversion, 1.0), (Coupling::Proportional, 0.0)] {
        let fam = Categorical::with_coupling(coupling);
        assert_eq!(fam.coupling, coupling);
        let rates = fam.jump_rates(&p, &d, 2.0);
        assert_eq!(rates.len(), 1, "{coupling:?}: {rates:?}");
        assert_eq!(rates[0].target, target, "{coupling:?}");
        assert!(
            (rates[0].weight - 0.1 / 0.5).abs() < 1e-15,
            "{coupling:?}: {rates:?}"
        );
        // Through the samplers: every world opened from a primal 2 lands on `target`.
        let mut seen = 0;
        for i in 0..400 {
            let alts = with_run(60, i, || -> Result<Vec<f64>> {
                let w = [
                    Triple::new(0.2, [0.1]),
                    Triple::from(0.3),
                    Triple::new(0.5, [-0.1]),
                ];
                let by = Categorical {
                    coupling,
                    ..Default::default()
                };
                let mut alts = Vec::new();
                for k in [categorical_with(&w, coupling)?, categorical_by(&w, &by)?] {
                    if k.value() == 2.0 {
                        alts.extend(k.worlds().iter().map(|&wd| k.value_in(wd)));
                    }
                }
                Ok(alts)
            })
            .unwrap();
            assert!(alts.iter().all(|&a| a == target), "{coupling:?}: {alts:?}");
            seen += alts.len();
        }
        assert!(seen > 20, "{coupling:?}: only {seen} jumps from 2");
    }
}

#[test]
fn fanned_proportional_coupling_spreads_the_same_jump() {
    // p = (0.1, 0.2, 0.3, 0.4), δ = (0.2, −0.1, 0.15, −0.25): from k = 3 (δ < 0) the gain
    // goes to 0 and 2 in shares 4/7 and 3/7, total rate 0.25/0.4.
    let (p, d) = ([0.1, 0.2, 0.3, 0.4], [0.2, -0.1, 0.15, -0.25]);
    let rate = 0.25 / 0.4;
    for seed in 0..50 {
        // One target per part, each share ≥ 1/m guaranteed its floor of parts, repeats merged.
        let fan = Categorical::with_coupling(Coupling::ProportionalFan(7));
        let jumps = fan.jumps(&p, &d, 3.0, &mut Stream::from_key(seed));
        assert_eq!(jumps.len(), 2, "{jumps:?}");
        assert_eq!((jumps[0].target, jumps[1].target), (0.0, 2.0));
        assert!(
            (jumps[0].weight - rate * 4.0 / 7.0).abs() < 1e-12,
            "{jumps:?}"
        );
        assert!(
            (jumps[1].weight - rate * 3.0 / 7.0).abs() < 1e-12,
            "{jumps:?}"
        );
        // ProportionalFan(1) is Proportional, uniform for uniform.
        let one = Categorical::with_coupling(Coupling::ProportionalFan(1));
        let plain = Categorical::with_coupling(Coupling::Proportional);
        assert_eq!(
            one.jumps(&p, &d, 3.0, &mut Stream::from_key(seed)).to_vec(),
            plain
                .jumps(&p, &d, 3.0, &mut Stream::from_key(seed))
                .to_vec()
        );
    }
    // Zero targets: a typed error at the draw.
    let w = [1.0, 2.0];
    let r = with_run(1, 0, || categorical_with(&w, Coupling::ProportionalFan(0)));
    assert!(matches!(r, Err(Error::InvalidParameter { .. })), "{r:?}");
}

#[test]
fn fanned_signed_coupling_spreads_the_same_jumps() {
    // p = (0.1, 0.2, 0.3, 0.4), δ = (0.2, −0.1, 0.15, −0.25). From k = 3 the other categories
    // gain G = 0.35 (0 and 2, shares 4/7 and 3/7) and lose L = 0.1 (1 alone); from k = 0 they
    // gain 0.15 (2 alone) and lose 0.35 (1 and 3, shares 2/7 and 5/7). With m = 7 every share
    // is a whole number of parts, so every draw's jumps are the expected ones, δ_j to each j ≠ k.
    let (p, d) = ([0.1, 0.2, 0.3, 0.4], [0.2, -0.1, 0.15, -0.25]);
    let fan7 = Categorical::with_coupling(Coupling::SignedFan(7));
    for seed in 0..50 {
        for (k, want) in [
            (3.0, [(0.0, 0.2), (2.0, 0.15), (1.0, -0.1)]),
            (0.0, [(2.0, 0.15), (1.0, -0.1), (3.0, -0.25)]),
        ] {
            let jumps = fan7.jumps(&p, &d, k, &mut Stream::from_key(seed));
            assert_eq!(jumps.len(), 3, "k = {k}: {jumps:?}");
            for (j, (t, w)) in jumps.iter().zip(want) {
                assert_eq!(j.target, t, "k = {k}: {jumps:?}");
                assert!((j.weight - w).abs() < 1e-12, "k = {k}: {jumps:?}");
            }
        }
        // m = 4 from k = 3: 0 and 2 (shares ≥ 1/4) always both hit, with 2–3 and 1–2 of the
        // four parts of 0.35/4 (their floor or ceiling of 4 × share); 1 takes all of the loss.
        let fan4 = Categorical::with_coupling(Coupling::SignedFan(4));
        let jumps = fan4.jumps(&p, &d, 3.0, &mut Stream::from_key(seed));
        assert_eq!(jumps.len(), 3, "{jumps:?}");
        let parts: Vec<f64> = jumps[..2].iter().map(|j| j.weight / (0.35 / 4.0)).collect();
        assert_eq!((jumps[0].target, jumps[1].target), (0.0, 2.0), "{jumps:?}");
        assert!(
            [[2.0, 2.0], [3.0, 1.0]]
                .iter()
                .any(|c| (parts[0] - c[0]).abs() < 1e-12 && (parts[1] - c[1]).abs() < 1e-12),
            "{jumps:?}"
        );
        assert_eq!(jumps[2].target, 1.0);
        assert!((jumps[2].weight + 0.1).abs() < 1e-15, "{jumps:?}");
    }
    // SignedFan(1) is Signed, draw for draw: the same jumps from the same uniforms, and the
    // streams left in the same state. Any m draws as many uniforms (one per non-empty side).
    let cases: [(&[f64], &[f64]); 4] = [
        (&[0.0, 0.3, 0.0, 0.0, 0.7], &[0.1, -0.3, 0.05, 0.0, 0.15]),
        (&[0.1, 0.2, 0.3, 0.4], &[0.2, -0.1, 0.15, -0.25]),
        (&[0.25, 0.25, 0.0, 0.5], &[-0.3, 0.1, 0.3, -0.1]),
        (
            &[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0],
            &[0.5, -0.2, 0.1, 0.7, -0.9, 0.3, -0.4, 0.05],
        ),
    ];
    let signed = Categorical::with_coupling(Coupling::Signed);
    let one = Categorical::with_coupling(Coupling::SignedFan(1));
    let fan4 = Categorical::with_coupling(Coupling::SignedFan(4));
    for (p, d) in cases {
        for k in (0..p.len()).filter(|&k| p[k] > 0.0) {
            let k = k as f64;
            for seed in 0..200 {
                let (mut a, mut b, mut c) = (
                    Stream::from_key(seed),
                    Stream::from_key(seed),
                    Stream::from_key(seed),
                );
                assert_eq!(
                    one.jumps(p, d, k, &mut a).to_vec(),
                    signed.jumps(p, d, k, &mut b).to_vec(),
                    "p = {p:?} k = {k} seed {seed}"
                );
                fan4.jumps(p, d, k, &mut c);
                let next = b.uniform();
                assert_eq!(a.uniform(), next, "p = {p:?} k = {k} seed {seed}");
                assert_eq!(c.uniform(), next, "p = {p:?} k = {k} seed {seed}");
            }
        }
    }
    // Zero targets: a typed error at the draw.
    let w = [1.0, 2.0];
    let r = with_run(1, 0, || categorical_with(&w, Coupling::SignedFan(0)));
    assert!(matches!(r, Err(Error::InvalidParameter { .. })), "{r:?}");
}
