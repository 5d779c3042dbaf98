//! `stochad::rerun`: unbiased against the exact oracle, bit for bit whatever the thread count,
//! and loud where the `f64` twin is not the program.

use stochad::exact;
use stochad::sample::{bernoulli, categorical, gumbel_softmax, Coupling};
use stochad::{Error, KeptFlips, Scalar};

/// A categorical whose weights depend on both parameters, then a coin whose probability depends
/// on the first outcome: later draws see the flipped history.
fn two_stage<S: Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
    let k = categorical(&[a, b, a * b + 0.5])?;
    // Falling in a: some jumps have negative weights.
    let p = -(k * 0.1 + a * 0.3) * 0.5 + 0.8;
    let c = bernoulli(p)?;
    Ok(k * k + c * 3.0 + k * c)
}

fn assert_close(name: &str, mean: f64, stderr: f64, exact: f64) {
    assert!(
        5.0 * stderr < 0.05 * exact.abs(),
        "{name}: the check is too weak: 5σ̂ = {} vs |d| = {}",
        5.0 * stderr,
        exact.abs()
    );
    assert!(
        (mean - exact).abs() < 5.0 * stderr,
        "{name}: {mean} ± {stderr} vs exact {exact}"
    );
}

#[test]
fn rerun_agrees_with_the_exact_gradient() {
    // The signed coupling's jumps come in pairs of opposite signs (the proportional one's
    // weights are all positive).
    // With every flip re-run, each run's estimate is the sum over all of its jumps; with one
    // flip shared, each direction's weight is its importance ratio.
    let cases = [
        (Coupling::Proportional, [0.7, 0.4], KeptFlips::PerDirection),
        (Coupling::Proportional, [0.3, 1.2], KeptFlips::PerDirection),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::PerDirection),
        (Coupling::Proportional, [0.3, 1.2], KeptFlips::Every),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::Every),
        (Coupling::Proportional, [0.7, 0.4], KeptFlips::Shared),
        (Coupling::Signed, [0.7, 0.4], KeptFlips::Shared),
    ];
    for (coupling, at, keep) in cases {
        let ex = exact::expectation(|x: [stochad::Dual<2>; 2]| two_stage(x), at).unwrap();
        let g = stochad::rerun(two_stage, two_stage)
            .at(at)
            .samples(200_000)
            .seed(3)
            .coupling(coupling)
            .keep(keep)
            .estimate()
            .unwrap();
        for d in 0..2 {
            let name = format!("{coupling:?} {at:?} {keep:?} d{d}");
            assert_close(&name, g.mean[d], g.stderr[d], ex.gradient[d]);
        }
        assert!((g.value - ex.value).abs() < 5.0 * g.value_stderr);
    }
}

#[test]
fn uniforms_taken_by_a_relaxed_draw_keep_the_flips_in_place() {
    // Three primal uniforms go to a Gumbel-softmax draw before the two stages (its output
    // unused): the flips' draw numbers count them, and the gradient is the two stages'.
    fn noisy<S: Scalar>(x: [S; 2]) -> stochad::Result<S> {
        gumbel_softmax(&[S::from(1.0), S::from(2.0), S::from(3.0)], 0.5)?;
        two_stage(x)
    }
    let at = [0.7, 0.4];
    let ex = exact::expectation(|x: [stochad::Dual<2>; 2]| two_stage(x), at).unwrap();
    let g = stochad::rerun(noisy, noisy)
        .at(at)
        .samples(200_000)
        .seed(4)
        .estimate()
        .unwrap();
    for d in 0..2 {
        assert_close(&format!("d{d}"), g.mean[d], g.stderr[d], ex.gradient[d]);
    }
}

#[test]
fn a_program_may_branch_on_its_values() {
    // The branch a triple could not take on its primal value alone.
    fn branchy<S: Scalar>([a, b]: [S; 2]) -> stochad::Result<S> {
        let k = categorical(&[a, b, a * b + 0.5])?;
        Ok(if k.value() > 0.5 {
            a.sin() * k
        } else {
            b.cos() * 2.0
        })
    }
    let at = [0.7, 0.4];
    let ex = exact::expectation(|x: [stochad::Dual<2>; 2]| branchy(x), at).unwrap();
    let g = stochad::rerun(branchy, branchy)
        .at(at)
        .samples(200_000)
        .seed(6)
        .estimate()
        .unwrap();
    for d in 0..2 {
        assert_close(&format!("d{d}"), g.mean[d], g.stderr[d], ex.gradient[d]);
    }
}

