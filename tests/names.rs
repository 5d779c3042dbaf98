//! Renamed items keep their old names as deprecated aliases, and the jets layer's errors
//! convert into the crate's, keeping their message (issue 8.12).
#![allow(deprecated)]

use std::error::Error as _;
use std::io::Cursor;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::EventReader;
use stochad::jets::JetError;
use stochad::sample::bernoulli;

#[test]
fn old_names_still_compile_and_agree() {
    let d = stochad::derivative_with(|p: stochad::ExactTriple| bernoulli(p))
        .at(0.3)
        .seed(1);
    assert_eq!(d.sample(3).unwrap(), d.run(3).unwrap());
    let g = stochad::gradient(|[p]| bernoulli(p)).at([0.3]).seed(1);
    let old: stochad::estimate::Sample<1> = g.sample(2).unwrap();
    assert_eq!(old, g.run(2).unwrap());
    let e: stochad::exact::Exact<1> =
        stochad::exact::expectation(|[p]| bernoulli(p), [0.3]).unwrap();
    assert_eq!(e.gradient[0], 1.0);
}

#[test]
fn jet_errors_convert_and_keep_their_message() {
    let read = |text: &str| {
        EventReader::from_reader("x.csv", Cursor::new(text.as_bytes().to_vec()))
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
    };
    let e = read("nonsense\n").unwrap_err();
    assert!(matches!(e, JetError::Parse { line: 1, .. }), "{e:?}");
    let message = e.to_string();
    let wrapped = stochad::Error::from(e);
    assert!(matches!(
        wrapped,
        stochad::Error::Jets(JetError::Parse { .. })
    ));
    // Transparent: the same message, and no second copy of it as the source.
    assert_eq!(wrapped.to_string(), message);
    assert!(wrapped.source().is_none());
    // An I/O failure keeps the operating system's error as its source.
    let Err(missing) = EventReader::open("/nonexistent/events.csv") else {
        panic!("opened a file that does not exist");
    };
    assert!(matches!(missing, JetError::Io { .. }), "{missing:?}");
    assert!(stochad::Error::from(missing).source().is_some());
    // `?` takes both layers' errors in a program returning `stochad::Result`.
    let program = |r: f64| -> stochad::Result<usize> {
        let events = read("event,px,py,pz,e,pid\n0,1,0,0,1.01,211\n")?;
        let momenta: Vec<_> = events[0].particles.iter().map(|p| p.momentum).collect();
        let jets = JetDefinition::new(Algorithm::AntiKt, r)?.cluster(&momenta)?;
        Ok(jets.inclusive_jets(0.0).len())
    };
    assert_eq!(program(0.4).unwrap(), 1);
    assert!(matches!(
        program(-0.4),
        Err(stochad::Error::Jets(JetError::InvalidParameter { .. }))
    ));
}
