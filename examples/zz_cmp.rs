use stochad::jets::io::default_sample;
use stochad::jets::qantikt::{qanti_kt_mh, QantiKt};
use stochad::jets::FourMomentum;
use stochad::KeepTriple;
fn main() {
    let evs: Vec<Vec<FourMomentum>> = default_sample()
        .unwrap()
        .take(20)
        .map(|e| e.unwrap().particles.iter().map(|p| p.momentum).collect())
        .collect();
    for (i, ev) in evs.iter().enumerate() {
        for &(r, a) in &[(0.8, 1.0), (0.4, 4.0), (1.2, 2.0)] {
            for rep in 0..3u64 {
                let m: f64 = stochad::with_run(1, rep, || qanti_kt_mh(ev, r, a)).unwrap();
                let h = stochad::with_run(1, rep, || QantiKt::new().cluster(ev, r, a)).unwrap();
                let g = stochad::gradient(|[r, a]| qanti_kt_mh(ev, r, a))
                    .at([r, a])
                    .run(rep)
                    .unwrap();
                let k =
                    stochad::gradient_with(|[r, a]: [KeepTriple<8, 2>; 2]| qanti_kt_mh(ev, r, a))
                        .at([r, a])
                        .run(rep)
                        .unwrap();
                println!(
                    "{i} {r} {a} {rep} {m:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                    h.history().len(),
                    g.value,
                    g.derivative,
                    k.value,
                    k.derivative,
                    h.history()
                        .iter()
                        .map(|c| (c.a, c.b))
                        .fold(0u64, |s, (x, y)| s
                            .wrapping_mul(1000003)
                            .wrapping_add((x as u64) << 20 | y as u64))
                );
            }
        }
    }
}
