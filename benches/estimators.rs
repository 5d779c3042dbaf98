//! Cost of one derivative estimate relative to the f64 primal run, per number type:
//! (a) the random walk with n = 100; (b) a program with ~10⁴ operations and 100 draws.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use stochad::sample::bernoulli;
use stochad::toys::random_walk;
use stochad::{
    derivative, derivative_with, gradient, with_run, AllWorldsTriple, Dual, Result, Scalar, Score,
    Triple,
};

/// ~10⁴ arithmetic operations around 100 draws.
fn heavy<S: Scalar>(theta: S) -> Result<S> {
    let mut x = S::from(0.5);
    let mut acc = S::zero();
    for _ in 0..100 {
        let k = bernoulli((x * theta).sin().powi(2))?;
        let y = x * 0.9 + k * 0.1;
        for j in 0..24 {
            acc += (y * (j as f64 * 0.01)).sin() * 0.01;
        }
        x = x * 0.5 + k * 0.5;
    }
    Ok(acc + x)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("random_walk_n100");
    let (n, p) = (100, 200.0);
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("f64", "primal"), |b| {
        b.iter(|| {
            i += 1;
            with_run(1, i, || random_walk(black_box(p), n)).unwrap()
        })
    });
    let d = derivative(|p| random_walk(p, n)).at(p).seed(1);
    g.bench_function(BenchmarkId::new("triple", "pruned"), |b| {
        b.iter(|| {
            i += 1;
            d.run(i).unwrap()
        })
    });
    let e = derivative_with(|p: AllWorldsTriple| random_walk(p, n))
        .at(p)
        .seed(1);
    g.bench_function(BenchmarkId::new("triple", "exact"), |b| {
        b.iter(|| {
            i += 1;
            e.run(i).unwrap()
        })
    });
    let s = derivative_with(|p: Score| random_walk(p, n)).at(p).seed(1);
    g.bench_function(BenchmarkId::new("score", ""), |b| {
        b.iter(|| {
            i += 1;
            s.run(i).unwrap()
        })
    });
    let du = derivative_with(|p: Dual| random_walk(p, n)).at(p).seed(1);
    g.bench_function(BenchmarkId::new("dual", ""), |b| {
        b.iter(|| {
            i += 1;
            du.run(i).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("heavy_1e4ops_100draws");
    g.bench_function(BenchmarkId::new("f64", "primal"), |b| {
        b.iter(|| {
            i += 1;
            with_run(1, i, || heavy(black_box(0.7))).unwrap()
        })
    });
    let d = derivative(heavy).at(0.7).seed(1);
    g.bench_function(BenchmarkId::new("triple", "pruned"), |b| {
        b.iter(|| {
            i += 1;
            d.run(i).unwrap()
        })
    });
    let du = derivative_with(|t: Dual| heavy(t)).at(0.7).seed(1);
    g.bench_function(BenchmarkId::new("dual", ""), |b| {
        b.iter(|| {
            i += 1;
            du.run(i).unwrap()
        })
    });
    g.finish();

    // What an extra direction costs: N directions in one shared-primal run.
    let mut g = c.benchmark_group("heavy_directions");
    fn bench_dirs<const N: usize>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        i: &mut u64,
    ) {
        let d = gradient(|th: [Triple<N>; N]| {
            heavy(th.iter().fold(Triple::<N>::zero(), |a, &b| a + b) / N as f64 + 0.2)
        })
        .at([0.5; N])
        .seed(1);
        g.bench_function(BenchmarkId::new("triple_directions", N), |b| {
            b.iter(|| {
                *i += 1;
                d.run(*i).unwrap()
            })
        });
    }
    bench_dirs::<1>(&mut g, &mut i);
    bench_dirs::<2>(&mut g, &mut i);
    bench_dirs::<4>(&mut g, &mut i);
    bench_dirs::<8>(&mut g, &mut i);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
