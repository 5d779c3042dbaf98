//! Event I/O: the default sample, round trips, gzip, HepMC3 against the generator's own CSV, every
//! documented parse error with its line, and fuzzing for panics.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stochad::jets::io::{
    self, Compression, Event, EventReader, EventWriter, Format, Particle, Selection, TruthReader,
    MASS_SHELL_TOLERANCE,
};
use stochad::jets::FourMomentum;
use stochad::jets::JetError;

/// What the event-file readers and writers return.
type JetResult<T> = Result<T, JetError>;

// ---------------------------------------------------------------- helpers

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn reader(text: &str) -> JetResult<EventReader> {
    EventReader::from_reader("test.csv", Cursor::new(text.as_bytes().to_vec()))
}

fn read_all(text: &str) -> JetResult<Vec<Event>> {
    reader(text)?.collect()
}

/// Asserts that reading `text` fails with a parse error at `line` whose reason contains `needle`.
fn assert_parse_error(text: &str, line: usize, needle: &str) {
    match read_all(text) {
        Err(JetError::Parse {
            file,
            line: got,
            reason,
        }) => {
            assert_eq!(file, "test.csv");
            assert_eq!(got, line, "wrong line for {reason:?}");
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            );
        }
        other => panic!("expected a parse error at line {line} ({needle}), got {other:?}"),
    }
}

fn particle(px: f64, py: f64, pz: f64, e: f64, pid: i32) -> Particle {
    Particle {
        momentum: FourMomentum::new(px, py, pz, e),
        pid,
    }
}

/// A `Write` whose bytes the test can take back after the writer is finished.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

fn write_events(events: &[Event], compression: Compression) -> Vec<u8> {
    let buf = SharedBuf::default();
    let mut writer = EventWriter::new("mem.csv", buf.clone(), compression).unwrap();
    for event in events {
        writer.write_event(event).unwrap();
    }
    writer.finish().unwrap();
    buf.bytes()
}