#[test]
fn rerun_is_the_same_whatever_the_thread_count() {
    let est = stochad::rerun(two_stage, two_stage)
        .at([0.7, 0.4])
        .samples(500)
        .seed(9);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| est.runs().unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| est.runs().unwrap());
    assert_eq!(one.len(), two.len());
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.value.to_bits(), b.value.to_bits());
        for d in 0..2 {
            assert_eq!(a.derivative[d].to_bits(), b.derivative[d].to_bits());
        }
    }
    // The flips do contribute: not every run is its pathwise derivative.
    assert!(one.iter().any(|r| r.derivative != r.pathwise));
}

#[test]
fn a_twin_that_is_not_the_program_is_an_error() {
    // Another output: caught on sample 0.
    let other = |x: [f64; 2]| two_stage(x).map(|v| v + 1.0);
    let e = stochad::rerun(two_stage, other)
        .at([0.7, 0.4])
        .samples(10)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("twin returned")),
        "{e:?}"
    );
    // Other draws: the re-run does not repeat the recording run's history before its flip.
    let shifted = |[a, b]: [f64; 2]| {
        let k = categorical(&[b, a, a * b + 0.5])?;
        let c = bernoulli(-(k * 0.1 + a * 0.3) * 0.5 + 0.8)?;
        Ok::<_, Error>(k * k + c * 3.0 + k * c)
    };
    let e = stochad::rerun(two_stage, shifted)
        .at([0.7, 0.4])
        .samples(200)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("before the flip")),
        "{e:?}"
    );
    // A fourth category of weight 0: the same draws and outputs, but a flip of the first draw
    // finds four parameters where the recording run had three.
    let padded = |[a, b]: [f64; 2]| {
        let k = categorical(&[a, b, a * b + 0.5, 0.0])?;
        let c = bernoulli(-(k * 0.1 + a * 0.3) * 0.5 + 0.8)?;
        Ok::<_, Error>(k * k + c * 3.0 + k * c)
    };
    let e = stochad::rerun(two_stage, padded)
        .at([0.7, 0.4])
        .samples(200)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("parameters")),
        "{e:?}"
    );
}

#[test]
fn a_twin_that_stops_drawing_before_the_flip_is_an_error() {
    // The same first draw, no coin: a flip of the coin is never reached.
    let short = |[a, b]: [f64; 2]| {
        let k = categorical(&[a, b, a * b + 0.5])?;
        Ok::<_, Error>(k * k)
    };
    let est = stochad::rerun(two_stage, short).at([0.7, 0.4]).seed(5);
    let e = (0..200).find_map(|i| est.run(i).err());
    assert!(
        matches!(&e, Some(Error::InvalidConfig { reason }) if reason.contains("fewer")),
        "{e:?}"
    );
}

#[test]
fn a_jump_weight_that_is_not_finite_is_an_error() {
    // √θ at θ = 0: p = 0 with an infinite tangent.
    let coin = |[t]: [f64; 1]| bernoulli(t.sqrt());
    let e = stochad::rerun(|[t]| bernoulli(t.sqrt()), coin)
        .at([0.0])
        .samples(50)
        .estimate();
    assert!(
        matches!(&e, Err(Error::InvalidConfig { reason }) if reason.contains("not finite")),
        "{e:?}"
    );
}

#[test]
fn bad_settings_are_typed_errors() {
    let r = stochad::rerun(two_stage, two_stage);
    assert!(matches!(
        r.at([f64::NAN, 0.4]).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
    let r = stochad::rerun(two_stage, two_stage);
    assert!(matches!(
        r.at([0.7, 0.4]).samples(0).estimate(),
        Err(Error::InvalidConfig { .. })
    ));
}
