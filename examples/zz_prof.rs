use std::time::Instant;
use stochad::jets::io::default_sample;
use stochad::jets::qantikt::qanti_kt_mh;
use stochad::jets::FourMomentum;
use stochad::{gradient, with_run};
fn main() {
    let mode = std::env::args().nth(1).unwrap_or("primal".into());
    let reps: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20);
    let events: Vec<Vec<FourMomentum>> = default_sample()
        .unwrap()
        .take(20)
        .map(|e| e.unwrap().particles.iter().map(|p| p.momentum).collect())
        .collect();
    let ra: f64 = std::env::var("ZZ_R")
        .map(|s| s.parse().unwrap())
        .unwrap_or(0.8);
    let al: f64 = std::env::var("ZZ_A")
        .map(|s| s.parse().unwrap())
        .unwrap_or(1.0);
    let t = Instant::now();
    let mut s = 0.0;
    for rep in 0..reps {
        for ev in &events {
            if mode == "primal" {
                s += with_run(1, rep, || qanti_kt_mh(ev, ra, al)).unwrap();
            } else {
                let g = gradient(|[r, a]| qanti_kt_mh(ev, r, a))
                    .at([ra, al])
                    .run(rep)
                    .unwrap();
                s += g.derivative[0] + g.derivative[1];
            }
        }
    }
    println!(
        "{mode}: {:.1} us/event ({s})",
        t.elapsed().as_secs_f64() * 1e6 / (reps as f64 * 20.0)
    );
}
