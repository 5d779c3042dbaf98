//! Random programs against the exact oracle: small stack programs mixing arithmetic and draws
//! whose parameters depend on θ and on earlier draws, generated from a fixed seed so the suite is
//! deterministic. Each must give unbiased pruned-triple, exact-triple, score and score-mix
//! estimates (5σ̂).

mod common;

use common::assert_close;
use stochad::context::Stream;
use stochad::exact::{self, Options};
use stochad::sample::{bernoulli, categorical_logits, poisson};
use stochad::{derivative, derivative_with, Dual, ExactTriple, Result, Scalar, Score};

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Push θ.
    Theta,
    /// Push a constant.
    Const(f64),
    /// Pop two, push their sum.
    Add,
    /// Pop two, push their product.
    Mul,
    /// Replace the top x by sin(x).
    Sin,
    /// Replace the top x by a draw from Bernoulli(σ(x)).
    Bernoulli,
    /// Replace the top x by a draw from Poisson(0.5 + σ(x)).
    Poisson,
    /// Pop two (x, y), push a draw from softmax(x, y, x·y).
    Categorical,
}

/// A program: ops applied to a stack that starts as [θ]; the output is the sum of the stack.
fn run<S: Scalar>(ops: &[Op], theta: S) -> Result<S> {
    let mut st = vec![theta];
    for op in ops {
        match *op {
            Op::Theta => st.push(theta),
            Op::Const(c) => st.push(S::from(c)),
            Op::Add | Op::Mul | Op::Categorical if st.len() < 2 => st.push(theta),
            Op::Add => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(a + b);
            }
            Op::Mul => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(a * b);
            }
            Op::Sin => {
                let x = st.pop().unwrap();
                st.push(x.sin());
            }
            Op::Bernoulli => {
                let x = st.pop().unwrap();
                st.push(bernoulli(x.sigmoid())?);
            }
            Op::Poisson => {
                let x = st.pop().unwrap();
                st.push(poisson(x.sigmoid() + 0.5)?);
            }
            Op::Categorical => {
                let (b, a) = (st.pop().unwrap(), st.pop().unwrap());
                st.push(categorical_logits(&[a, b, a * b])?);
            }
        }
    }
    Ok(st.into_iter().fold(S::zero(), |a, b| a + b))
}

/// A random program of `len` ops with at least one draw.
fn random_program(stream: &mut Stream, len: usize) -> Vec<Op> {
    let mut ops: Vec<Op> = (0..len)
        .map(|_| match (stream.uniform() * 8.0) as usize {
            0 => Op::Theta,
            1 => Op::Const((stream.uniform() * 4.0 - 2.0).round() / 2.0),
            2 => Op::Add,
            3 => Op::Mul,
            4 => Op::Sin,
            5 => Op::Bernoulli,
            6 => Op::Poisson,
            _ => Op::Categorical,
        })
        .collect();
    ops.push(Op::Bernoulli);
    ops
}

#[test]
fn random_programs_match_the_oracle() {
    let mut stream = Stream::from_key(2026);
    let opts = Options {
        tail: 1e-13,
        max_paths: 200_000,
    };
    let mut checked = 0;
    for case in 0..40 {
        let ops = random_program(&mut stream, 3 + case % 4);
        let theta = stream.uniform() * 2.0 - 1.0;
        let ex = match exact::expectation_with(|[t]: [Dual; 1]| run(&ops, t), [theta], opts) {
            Ok(e) => e,
            // Programs too large to enumerate are skipped (counted below).
            Err(stochad::Error::SupportTooLarge { .. }) => continue,
            Err(e) => panic!("{ops:?}: {e}"),
        };
        let what = |est: &str| format!("case {case} {ops:?} at θ = {theta:.3}: {est}");
        let n = 20_000;
        let seed = case as u64;
        let t = derivative(|t| run(&ops, t))
            .at(theta)
            .samples(n)
            .seed(seed)
            .estimate()
            .unwrap();
        assert_close(&what("E[f]"), t.value, t.value_stderr, ex.value);
        assert_close(&what("pruned triple"), t.mean, t.stderr, ex.gradient[0]);
        let e = derivative_with(|t: ExactTriple| run(&ops, t))
            .at(theta)
            .samples(n)
            .seed(seed);
        let e = e.estimate().unwrap();
        assert_close(&what("exact triple"), e.mean, e.stderr, ex.gradient[0]);
        let s = derivative_with(|t: Score| run(&ops, t))
            .at(theta)
            .samples(n)
            .seed(seed);
        let s = s.estimate().unwrap();
        assert_close(&what("score + baseline"), s.mean, s.stderr, ex.gradient[0]);
        let m = derivative(|t| run(&ops, t))
            .at(theta)
            .samples(n)
            .seed(seed)
            .score_mix(true);
        let m = m.estimate().unwrap();
        assert_close(&what("score mix"), m.mean, m.stderr, ex.gradient[0]);
        checked += 1;
    }
    assert!(
        checked >= 30,
        "only {checked} of 40 programs were small enough to enumerate"
    );
}
