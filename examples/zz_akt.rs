use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::default_sample;
use stochad::jets::FourMomentum;
fn main() {
    let evs: Vec<Vec<FourMomentum>> = default_sample()
        .unwrap()
        .take(20)
        .map(|e| e.unwrap().particles.iter().map(|p| p.momentum).collect())
        .collect();
    let def = JetDefinition::new(Algorithm::AntiKt, 0.8).unwrap();
    let reps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10);
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..reps {
        for ev in &evs {
            n += def.cluster(ev).unwrap().inclusive_jets(0.0).len();
        }
    }
    eprintln!(
        "{:.1} us/event {n}",
        t.elapsed().as_secs_f64() * 1e6 / (reps as f64 * 20.0)
    );
}
