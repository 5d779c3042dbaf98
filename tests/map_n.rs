//! `Scalar::map_n` against the same formula written with ordinary operations, on every number
//! type, including the values it takes in alternative worlds.

use stochad::sample::bernoulli;
use stochad::{with_run, AllWorldsTriple, Dual, Scalar, SmoothedTriple, Triple};

/// x·y + sin z − x/z, branch-free.
fn by_ops<S: Scalar>([x, y, z]: [S; 3]) -> S {
    x * y + z.sin() - x / z
}

fn by_map_n<S: Scalar>(xs: [S; 3]) -> S {
    S::map_n(
        xs,
        |[x, y, z]| x * y + z.sin() - x / z,
        |[x, y, z], _| [y - 1.0 / z, x, z.cos() + x / (z * z)],
    )
}

#[test]
fn map_n_equals_ops_for_duals() {
    let xs = [0, 1, 2].map(|i| Dual::<3>::variable([1.3, -0.4, 0.9][i], i));
    let (a, b) = (by_ops(xs), by_map_n(xs));
    assert!((a.value - b.value).abs() < 1e-15);
    for d in 0..3 {
        assert!(
            (a.tangent[d] - b.tangent[d]).abs() < 1e-14,
            "{a:?} vs {b:?}"
        );
    }
}

/// Triples whose inputs carry worlds: the same value, tangents and value in every world.
fn check_worlds<S: Scalar + std::fmt::Debug>(make: impl Fn(f64, usize) -> S) {
    for seed in 0..200u64 {
        with_run(seed, 0, || {
            // θ-dependent coins: worlds appear along two directions.
            let t = [make(0.4, 0), make(0.6, 1)];
            let xs = [
                bernoulli(t[0])? + 1.5,
                bernoulli(t[1] * 0.5)? * 2.0 + t[0],
                bernoulli(t[0] * 0.5 + t[1] * 0.25)? * 0.3 + 1.1,
            ];
            let (a, b) = (by_ops(xs), by_map_n(xs));
            assert!((a.value() - b.value()).abs() < 1e-14, "{a:?} vs {b:?}");
            let (wa, wb) = (a.world_values(), b.world_values());
            assert_eq!(wa.len(), wb.len(), "{a:?} vs {b:?}");
            for (x, y) in wa.iter().zip(&wb) {
                assert!((x - y).abs() < 1e-13, "{a:?} vs {b:?}");
            }
            Ok::<_, stochad::Error>(())
        })
        .unwrap();
    }
}

#[test]
fn map_n_equals_ops_in_every_world() {
    check_worlds(AllWorldsTriple::<2>::variable);
    check_worlds(SmoothedTriple::<2>::variable);
    // The pruned backend prunes where worlds meet, and the two ways meet them in a different
    // order: compare on programs where each value carries one world (one direction).
    check_worlds(|v, _| Triple::<1>::variable(v, 0));
}

#[test]
fn map_n_derivative_estimates_agree() {
    // d/dθ E[f(x(θ))] by the two ways, same seeds: identical estimates to rounding.
    let run = |ops: bool| {
        stochad::derivative(move |t: Triple| {
            let xs = inputs_theta(t)?;
            Ok::<_, stochad::Error>(if ops { by_ops(xs) } else { by_map_n(xs) })
        })
        .at(0.4)
        .samples(2000)
        .seed(3)
        .estimate()
        .unwrap()
    };
    let (a, b) = (run(true), run(false));
    assert!(
        (a.mean - b.mean).abs() < 1e-12 * (1.0 + a.mean.abs()),
        "{a} vs {b}"
    );
}

fn inputs_theta<S: Scalar>(t: S) -> stochad::Result<[S; 3]> {
    Ok([
        bernoulli(t)? + t,
        bernoulli(t * 0.5 + 0.2)? * 2.0 + 0.7,
        bernoulli(t * 0.25 + 0.5)? * 0.3 + t * t + 1.0,
    ])
}
