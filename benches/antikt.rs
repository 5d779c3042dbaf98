//! Anti-kT on the default sample (1000 events, 131 particles on average) at R = 0.4 and 1.0:
//! clustering + inclusive jets above 5 GeV sorted by pt, with constituents, the same work as
//! tools/fastjet_timing.cpp. Criterion reports the time for all 1000 events; divide by 1000
//! for the time per event.

use std::hint::black_box;
use std::io::{BufRead, BufReader};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::read::GzDecoder;
use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::FourMomentum;

const EVENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/zh_llbb_13p6tev_particles.csv.gz"
);

fn read_events() -> Vec<Vec<FourMomentum>> {
    let file = std::fs::File::open(EVENTS).expect("default events");
    let mut events: Vec<(u64, Vec<FourMomentum>)> = Vec::new();
    for line in BufReader::new(GzDecoder::new(file)).lines().skip(1) {
        let line = line.unwrap();
        let f: Vec<f64> = line
            .split(',')
            .take(5)
            .map(|s| s.parse().unwrap())
            .collect();
        if events.last().map(|e| e.0) != Some(f[0] as u64) {
            events.push((f[0] as u64, Vec::new()));
        }
        events
            .last_mut()
            .unwrap()
            .1
            .push(FourMomentum::new(f[1], f[2], f[3], f[4]));
    }
    events.into_iter().map(|e| e.1).collect()
}

fn bench(c: &mut Criterion) {
    let events = read_events();
    let mut group = c.benchmark_group("antikt_default_sample");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    for r in [0.4, 1.0] {
        let def = JetDefinition::new(Algorithm::AntiKt, r).unwrap();
        group.bench_function(format!("R={r}/1000 events"), |b| {
            b.iter(|| {
                let mut n = 0;
                for ev in &events {
                    let jets = def.cluster(black_box(ev)).unwrap().inclusive_jets(5.0);
                    n += jets.iter().map(|j| j.constituents.len()).sum::<usize>();
                }
                black_box(n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
