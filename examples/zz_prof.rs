use stochad::jets::io::default_sample;
use stochad::jets::qantikt::qanti_kt_mh;
use stochad::jets::FourMomentum;
fn main() {
    let evs: Vec<Vec<FourMomentum>> = default_sample()
        .unwrap()
        .take(20)
        .map(|e| e.unwrap().particles.iter().map(|p| p.momentum).collect())
        .collect();
    let mode = std::env::args().nth(1).unwrap_or("primal".into());
    let reps: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10);
    let alpha: f64 = std::env::args()
        .nth(3)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1.0);
    let t = std::time::Instant::now();
    let mut s = 0.0;
    for ev in &evs {
        for rep in 0..reps {
            if mode == "primal" {
                s += stochad::with_run(1, rep, || qanti_kt_mh(ev, 0.8, alpha)).unwrap();
            } else {
                let g = stochad::gradient(|[r, a]| qanti_kt_mh(ev, r, a))
                    .at([0.8, alpha])
                    .run(rep)
                    .unwrap();
                s += g.value + g.derivative[0] + g.derivative[1];
            }
        }
    }
    eprintln!(
        "{:.1} us/event  {}",
        t.elapsed().as_secs_f64() * 1e6 / (reps as f64 * 20.0),
        s
    );
}
