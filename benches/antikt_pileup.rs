//! Anti-kT at pile-up scale (issue 9): N from ~10² to ~3·10⁴ particles, R = 0.4 and 1.0, with
//! `Best` (and, with `STOCHAD_BENCH_STRATEGIES=all`, every strategy that is not quadratic):
//! clustering + inclusive jets above 5 GeV sorted by pt, with constituents — the same work as
//! tools/fastjet_timing.cpp, which times FastJet on the same files.
//!
//! The events: the default sample (N̄ = 131), the committed pile-up samples
//! (tests/data/zh_pileup_mu{50,200}_particles.csv.gz, N̄ ≈ 5 400 and 21 200) and, when present,
//! the bench samples made by (README, issue 9)
//!
//! ```text
//! for mu in 5 20 60 140 300; do python3 tools/generate_events.py --events 4 --seed 21 \
//!     --pileup $mu --min-pt 0.1 --out-dir target/pileup --prefix zh_pileup_mu$mu; done
//! ```
//!
//! (`STOCHAD_PILEUP_DIR` overrides target/pileup). Criterion reports the time for all events of
//! a file; the id names the mean N; divide by the number of events (the throughput) for the time
//! per event.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use stochad::jets::cluster::{Algorithm, JetDefinition, Strategy};
use stochad::jets::io::{default_sample, EventReader};
use stochad::jets::FourMomentum;

type Events = Vec<Vec<FourMomentum>>;

fn read(reader: EventReader) -> Events {
    reader
        .map(|e| {
            e.expect("event")
                .particles
                .iter()
                .map(|p| p.momentum)
                .collect()
        })
        .collect()
}

/// (label, events) for every sample found, by increasing mean N.
fn samples() -> Vec<(String, Events)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("STOCHAD_PILEUP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/pileup"));
    let mut files: Vec<PathBuf> = ["zh_pileup_mu50", "zh_pileup_mu200"]
        .iter()
        .map(|p| root.join(format!("tests/data/{p}_particles.csv.gz")))
        .collect();
    for mu in [5, 20, 60, 140, 300] {
        let f = dir.join(format!("zh_pileup_mu{mu}_particles.csv.gz"));
        if f.exists() {
            files.push(f);
        } else {
            eprintln!("antikt_pileup: {} not found, skipped", f.display());
        }
    }
    let mut out = vec![(
        "default".to_string(),
        read(default_sample().expect("default sample")),
    )];
    for f in files {
        let events = read(EventReader::open(&f).expect("pile-up sample"));
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .trim_end_matches("_particles.csv.gz")
            .trim_start_matches("zh_pileup_")
            .to_string();
        out.push((name, events));
    }
    let mean = |e: &Events| e.iter().map(Vec::len).sum::<usize>() as f64 / e.len() as f64;
    out.sort_by(|a, b| mean(&a.1).total_cmp(&mean(&b.1)));
    out
}

fn bench(c: &mut Criterion) {
    let all = std::env::var("STOCHAD_BENCH_STRATEGIES").is_ok_and(|v| v == "all");
    let strategies: &[Strategy] = if all {
        &[Strategy::Best, Strategy::N2MHTLazy9, Strategy::N2MHTLazy25]
    } else {
        &[Strategy::Best]
    };
    let mut group = c.benchmark_group("antikt_pileup");
    group.sample_size(10);
    for (name, events) in samples() {
        let n_mean = events.iter().map(Vec::len).sum::<usize>() / events.len();
        group.throughput(Throughput::Elements(events.len() as u64));
        for r in [0.4, 1.0] {
            for &strategy in strategies {
                let def = JetDefinition::new(Algorithm::AntiKt, r)
                    .expect("radius")
                    .with_strategy(strategy);
                let id = format!("R={r}/N={n_mean} ({name})/{}", strategy.name());
                group.bench_function(id, |b| {
                    b.iter(|| {
                        let mut n = 0;
                        for ev in &events {
                            let jets = def.cluster(black_box(ev)).expect("cluster");
                            let jets = jets.inclusive_jets(5.0);
                            n += jets.iter().map(|j| j.constituents.len()).sum::<usize>();
                        }
                        black_box(n)
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
