//! The arithmetic the drivers apply to a batch of runs — the leave-one-out baseline and the
//! cross-fitted score mix — and the score of a categorical draw, against numbers computed by hand
//! (not by the library): a baseline that includes the sample itself, a mixing weight fitted on
//! the sample's own half or a score without its normalisation term gives other numbers.

use stochad::estimate::{apply_baseline, apply_score_mix, summarize, RunOutput};
use stochad::sample::{Bernoulli, Binomial, Categorical, Coupling, Family, Geometric, Poisson};
use stochad::Dual;

fn sample<const N: usize>(
    value: f64,
    derivative: [f64; N],
    pathwise: [f64; N],
    score: [f64; N],
) -> RunOutput<N> {
    RunOutput {
        value,
        derivative,
        pathwise,
        score,
        feature_score: [0.0; N],
    }
}

#[test]
fn leave_one_out_baseline_by_hand() {
    // Values 1, 2, 4 (total 7): the baseline of sample i is the mean of the *other* values,
    // b = (7 − f_i)/2 = 3, 2.5, 1.5 (including the sample itself it would be 7/3 for all).
    let mut s = [
        sample(1.0, [0.5, -1.0], [9.0, 9.0], [1.0, 2.0]),
        sample(2.0, [0.0, 0.0], [9.0, 9.0], [-1.0, 0.5]),
        sample(4.0, [1.0, 1.0], [9.0, 9.0], [2.0, -1.0]),
    ];
    apply_baseline(&mut s);
    // estimate − b·s per direction (every number here is exact in binary).
    assert_eq!(s[0].derivative, [0.5 - 3.0, -1.0 - 6.0]);
    assert_eq!(s[1].derivative, [2.5, -1.25]);
    assert_eq!(s[2].derivative, [1.0 - 3.0, 1.0 + 1.5]);
    // Nothing else changes.
    assert_eq!(
        s.map(|x| (x.value, x.pathwise, x.score)),
        [
            (1.0, [9.0, 9.0], [1.0, 2.0]),
            (2.0, [9.0, 9.0], [-1.0, 0.5]),
            (4.0, [9.0, 9.0], [2.0, -1.0])
        ]
    );
    // One sample has no "others": left as it is.
    let mut one = [sample(3.0, [1.0], [0.0], [2.0])];
    apply_baseline(&mut one);
    assert_eq!(one[0].derivative, [1.0]);
}

/// Six runs, two directions, numbers chosen so that the two halves fit different mixing weights.
#[rustfmt::skip]
fn mix_batch() -> [RunOutput<2>; 6] {
    let f = [1.0, 2.0, 3.0, 5.0, 2.0, 1.0];
    let a = [[1.0, 0.0], [0.0, 1.0], [2.0, -1.0], [1.0, 2.0], [1.0, 1.0], [3.0, 0.0]];
    let delta = [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [1.0, 2.0]];
    let s = [[1.0, 0.0], [-1.0, 2.0], [2.0, -1.0], [0.0, 1.0], [-2.0, 1.0], [1.0, -2.0]];
    std::array::from_fn(|i| sample(f[i], a[i], delta[i], s[i]))
}

#[test]
fn score_mix_by_hand() {
    // Per sample: A = the triple's estimate, B = δ + (f − b)·s the score estimate, D = B − A;
    // the mix is C = A + λ·D with λ = −Cov(A, D)/Var(D) fitted on the *other* half (even
    // samples 0, 2, 4 vs odd samples 1, 3, 5), with baselines taken within that half.
    //
    // Even half (f = 1, 3, 2; within-half baselines b = 2.5, 1.5, 2):
    //   direction 0: (A, D) = (1, −5/2), (2, 2), (1, 1)     → λ_even = −11/67
    //   direction 1: (A, D) = (0, 1), (−1, −1/2), (1, −1)   → λ_even = 3/13
    // Odd half (f = 2, 5, 1; b = 3, 1.5, 3.5):
    //   direction 0: (A, D) = (0, 2), (1, −1), (3, −9/2)    → λ_odd = 59/127
    //   direction 1: (A, D) = (1, −3), (2, 5/2), (0, 7)     → λ_odd = 27/301
    // The mix itself uses the leave-one-out baseline over the whole batch, b_i = (14 − f_i)/5,
    // which gives D_i = (−13/5, 1), (7/5, −9/5), (3/5, 1/5), (−1, 11/5), (9/5, −7/5),
    // (−18/5, 26/5); even samples take λ_odd, odd samples λ_even. λ is clamped to [0, 1] (the
    // mix a convex combination of A and B): λ_even's −11/67 is taken as 0, so the odd samples
    // keep A in direction 0.
    let lam_even = [0.0, 3.0 / 13.0];
    let lam_odd = [59.0 / 127.0, 27.0 / 301.0];
    let d = [
        [-13.0 / 5.0, 1.0],
        [7.0 / 5.0, -9.0 / 5.0],
        [3.0 / 5.0, 1.0 / 5.0],
        [-1.0, 11.0 / 5.0],
        [9.0 / 5.0, -7.0 / 5.0],
        [-18.0 / 5.0, 26.0 / 5.0],
    ];
    let a = mix_batch().map(|s| s.derivative);
    // The same numbers as exact fractions, C = A + λ·D: a second hand computation.
    let want = [
        [-132.0 / 635.0, 27.0 / 301.0],
        [0.0, 38.0 / 65.0],
        [1447.0 / 635.0, -1478.0 / 1505.0],
        [1.0, 163.0 / 65.0],
        [1166.0 / 635.0, 188.0 / 215.0],
        [3.0, 6.0 / 5.0],
    ];
    let mut batch = mix_batch();
    apply_score_mix(&mut batch);
    for i in 0..6 {
        let lam = if i % 2 == 0 { lam_odd } else { lam_even };
        for dir in 0..2 {
            let by_parts = a[i][dir] + lam[dir] * d[i][dir];
            assert!(
                (by_parts - want[i][dir]).abs() < 1e-14,
                "the hand computations disagree at sample {i} direction {dir}"
            );
            let got = batch[i].derivative[dir];
            assert!(
                (got - want[i][dir]).abs() < 1e-12,
                "sample {i} direction {dir}: mixed {got}, by hand {}",
                want[i][dir]
            );
        }
    }
    // Fewer than four runs cannot be cross-fitted: left as they are.
    let mut three = [mix_batch()[0], mix_batch()[1], mix_batch()[2]];
    let before = three;
    apply_score_mix(&mut three);
    assert_eq!(three, before);
}

