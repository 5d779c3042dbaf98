//! Anti-kT on the default sample (1000 events, 131 particles on average) at R = 0.4 and 1.0:
//! clustering + inclusive jets above 5 GeV sorted by pt, with constituents, the same work as
//! tools/fastjet_timing.cpp. Criterion reports the time for all 1000 events; divide by 1000
//! for the time per event.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::default_sample;
use stochad::jets::FourMomentum;

fn read_events() -> Vec<Vec<FourMomentum>> {
    let events = default_sample().expect("default sample");
    events
        .map(|e| {
            e.expect("default sample")
                .particles
                .iter()
                .map(|p| p.momentum)
                .collect()
        })
        .collect()
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