fn read_bytes(bytes: Vec<u8>) -> Vec<Event> {
    EventReader::from_reader("mem", Cursor::new(bytes))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn default_events() -> Vec<Event> {
    io::default_sample()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

// ---------------------------------------------------------------- the default sample

#[test]
fn default_sample_has_the_documented_size_and_acceptance() {
    let reader = io::default_sample().unwrap();
    assert_eq!(reader.format(), Format::Csv);
    assert!(reader.is_gzip());
    let events: Vec<Event> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(events.len(), io::DEFAULT_SAMPLE_EVENTS);
    assert!(events.iter().enumerate().all(|(k, e)| e.number == k as u64));
    let total: usize = events.iter().map(|e| e.particles.len()).sum();
    assert_eq!(total, io::DEFAULT_SAMPLE_PARTICLES);
    let mean = total as f64 / events.len() as f64;
    assert!((mean - 131.0).abs() < 0.5, "mean {mean}");
    assert_eq!(events.iter().map(|e| e.particles.len()).max(), Some(319));
    // Everything in the file passes the documented acceptance, and no Z lepton is left.
    let cuts = Selection::default_sample();
    for event in &events {
        assert!(
            event.particles.iter().all(|p| cuts.accepts(p)),
            "event {}",
            event.number
        );
    }
}

#[test]
fn default_truth_matches_the_sample() {
    let truth: Vec<_> = io::default_truth()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(truth.len(), io::DEFAULT_SAMPLE_EVENTS);
    for (k, t) in truth.iter().enumerate() {
        assert_eq!(t.event, k as u64);
        assert!((t.mh - 125.0).abs() < 1.0, "mh = {}", t.mh);
        // The b and b̄ are the Higgs' decay products: their pair mass is mh up to rounding.
        let (b, q) = (t.b, t.bbar);
        let (e, px, py, pz) = (b.e + q.e, b.px + q.px, b.py + q.py, b.pz + q.pz);
        let m = (e * e - px * px - py * py - pz * pz).sqrt();
        assert!(
            (m - t.mh).abs() < 1e-6 * t.mh,
            "event {k}: m(bb) = {m}, mh = {}",
            t.mh
        );
    }
}

#[test]
fn the_committed_file_reads_like_the_embedded_one_plain_or_gzip() {
    let path = repo_file("data/zh_llbb_13p6tev_particles.csv.gz");
    let from_file: Vec<Event> = EventReader::open(&path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plain = gunzip(&std::fs::read(&path).unwrap());
    let plain_reader = EventReader::from_reader("plain", Cursor::new(plain)).unwrap();
    assert!(!plain_reader.is_gzip());
    let from_plain: Vec<Event> = plain_reader.collect::<Result<_, _>>().unwrap();
    let embedded = default_events();
    assert_eq!(from_file, embedded);
    assert_eq!(from_plain, embedded);
    let truth = TruthReader::open(repo_file("data/zh_llbb_13p6tev_truth.csv.gz")).unwrap();
    assert_eq!(truth.count(), io::DEFAULT_SAMPLE_EVENTS);
}

// ---------------------------------------------------------------- writing

#[test]
fn round_trip_of_the_default_sample_is_exact_plain_and_gzip() {
    let events = default_events();
    let plain = write_events(&events, Compression::None);
    assert!(plain.starts_with(b"event,px,py,pz,e,pid\n"));
    assert_eq!(read_bytes(plain.clone()), events);
    for compression in [Compression::Gzip, Compression::GzipFast] {
        let gzip = write_events(&events, compression);
        assert_eq!(&gzip[..2], &[0x1f, 0x8b]);
        assert!(
            gzip.len() < plain.len() / 2,
            "{compression:?}: {} bytes",
            gzip.len()
        );
        assert_eq!(read_bytes(gzip.clone()), events);
        assert_eq!(gunzip(&gzip), plain);
    }
}

#[test]
fn writer_to_a_file_round_trips() {
    let path = std::env::temp_dir().join(format!("stochad-io-{}.csv.gz", std::process::id()));
    let events = vec![
        Event {
            number: 3,
            particles: vec![particle(-0.0, 1e-300, 5e-324, 1e-299, 22)],
        },
        Event {
            number: 10,
            particles: vec![particle(0.1, 0.2, 0.3, 0.5, -211); 3],
        },
    ];
    let mut writer = EventWriter::create(&path, Compression::Gzip).unwrap();
    for event in &events {
        writer.write_event(event).unwrap();
    }
    writer.finish().unwrap();
    let back: Vec<Event> = EventReader::open(&path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(back, events);
    assert!(back[0].particles[0].momentum.px.is_sign_negative());
}

fn writer_error(events: &[Event]) -> String {
    let mut writer = EventWriter::new("out.csv", SharedBuf::default(), Compression::None).unwrap();
    for event in events {
        if let Err(e) = writer.write_event(event) {
            match e {
                JetError::Io { file, source } => {
                    assert_eq!(file, "out.csv");
                    assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput);
                    return source.to_string();
                }
                other => panic!("expected an I/O error, got {other:?}"),
            }
        }
    }
    panic!("the writer accepted {events:?}");
}

#[test]
fn writer_refuses_what_the_format_cannot_carry() {
    let good = |n| Event {
        number: n,
        particles: vec![particle(1.0, 0.0, 0.0, 1.0, 22)],
    };
    assert!(writer_error(&[Event {
        number: 0,
        particles: vec![]
    }])
    .contains("no particles"));
    assert!(writer_error(&[good(2), good(2)]).contains("must increase"));
    assert!(writer_error(&[good(2), good(1)]).contains("must increase"));
    let nan = Event {
        number: 0,
        particles: vec![particle(f64::NAN, 0.0, 0.0, 1.0, 22)],
    };
    assert!(writer_error(&[nan]).contains("non-finite"));
    let spacelike = Event {
        number: 0,
        particles: vec![particle(2.0, 0.0, 0.0, 1.0, 22)],
    };
    assert!(writer_error(&[spacelike]).contains("below |p|"));
}

// ---------------------------------------------------------------- CSV errors

const HEAD: &str = "event,px,py,pz,e,pid\n";
const HEAD_LINE: &str = "event,px,py,pz,e,pid";

#[test]
fn csv_accepts_blank_lines_and_crlf() {
    let text = "event,px,py,pz,e,pid\r\n\r\n0,1,0,0,2,211\r\n\n0,0,1,0,1,22\n5, 1 ,0,0,1,22\n";
    let events = read_all(text).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].particles.len(), 2);
    assert_eq!(
        events[1],
        Event {
            number: 5,
            particles: vec![particle(1.0, 0.0, 0.0, 1.0, 22)]
        }
    );
    assert!(read_all(HEAD).unwrap().is_empty());
    // Trailing blanks without a newline are no row, so nothing can be cut there.
    assert_eq!(read_all(&format!("{text}\n  ")).unwrap().len(), 2);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Issue 8.3: a plain file cut inside its last field still parses (pid 2112 read as 21), so a
/// last line without a newline is reported as truncated, with the file, line and event. Gzip
/// is checked by its CRC and length, so there a missing final newline is only a style.
#[test]
fn csv_truncated_last_line_is_an_error() {
    let whole = format!("{HEAD}0,1,0,0,2,211\n1,0,0,1,2,2112\n");
    let cut = &whole[..whole.len() - 3]; // "…,21"
    assert_eq!(read_all(&whole).unwrap()[1].particles[0].pid, 2112);
    match read_all(cut) {
        Err(JetError::Parse { file, line, reason }) => {
            assert_eq!((file.as_str(), line), ("test.csv", 3));
            assert!(reason.starts_with("event 1: "), "{reason}");
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("a cut last field was accepted: {other:?}"),
    }
    // Strict reading hands out the events before the cut, then the error.
    let mut events = reader(cut).unwrap();
    assert_eq!(events.next().unwrap().unwrap().number, 0);
    assert!(events.next().unwrap().is_err());
    assert!(events.next().is_none());
    // A cut inside a malformed row says both.
    assert_parse_error(
        &format!("{HEAD}0,1,0"),
        2,
        "expected 6 comma-separated columns",
    );
    assert_parse_error(&format!("{HEAD}0,1,0"), 2, "truncated");
    // Cut right after the header's last character: a truncated file too.
    match reader(HEAD_LINE) {
        Err(JetError::Parse {
            line: 1, reason, ..
        }) => assert!(reason.contains("truncated")),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Gzip vouches for its own completeness: no final newline is fine there.
    let gz = EventReader::from_reader("cut.csv.gz", Cursor::new(gzip(cut.as_bytes()))).unwrap();
    let events: Vec<Event> = gz.collect::<Result<_, _>>().unwrap();
    assert_eq!(events[1].particles[0].pid, 21);
    // …and a cut gzip stream is an error (the CRC and length trailer are missing).
    let mut short = gzip(whole.as_bytes());
    short.truncate(short.len() - 4);
    let result: JetResult<Vec<Event>> =
        EventReader::from_reader("short.csv.gz", Cursor::new(short))
            .unwrap()
            .collect();
    assert!(matches!(result, Err(JetError::Parse { .. })), "{result:?}");
}

/// Every cut of a plain CSV file that is not at a line end is reported; a cut at a line end
/// cannot be seen (the format has no end marker) and reads as a shorter file.
#[test]
fn csv_cut_at_any_byte_is_reported_unless_at_a_line_end() {
    let text = sample_text();
    let whole = read_all(text).unwrap();
    for cut in 1..text.len() {
        let piece = &text[..cut];
        let result = read_all(piece);
        if piece.ends_with('\n') {
            let events = result.unwrap();
            assert!(events.len() <= whole.len());
        } else {
            let line = piece.lines().count();
            match result {
                Err(JetError::Parse { line: got, .. }) => assert_eq!(got, line, "cut at {cut}"),
                other => panic!("cut at byte {cut} accepted: {:?}", other.map(|e| e.len())),
            }
        }
    }
}

#[test]
fn csv_malformed_rows_name_the_line_and_the_problem() {
    let ok = "0,1,0,0,2,211\n";
    assert_parse_error(
        &format!("{HEAD}{ok}0,1,0"),
        3,
        "expected 6 comma-separated columns",
    );
    assert_parse_error(&format!("{HEAD}{ok}0,1,0,0,2,211,7\n"), 3, "found 7");
    assert_parse_error(
        &format!("{HEAD}0,1.2x,0,0,2,211\n"),
        2,
        "bad number \"1.2x\" in column px",
    );
    assert_parse_error(&format!("{HEAD}{ok}{ok}0,1,0,0,,211\n"), 4, "column e");
    assert_parse_error(&format!("{HEAD}-1,1,0,0,2,211\n"), 2, "bad event number");
    assert_parse_error(&format!("{HEAD}0,1,0,0,2,2.5\n"), 2, "bad PDG particle id");
    assert_parse_error(&format!("{HEAD}{ok}0,NaN,0,0,2,211\n"), 3, "non-finite");
    assert_parse_error(&format!("{HEAD}0,1,0,0,inf,211\n"), 2, "non-finite");
    assert_parse_error(&format!("{HEAD}0,3,4,0,4.99,22\n"), 2, "below |p|");
    assert_parse_error(&format!("{HEAD}0,0,0,0,-1,22\n"), 2, "below |p|");
}

/// Every column count but six is an error naming the count — in particular five, a row missing
/// its particle id, which must not be read as pid 0 — on the first row and after good rows.
#[test]
fn csv_rows_with_a_missing_or_extra_column_are_errors() {
    let ok = "0,1,0,0,2,211\n";
    for (row, n) in [
        ("0,1,0,0,2", 5),
        ("0,1,0,0,2,", 6),
        ("0,1,0,0", 4),
        ("0", 1),
        ("0,1,0,0,2,211,", 7),
    ] {
        if n == 6 {
            // Six columns, the last one empty: a bad id, not a default one.
            assert_parse_error(&format!("{HEAD}{row}\n"), 2, "bad PDG particle id");
            continue;
        }
        let found = format!("expected 6 comma-separated columns ({HEAD_LINE}), found {n}");
        assert_parse_error(&format!("{HEAD}{row}\n"), 2, &found);
        assert_parse_error(&format!("{HEAD}{ok}{ok}{row}\n{ok}"), 4, &found);
    }
    // A whole file of five-column rows (as a writer that forgot the id would produce).
    assert!(read_all(&format!("{HEAD}0,1,0,0,2\n0,0,1,0,2\n")).is_err());
    assert_eq!(
        read_all(&format!("{HEAD}{ok}")).unwrap()[0].particles,
        vec![particle(1.0, 0.0, 0.0, 2.0, 211)]
    );
}

#[test]
fn csv_mass_shell_tolerance_is_the_documented_one() {
    let inside = 5.0 * (1.0 - 0.5 * MASS_SHELL_TOLERANCE);
    let outside = 5.0 * (1.0 - 2.0 * MASS_SHELL_TOLERANCE);
    assert!(read_all(&format!("{HEAD}0,3,4,0,{inside},22\n")).is_ok());
    assert_parse_error(&format!("{HEAD}0,3,4,0,{outside},22\n"), 2, "space-like");
}

#[test]
fn csv_event_order_is_enforced() {
    let text = format!("{HEAD}1,1,0,0,2,211\n1,1,0,0,2,211\n0,1,0,0,2,211\n");
    assert_parse_error(&text, 4, "event numbers must increase");
    let text = format!("{HEAD}0,1,0,0,2,211\n1,1,0,0,2,211\n0,1,0,0,2,211\n");
    assert_parse_error(&text, 4, "event 0 follows event 1 (started at line 3)");
}

#[test]
fn headers_are_checked_before_any_event() {
    match reader("event,px,py,pz,e\n0,1,0,0,2\n") {
        Err(JetError::Parse {
            line: 1, reason, ..
        }) => assert!(reason.contains("unrecognised")),
        other => panic!("{:?}", other.map(|_| ())),
    }
    match reader("\n\n") {
        Err(JetError::Parse {
            line: 0, reason, ..
        }) => assert!(reason.contains("empty input")),
        other => panic!("{:?}", other.map(|_| ())),
    }
    match reader("HepMC::IO_GenEvent-START_EVENT_LISTING\n") {
        Err(JetError::Parse {
            line: 1, reason, ..
        }) => assert!(reason.contains("HepMC2")),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn non_utf8_and_corrupt_gzip_are_parse_errors() {
    let mut bytes = format!("{HEAD}0,1,0,0,2,211\n").into_bytes();
    bytes.extend_from_slice(b"0,1,0,0,2,\xff211\n");
    let result: Result<Vec<Event>, _> = EventReader::from_reader("bin.csv", Cursor::new(bytes))
        .unwrap()
        .collect();
    match result {
        Err(JetError::Parse {
            line: 3, reason, ..
        }) => assert!(reason.contains("UTF-8")),
        other => panic!("{other:?}"),
    }
    // Cut the compressed sample in half: the events before the cut come out, then the error.
    let gz = std::fs::read(repo_file("data/zh_llbb_13p6tev_particles.csv.gz")).unwrap();
    let half = gz[..gz.len() / 2].to_vec();
    let mut reader = EventReader::from_reader("half.csv.gz", Cursor::new(half)).unwrap();
    let mut good = 0;
    let err = loop {
        match reader.next() {
            Some(Ok(_)) => good += 1,
            Some(Err(e)) => break e,
            None => panic!("a truncated gzip stream was read to the end without error"),
        }
    };
    assert!(reader.next().is_none(), "the reader stops after an error");
    assert!(good > 100 && good < 1000, "{good} events before the cut");
    match err {
        JetError::Parse { file, line, reason } => {
            assert_eq!(file, "half.csv.gz");
            assert!(line > 1000, "line {line}");
            assert!(reason.contains("gzip"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// Hands out one byte per `read`, as a slow pipe may.
struct Trickle(Vec<u8>, usize);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.1 >= self.0.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0[self.1];
        self.1 += 1;
        Ok(1)
    }
}

#[test]
fn gzip_is_detected_from_a_stream_that_trickles() {
    let gz = std::fs::read(repo_file(PYTHIA_CSV)).unwrap();
    let expected = open_all(EventReader::open(repo_file(PYTHIA_CSV)).unwrap());
    let reader = EventReader::from_reader("trickle", Trickle(gz, 0)).unwrap();
    assert!(reader.is_gzip());
    assert_eq!(open_all(reader), expected);
    // A valid gzip stream of nothing is an empty input, reported at line 0.
    let empty = write_events(&[], Compression::Gzip);
    let header_only = EventReader::from_reader("h.gz", Cursor::new(empty)).unwrap();
    assert_eq!(header_only.count(), 0);
    let mut nothing = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    nothing.flush().unwrap();
    match EventReader::from_reader("empty.gz", Cursor::new(nothing.finish().unwrap())) {
        Err(JetError::Parse {
            line: 0, reason, ..
        }) => assert!(reason.contains("empty input")),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn opening_a_missing_file_is_an_io_error_naming_it() {
    match EventReader::open("/nonexistent/events.csv") {
        Err(JetError::Io { file, .. }) => assert_eq!(file, "/nonexistent/events.csv"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

/// Counts the bytes handed out, to show the reader does not slurp its input.
struct CountingRows {
    next_event: u64,
    events: u64,
    pending: Vec<u8>,
    served: Arc<Mutex<usize>>,
}

impl Read for CountingRows {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pending.is_empty() && self.next_event < self.events {
            if self.next_event == 0 {
                self.pending.extend_from_slice(HEAD.as_bytes());
            }
            let n = self.next_event;
            self.pending
                .extend_from_slice(format!("{n},1,0,0,2,211\n{n},0,1,0,2,211\n").as_bytes());
            self.next_event += 1;
        }
        let k = buf.len().min(self.pending.len());
        buf[..k].copy_from_slice(&self.pending[..k]);
        self.pending.drain(..k);
        *self.served.lock().unwrap() += k;
        Ok(k)
    }
}

#[test]
fn reading_streams_event_by_event() {
    let served = Arc::new(Mutex::new(0));
    let rows = CountingRows {
        next_event: 0,
        events: 200_000,
        pending: Vec::new(),
        served: served.clone(),
    };
    let mut reader = EventReader::from_reader("stream", rows).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().particles.len(), 2);
    // ~6 MB would be 200 000 events; one buffer's worth is all the first event may cost.
    assert!(
        *served.lock().unwrap() < 200_000,
        "read {} bytes for one event",
        served.lock().unwrap()
    );
    assert_eq!(reader.count(), 199_999);
}

// ---------------------------------------------------------------- HepMC3

const HEPMC_HEAD: &str = "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n";
const HEPMC_FOOT: &str = "HepMC::Asciiv3-END_EVENT_LISTING\n";

/// A small two-event file in the layout HepMC3's writer produces.
fn hepmc_two_events() -> String {
    format!(
        "{HEPMC_HEAD}W 1.0\nE 0 1 4\nU GEV MM\n\
         P 1 0 2212 0 0 6800 6800 0.938 4\n\
         P 2 0 2212 0 0 -6800 6800 0.938 4\n\
         V -1 0 [1,2]\n\
         P 3 -1 211 1.5 0 2 2.5 0.1396 1\n\
         P 4 -1 22 0 1e-3 0 1e-3 0 1\n\
         E 7 0 2 @ 0 0 0 0\nU MEV MM\n\
         P 1 0 -13 3000 4000 0 5000.5 105.7 1\n\
         P 2 0 21 0 0 100 50 0 21\n\
         {HEPMC_FOOT}"
    )
}

#[test]
fn hepmc_final_state_particles_with_units() {
    let reader = reader(&hepmc_two_events()).unwrap();
    assert_eq!(reader.format(), Format::HepMc3);
    let events: Vec<Event> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(
        events,
        vec![
            Event {
                number: 0,
                particles: vec![
                    particle(1.5, 0.0, 2.0, 2.5, 211),
                    particle(0.0, 1e-3, 0.0, 1e-3, 22)
                ]
            },
            // MeV divided by 1000; the space-like gluon (status 21) is not final-state.
            Event {
                number: 7,
                particles: vec![particle(3.0, 4.0, 0.0, 5.0005, -13)]
            },
        ]
    );
    // Two listings one after the other (concatenated files) read as one stream.
    let twice = format!("{}{}", hepmc_two_events(), hepmc_two_events());
    assert_eq!(read_all(&twice).unwrap().len(), 4);
}

#[test]
fn hepmc_malformed_input_names_the_line() {
    let p = "P 1 0 211 1 0 0 2 0.14 1\n";
    assert_parse_error(&format!("{HEPMC_HEAD}{p}"), 3, "P line before any E");
    assert_parse_error(
        &format!("{HEPMC_HEAD}V -1 0 [1,2]\n"),
        3,
        "V line before any E",
    );
    // An event with no final-state particle is reported at its E line, not dropped.
    let empty = format!("{HEPMC_HEAD}E 0 0 0\nE 1 0 1\n{p}E 2 0 1\nP 1 0 21 0 0 5 5 0 2\n");
    assert_parse_error(&empty, 3, "event 0 has no final-state");
    let mut events = reader(&format!(
        "{HEPMC_HEAD}E 0 0 1\n{p}E 9 0 1\nP 1 0 21 0 0 5 5 0 2\n{HEPMC_FOOT}"
    ))
    .unwrap();
    assert!(events.next().unwrap().is_ok());
    match events.next() {
        Some(Err(JetError::Parse {
            line: 5, reason, ..
        })) => assert!(reason.contains("event 9")),
        other => panic!("{other:?}"),
    }
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 3\n{p}{p}{HEPMC_FOOT}"),
        3,
        "declares 3 particles but 2",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\n{p}{p}E 1 0 1\n{p}"),
        3,
        "declares 1",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 0 211 1 0 0\n"),
        4,
        "P line has 7 fields",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 0 211 1 x 0 2 0.1 1\n"),
        4,
        "column py",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 0 211 nan 0 0 2 0.1 1\n"),
        4,
        "non-finite",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 0 211 3 0 0 2 0.1 1\n"),
        4,
        "below |p|",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 0 211 1 0 0 2 0.1 one\n"),
        4,
        "bad status",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nU KEV MM\n{p}"),
        4,
        "unknown momentum unit",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nX 1 2\n{p}"),
        4,
        "unknown HepMC3 record",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0\n{p}"),
        3,
        "without a particle count",
    );
    assert_parse_error(&format!("{HEPMC_HEAD}E -4 0 1\n{p}"), 3, "bad event number");
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP x 0 211 1 0 0 2 0.1 1\n"),
        4,
        "particle number",
    );
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\nP 1 y 211 1 0 0 2 0.1 1\n"),
        4,
        "bad parent",
    );
    let history = |text: String| -> JetResult<Vec<Event>> {
        reader(&text)?.drop_descendants_of(&[23])?.collect()
    };
    match history(format!("{HEPMC_HEAD}E 0 1 1\nV -1 0 1,2\n{p}")) {
        Err(JetError::Parse {
            line: 4, reason, ..
        }) => assert!(reason.contains("[incoming"), "{reason}"),
        other => panic!("{other:?}"),
    }
    match history(format!("{HEPMC_HEAD}E 0 1 1\nV -1 0 [1,x]\n{p}")) {
        Err(JetError::Parse {
            line: 4, reason, ..
        }) => assert!(reason.contains("\"x\""), "{reason}"),
        other => panic!("{other:?}"),
    }
    let hepmc2 = "HepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\nE 0 1\n";
    assert_parse_error(hepmc2, 2, "HepMC2");
    assert_parse_error(
        &format!("{HEPMC_HEAD}E 0 0 1\n{p}HepMC::Asciiv2\n"),
        5,
        "unsupported",
    );
}

/// Issue 8.3: a HepMC3 file without `HepMC::Asciiv3-END_EVENT_LISTING` was cut (or its writer
/// never closed): its last event may be incomplete, and the error names it, its `E` line and
/// the line where the input ends.
#[test]
fn hepmc_missing_end_of_listing_is_an_error() {
    let whole = hepmc_two_events();
    let cut = whole.strip_suffix(HEPMC_FOOT).unwrap();
    let mut events = reader(cut).unwrap();
    assert_eq!(events.next().unwrap().unwrap().number, 0);
    match events.next() {
        Some(Err(JetError::Parse { line, reason, .. })) => {
            assert_eq!(line, 14, "{reason}");
            assert!(
                reason.starts_with("event 7 (E line 11) may be incomplete"),
                "{reason}"
            );
            assert!(reason.contains("END_EVENT_LISTING"), "{reason}");
        }
        other => panic!("a file without its end marker was accepted: {other:?}"),
    }
    // Every cut at a line end before the marker is caught (a cut inside a line too, a fortiori).
    let lines: Vec<&str> = whole.lines().collect();
    for k in 1..lines.len() {
        let piece: String = lines[..k].iter().map(|l| format!("{l}\n")).collect();
        assert!(read_all(&piece).is_err(), "cut after line {k} accepted");
    }
    // The marker itself may lack a final newline.
    assert_eq!(read_all(whole.trim_end()).unwrap().len(), 2);
    // A listing without events but also without its end, and a file cut after its version line.
    for (text, line) in [
        (HEPMC_HEAD.to_owned(), 2),
        ("HepMC::Version 3.02.05\n".to_owned(), 1),
    ] {
        match read_all(&text) {
            Err(JetError::Parse {
                line: got, reason, ..
            }) => {
                assert_eq!(got, line, "{reason}");
                assert!(reason.contains("truncated"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A cut file with another one appended: the next file's header gives the cut away.
    let joined = format!("{cut}{whole}");
    match read_all(&joined) {
        Err(JetError::Parse {
            line: 15, reason, ..
        }) => {
            assert!(
                reason.starts_with("event 7 (E line 11) is cut short"),
                "{reason}"
            );
            assert!(
                reason.contains("truncated file followed by another"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Records outside a listing, and an end marker without a start, are errors.
    let p = "P 1 0 211 1 0 0 2 0.14 1\n";
    assert_parse_error(&format!("{whole}E 8 0 1\n{p}"), 16, "after");
    assert_parse_error("HepMC::Version 3.02.05\nE 0 0 1\n", 2, "before");
    assert_parse_error(
        &format!("{whole}{HEPMC_FOOT}"),
        16,
        "without an open listing",
    );
}

/// Reads everything a lenient reader yields; returns the events' numbers and the reader.
fn read_lenient(text: &str, concatenated: bool) -> (Vec<u64>, EventReader) {
    let mut reader = reader(text).unwrap().skip_bad_events();
    if concatenated {
        reader = reader.concatenated();
    }
    let numbers = reader
        .by_ref()
        .map(|e| e.map(|e| e.number))
        .collect::<JetResult<Vec<u64>>>()
        .unwrap();
    (numbers, reader)
}

/// The skipped errors as (line, reason) pairs.
fn skipped_errors(reader: &EventReader) -> Vec<(usize, String)> {
    reader
        .skipped()
        .errors()
        .iter()
        .map(|e| match e {
            JetError::Parse { file, line, reason } => {
                assert_eq!(file, "test.csv");
                (*line, reason.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Issue 8.7: a lenient reader skips each bad event whole, counts it and keeps its error;
/// strict reading (the default) stops at the first.
#[test]
fn csv_lenient_reading_skips_bad_events_and_counts_them() {
    let text = format!(
        "{HEAD}0,1,0,0,2,211\n\
         1,1,0,0,2,211\n1,1,0,0,oops,211\n1,0,1,0,2,22\n\
         2,1,0,0,2,211\n\
         3,1,0,0,2,211\n?,1,0,0,2,211\n\
         4,3,0,0,2,211\n\
         2,1,0,0,2,211\n\
         5,1,0,0,2,211\n5,1,0,0,2,2112\n6,0,0,1,2,21"
    );
    assert!(read_all(&text).is_err(), "strict stays the default");
    let (numbers, reader) = read_lenient(&text, false);
    assert_eq!(numbers, [0, 2, 5]);
    assert_eq!(reader.skipped().events(), 5);
    let errors = skipped_errors(&reader);
    let expected = [
        (4, "event 1: bad number \"oops\" in column e"),
        // A row whose number cannot be read spoils the event being read.
        (8, "event 3: bad event number \"?\""),
        (9, "event 4: energy E = 2 is below |p| = 3"),
        (10, "event 2 follows event 4 (started at line 9)"),
        (13, "event 6: the file ends inside this line"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for ((line, reason), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(*line, want_line, "{reason}");
        assert!(
            reason.starts_with(want),
            "{reason:?} does not start with {want:?}"
        );
    }
    assert!(reader
        .skipped()
        .to_string()
        .starts_with("5 bad events skipped: test.csv:4: event 1"));
}

#[test]
fn lenient_reading_keeps_the_first_errors_and_counts_all() {
    let mut text = String::from(HEAD);
    for n in 0..100 {
        text.push_str(&format!("{n},1,0,0,2,211\n{n},1,0,0,x,211\n"));
    }
    text.push_str("100,1,0,0,2,211\n");
    let (numbers, reader) = read_lenient(&text, false);
    assert_eq!(numbers, [100]);
    let skipped = reader.skipped();
    assert_eq!(skipped.events(), 100);
    assert_eq!(skipped.errors().len(), io::Skipped::KEPT_ERRORS);
    assert!(skipped.to_string().ends_with("; …"));
    // Strict readers never skip.
    let mut strict = reader_of(&text);
    assert!(strict.by_ref().any(|e| e.is_err()));
    assert!(strict.skipped().is_empty());
}

fn reader_of(text: &str) -> EventReader {
    reader(text).unwrap()
}

/// Line-level problems (not UTF-8, too long) spoil only their event; corrupt gzip data still
/// ends the reading.
#[test]
fn lenient_reading_goes_on_after_bad_lines_but_not_after_corrupt_gzip() {
    let mut bytes = format!("{HEAD}0,1,0,0,2,211\n").into_bytes();
    bytes.extend_from_slice(b"0,1,0,0,2,\xff211\n1,1,0,0,2,\xff211\n");
    bytes.extend_from_slice(&vec![b'7'; 1 << 21]);
    bytes.extend_from_slice(b"\n2,1,0,0,2,211\n");
    let mut reader = EventReader::from_reader("test.csv", Cursor::new(bytes))
        .unwrap()
        .skip_bad_events();
    let numbers: Vec<u64> = reader.by_ref().map(|e| e.unwrap().number).collect();
    assert_eq!(numbers, [2]);
    // Lines that cannot be read as text say nothing of their event: they spoil the event being
    // read (event 0), and reading resumes after the long line.
    let errors = skipped_errors(&reader);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[0].1.contains("UTF-8"));
    let gz = std::fs::read(repo_file("data/zh_llbb_13p6tev_particles.csv.gz")).unwrap();
    let half = gz[..gz.len() / 2].to_vec();
    let mut reader = EventReader::from_reader("half.csv.gz", Cursor::new(half))
        .unwrap()
        .skip_bad_events();
    assert!(reader.by_ref().any(|e| e.is_err()));
    assert!(reader.next().is_none());
}

/// Issue 8.7: files concatenated from several jobs, with or without their headers, read as
/// one when asked; a new event starts where the number changes or a header line stands.
#[test]
fn csv_concatenated_files_read_when_asked() {
    let job = |a: u64, b: u64| format!("{a},1,0,0,2,211\n{a},0,1,0,2,22\n{b},0,0,1,2,-211\n");
    let with_headers = format!("{HEAD}{}{HEAD}{}", job(0, 1), job(1, 2));
    let without = format!("{HEAD}{}{}", job(0, 1), job(0, 1));
    match read_all(&with_headers) {
        Err(JetError::Parse {
            line: 5, reason, ..
        }) => {
            assert!(reason.contains("EventReader::concatenated"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_parse_error(&without, 5, "EventReader::concatenated");
    let read = |text: &str| -> Vec<Event> {
        reader(text)
            .unwrap()
            .concatenated()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let events = read(&with_headers);
    // Event 1 ends job one and starts job two: the header between them keeps them apart.
    let numbers: Vec<u64> = events.iter().map(|e| e.number).collect();
    assert_eq!(numbers, [0, 1, 1, 2]);
    let sizes: Vec<usize> = events.iter().map(|e| e.particles.len()).collect();
    assert_eq!(sizes, [2, 1, 2, 1]);
    let numbers: Vec<u64> = read(&without).iter().map(|e| e.number).collect();
    assert_eq!(numbers, [0, 1, 0, 1]);
    // Gzip files joined byte for byte are one multi-member stream.
    let members = [
        gzip(format!("{HEAD}{}", job(0, 1)).as_bytes()),
        gzip(format!("{HEAD}{}", job(0, 1)).as_bytes()),
    ]
    .concat();
    let events: Vec<Event> = EventReader::from_reader("all.csv.gz", Cursor::new(members))
        .unwrap()
        .concatenated()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events.len(), 4);
    // With lenient reading a bad event of one job costs that event only.
    let bad = format!("{HEAD}{}{HEAD}0,1,0,0,2,x\n1,1,0,0,2,211\n", job(0, 1));
    let (numbers, reader) = read_lenient(&bad, true);
    assert_eq!(numbers, [0, 1, 1]);
    assert_eq!(reader.skipped().events(), 1);
}

/// Issue 8.7 for HepMC3: a bad line, a wrong particle count, an unknown record or a cut spoil
/// only their own event.
#[test]
fn hepmc_lenient_reading_skips_bad_events() {
    let p = "P 1 0 211 1 0 0 2 0.14 1\n";
    let text = format!(
        "{HEPMC_HEAD}E 0 0 1\n{p}\
         E 1 0 1\nP 1 0 211 1 x 0 2 0.1 1\n\
         E 2 0 2\n{p}\
         E 3 0 1\nX 1\n{p}\
         E x 0 1\n{p}\
         E 5 0 1\n{p}\
         E 6 0 1\n"
    );
    assert!(read_all(&text).is_err(), "strict stays the default");
    let (numbers, reader) = read_lenient(&text, false);
    assert_eq!(numbers, [0, 5]);
    let errors = skipped_errors(&reader);
    let expected = [
        (6, "bad number \"x\" in column py"),
        (7, "event 2 declares 2 particles but 1"),
        (10, "unknown HepMC3 record type"),
        (12, "bad event number"),
        (16, "event 6 (E line 16) may be incomplete"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:?}");
    for ((line, reason), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(*line, want_line, "{reason}");
        assert!(reason.contains(want), "{reason:?} lacks {want:?}");
    }
    // A cut file followed by a whole one: the cut event is skipped, the rest read.
    let whole = hepmc_two_events();
    let cut = whole.strip_suffix(HEPMC_FOOT).unwrap();
    let (numbers, reader) = read_lenient(&format!("{cut}{whole}"), false);
    assert_eq!(numbers, [0, 0, 7]);
    assert_eq!(reader.skipped().events(), 1);
}

/// The fixtures were written by `tools/generate_events.py --events 2 --hepmc` (Pythia 8.317.2,
/// seed 1): the full HepMC3 records and the selected CSV of the same two events.
const PYTHIA_HEPMC: &str = "tests/data/io/pythia8317_zh_2events.hepmc3.gz";
const PYTHIA_CSV: &str = "tests/data/io/pythia8317_zh_2events_particles.csv.gz";

fn open_all(reader: EventReader) -> Vec<Event> {
    reader.collect::<Result<_, _>>().unwrap()
}

#[test]
fn hepmc_from_pythia_selects_to_the_generator_csv() {
    let all = open_all(EventReader::open(repo_file(PYTHIA_HEPMC)).unwrap());
    let no_z = EventReader::open(repo_file(PYTHIA_HEPMC))
        .unwrap()
        .drop_descendants_of(&[23]);
    let no_z = open_all(no_z.unwrap());
    let csv = open_all(EventReader::open(repo_file(PYTHIA_CSV)).unwrap());
    assert_eq!((all.len(), no_z.len(), csv.len()), (2, 2, 2));
    // The reader alone returns every final-state particle, neutrinos included.
    assert!(all.iter().any(|e| e
        .particles
        .iter()
        .any(|p| [12, 14, 16].contains(&p.pid.abs()))));
    let cuts = Selection::default_sample();
    // The CSV holds 10 significant digits; round the HepMC values the same way.
    let round = |x: f64| format!("{x:.9e}").parse::<f64>().unwrap();
    let rounded = |p: &Particle| {
        let m = p.momentum;
        particle(round(m.px), round(m.py), round(m.pz), round(m.e), p.pid)
    };
    let charged_leptons = |e: &Event| {
        e.particles
            .iter()
            .filter(|p| [11, 13].contains(&p.pid.abs()))
            .count()
    };
    for ((full, selected), expected) in all.iter().zip(&no_z).zip(&csv) {
        assert_eq!(
            (full.number, selected.number),
            (expected.number, expected.number)
        );
        // Reader history + explicit selection = exactly what the generator script kept.
        let kept: Vec<Particle> = cuts
            .filter(selected.clone())
            .particles
            .iter()
            .map(rounded)
            .collect();
        assert_eq!(kept, expected.particles, "event {}", full.number);
        // Dropping the Z's descendants removed its two leptons (and photons they radiated) only.
        assert_eq!(charged_leptons(full) - charged_leptons(selected), 2);
        let dropped = full.particles.len() - selected.particles.len();
        assert!(
            (2..=8).contains(&dropped),
            "event {}: {dropped} dropped",
            full.number
        );
    }
    // Pythia 8.317.2 reproduces the committed (8.318.2) sample's first event exactly.
    assert_eq!(csv[0], default_events()[0]);
    // History exists only in HepMC3.
    assert!(matches!(
        io::default_sample().unwrap().drop_descendants_of(&[23]),
        Err(JetError::InvalidInput { .. })
    ));
}

// ---------------------------------------------------------------- truth

#[test]
fn truth_errors_name_the_line() {
    let head = "event,mh,b_px,b_py,b_pz,b_e,bbar_px,bbar_py,bbar_pz,bbar_e\n";
    let ok = "0,125,0,0,10,11.2,0,0,-10,11.2\n";
    let read = |text: String| -> JetResult<Vec<_>> {
        TruthReader::from_reader("truth.csv", Cursor::new(text.into_bytes()))?.collect()
    };
    assert_eq!(read(format!("{head}{ok}")).unwrap().len(), 1);
    let cases = [
        (format!("{head}{ok}0,125,0,0,10\n"), 3, "expected 10"),
        (
            format!("{head}0,125,0,0,10,11.2,0,0,-10,z\n"),
            2,
            "column bbar_e",
        ),
        (
            format!("{head}0,-1,0,0,10,11.2,0,0,-10,11.2\n"),
            2,
            "Higgs mass",
        ),
        (format!("{head}0,125,0,0,10,9,0,0,-10,11.2\n"), 2, "b quark"),
        (format!("event,mh\n{ok}"), 1, "expected the truth header"),
        (
            format!("{head}{ok}\n{ok}"),
            4,
            "event numbers must increase",
        ),
        // Cut inside the last field: 11.2 would read as 11.
        (format!("{head}{ok}{}", &ok[..ok.len() - 3]), 3, "truncated"),
        (head.trim_end().to_owned(), 1, "truncated"),
    ];
    for (text, line, needle) in cases {
        match read(text) {
            Err(JetError::Parse {
                file,
                line: got,
                reason,
            }) => {
                assert_eq!((file.as_str(), got), ("truth.csv", line), "{reason}");
                assert!(reason.contains(needle), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------- fuzzing: never panic

/// Reads to the end (a reader stops after its first error) and checks what came out is sane.
fn drain(bytes: Vec<u8>) {
    let check = |reader: EventReader| {
        for event in reader {
            match event {
                Ok(event) => {
                    assert!(!event.particles.is_empty());
                    assert!(event.particles.iter().all(|p| p.momentum.e.is_finite()));
                }
                Err(JetError::Parse { .. }) => {}
                Err(other) => panic!("unexpected error kind {other:?}"),
            }
        }
    };
    if let Ok(reader) = EventReader::from_reader("fuzz", Cursor::new(bytes.clone())) {
        check(reader);
    }
    // The HepMC3 history bookkeeping too (for CSV this is a configuration error).
    if let Ok(reader) = EventReader::from_reader("fuzz", Cursor::new(bytes.clone())) {
        if let Ok(reader) = reader.drop_descendants_of(&[23, 13, -13]) {
            check(reader);
        }
    }
    if let Ok(reader) = TruthReader::from_reader("fuzz", Cursor::new(bytes)) {
        reader.for_each(drop);
    }
}

/// The first 60 lines of the default sample as text (decompressed once).
fn sample_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let gz = std::fs::read(repo_file("data/zh_llbb_13p6tev_particles.csv.gz")).unwrap();
        let plain = String::from_utf8(gunzip(&gz)).unwrap();
        plain.lines().take(60).map(|l| format!("{l}\n")).collect()
    })
}

/// Byte-level mutations: overwrite, delete a range, duplicate a range.
fn mutate(mut bytes: Vec<u8>, ops: &[(u8, usize, usize, u8)]) -> Vec<u8> {
    for &(kind, at, len, byte) in ops {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let end = (at + len % 16).min(bytes.len());
        match kind % 3 {
            0 => bytes[at] = byte,
            1 => {
                bytes.drain(at..end);
            }
            _ => {
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
        }
    }
    bytes
}

proptest! {
    // Bounded so a bug fails fast: 64 cases, at most 64 shrinking steps and 20 s of shrinking.
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 64,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400),
                                prefix in 0usize..4) {
        let head: &[u8] = match prefix {
            0 => b"",
            1 => HEAD.as_bytes(),
            2 => HEPMC_HEAD.as_bytes(),
            _ => &[0x1f, 0x8b, 0x08, 0x00],
        };
        drain([head, &body].concat());
    }

    #[test]
    fn mutated_csv_never_panics(ops in proptest::collection::vec(
        (any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..6)) {
        drain(mutate(sample_text().as_bytes().to_vec(), &ops));
    }

    #[test]
    fn mutated_hepmc_never_panics(ops in proptest::collection::vec(
        (any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..6)) {
        drain(mutate(hepmc_two_events().into_bytes(), &ops));
    }

    #[test]
    fn mutated_gzip_never_panics(ops in proptest::collection::vec(
        (any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..4)) {
        let events = read_all(sample_text()).unwrap();
        drain(mutate(write_events(&events, Compression::Gzip), &ops));
    }

    #[test]
    fn written_events_read_back_bit_for_bit(
        raw in proptest::collection::vec(
            (-1e6f64..1e6, -1e6f64..1e6, prop_oneof![-1e6f64..1e6, Just(-0.0), Just(5e-324)],
             0.0f64..10.0, any::<i32>()), 1..20),
        split in 1usize..5,
    ) {
        let particles: Vec<Particle> = raw
            .iter()
            .map(|&(px, py, pz, extra, pid)| {
                let e = px.hypot(py).hypot(pz) + extra;
                particle(px, py, pz, e, pid)
            })
            .collect();
        let events: Vec<Event> = particles
            .chunks(split)
            .enumerate()
            .map(|(k, chunk)| Event { number: 3 * k as u64 + 1, particles: chunk.to_vec() })
            .collect();
        for compression in [Compression::None, Compression::Gzip] {
            let back = read_bytes(write_events(&events, compression));
            prop_assert_eq!(&back, &events);
        }
    }
}