#[test]
fn categorical_score_by_hand() {
    // p_k = w_k / Σw: ∂ log p_k = dw_k / w_k − Σdw / Σw. Weights 1, 2, 3 (Σ = 6) with tangents
    // 1, 0, 0.5 (Σ = 1.5): the second term is 1/4.
    let cat = Categorical::default();
    let (w, dw) = ([1.0, 2.0, 3.0], [1.0, 0.0, 0.5]);
    for (k, want) in [(0.0, 0.75), (1.0, -0.25), (2.0, 0.5 / 3.0 - 0.25)] {
        let got = cat.score(&w, &dw, k);
        assert!((got - want).abs() < 1e-15, "k = {k}: {got} vs {want}");
    }
    // Tangents that keep Σw fixed have no second term: k = 0 gives −1/1 − 0.
    let got = cat.score(&[1.0, 2.0], &[-1.0, 1.0], 0.0);
    assert!((got + 1.0).abs() < 1e-15, "{got}");
}

/// ∂θ log p(k) from the probability mass in dual arithmetic.
fn dlog_pmf<F: Family>(fam: &F, params: &[f64], tangents: &[f64], k: f64) -> f64 {
    let duals: Vec<Dual<1>> = params
        .iter()
        .zip(tangents)
        .map(|(&p, &t)| Dual::new(p, [t]))
        .collect();
    let p = fam.pmf(&duals, k);
    p.tangent[0] / p.value
}

#[test]
fn every_score_is_the_derivative_of_the_log_mass() {
    for coupling in [Coupling::Inversion, Coupling::Proportional] {
        let cat = Categorical::with_coupling(coupling);
        // Unnormalised weights with tangents that change their sum.
        for (w, dw) in [
            (&[2.0, 0.0, 5.0, 1.0][..], &[0.4, 0.3, -1.0, 0.25][..]),
            (&[0.5, 0.7], &[1.0, 0.0]),
            (&[1e3, 2e3, 4e3], &[10.0, 30.0, 5.0]),
        ] {
            for k in (0..w.len()).filter(|&k| w[k] > 0.0) {
                let k = k as f64;
                let (got, want) = (cat.score(w, dw, k), dlog_pmf(&cat, w, dw, k));
                assert!(
                    (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                    "{w:?} {dw:?} k = {k}: score {got} vs ∂ log p {want}"
                );
            }
        }
    }
    for k in 0..4 {
        let k = k as f64;
        let b = Binomial { n: 3 };
        let cases: [(f64, f64); 3] = [
            (b.score(&[0.3], &[0.7], k), dlog_pmf(&b, &[0.3], &[0.7], k)),
            (
                Geometric.score(&[0.3], &[-0.7], k),
                dlog_pmf(&Geometric, &[0.3], &[-0.7], k),
            ),
            (
                Poisson.score(&[2.5], &[0.7], k),
                dlog_pmf(&Poisson, &[2.5], &[0.7], k),
            ),
        ];
        for (got, want) in cases {
            assert!(
                (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                "{got} vs {want}"
            );
        }
        if k < 2.0 {
            let (got, want) = (
                Bernoulli.score(&[0.3], &[0.7], k),
                if k == 1.0 { 0.7 / 0.3 } else { -0.7 / 0.7 },
            );
            assert!(
                (got - want).abs() < 1e-14,
                "bernoulli k = {k}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn runs_with_a_nonzero_estimate_are_counted_and_few_are_flagged() {
    // Direction 0: 12 of 20 runs nonzero; direction 1: 3 (one of them -0.0, which is zero).
    let runs: Vec<RunOutput<2>> = (0..20)
        .map(|i| {
            let d0 = if i % 5 < 3 { i as f64 + 1.0 } else { 0.0 };
            let d1 = match i {
                4 => 2.5,
                9 => -1.0,
                13 => 1e-300,
                17 => -0.0,
                _ => 0.0,
            };
            sample(1.0, [d0, d1], [0.0; 2], [0.0; 2])
        })
        .collect();
    let g = summarize(&runs);
    assert_eq!(g.nonzero, [12, 3]);
    assert_eq!(g.rests_on_few_runs(), [false, true]);
    let text = format!("{g:.1}");
    assert!(
        text.ends_with(
            "(n = 20; direction 1: only 3 runs nonzero, its standard error is unreliable)"
        ),
        "{text}"
    );
    let one = stochad::Estimate::from(summarize(
        &runs[..10]
            .iter()
            .map(|r| sample(r.value, [r.derivative[1]], [0.0], [0.0]))
            .collect::<Vec<_>>(),
    ));
    assert_eq!(one.nonzero, 2);
    assert!(one.rests_on_few_runs());
}
