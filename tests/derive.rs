//! `#[derive(Scalars)]` on the shapes user code has: nested structs, extra generic parameters,
//! containers, tuple structs, enums, recursive types; and the flatten/rebuild helpers on them.

use std::marker::PhantomData;

use stochad::scalars::{
    check_same_shape, collect_scalars, count_scalars, lift, primal, rebuild, shape,
};
use stochad::{Dual, Error, Scalar, Scalars, Score, Triple};

#[derive(Scalars, Clone, Copy, Debug, PartialEq)]
struct FourMomentum<S> {
    px: S,
    py: S,
    pz: S,
    e: S,
}

#[derive(Scalars, Clone, Debug, PartialEq)]
struct Jet<S> {
    p: FourMomentum<S>,
    constituent_pt: Vec<S>,
    /// No scalars: cloned by `map_scalars`, skipped by the visitors.
    index: usize,
}

/// A scalar parameter with a default and a bound, another type parameter, a lifetime and a const
/// parameter.
#[derive(Scalars, Debug, PartialEq)]
#[scalars(scalar = S)]
struct Tagged<'a, Tag, S: Scalar = f64, const N: usize = 2> {
    tag: Tag,
    name: &'a str,
    xs: [S; N],
    maybe: Option<S>,
    pairs: Vec<(S, [S; 2])>,
    marker: PhantomData<Tag>,
}

#[derive(Scalars, Debug, PartialEq)]
struct Pair<S>(S, Vec<Jet<S>>, String);

#[derive(Scalars, Debug, PartialEq)]
enum Reco<S> {
    Nothing,
    Single(Jet<S>),
    Dijet { lead: Jet<S>, sub: Jet<S>, mass: S },
    Counted(u32),
}

#[derive(Scalars, Debug, PartialEq)]
enum Tree<S> {
    Leaf(S),
    Node(Box<Tree<S>>, std::boxed::Box<Tree<S>>, i32),
}

/// Field types passed into a `macro_rules!` macro keep the caller's hygiene context.
macro_rules! holder {
    ($name:ident, $t:ty) => {
        #[derive(Scalars, Debug, PartialEq)]
        struct $name<S> {
            inner: $t,
            count: u8,
        }
    };
}
holder!(Holder, Vec<Option<S>>);

fn p(px: f64, py: f64, pz: f64, e: f64) -> FourMomentum<f64> {
    FourMomentum { px, py, pz, e }
}

fn jet(scale: f64, n: usize, index: usize) -> Jet<f64> {
    Jet {
        p: p(scale, 2.0 * scale, 3.0 * scale, 4.0 * scale),
        constituent_pt: (0..n).map(|i| scale + i as f64).collect(),
        index,
    }
}

#[test]
fn nested_struct_lifts_to_dual_and_back() {
    let j = jet(1.5, 3, 7);
    let d: Jet<Dual<2>> = lift(&j);
    assert_eq!(d.p.pz, Dual::new(4.5, [0.0, 0.0]));
    assert_eq!(d.constituent_pt[2], Dual::new(3.5, [0.0, 0.0]));
    assert_eq!(d.index, 7);
    assert_eq!(primal(&d), j);
}

#[test]
fn every_number_type_is_a_scalars_leaf() {
    // The blanket impl covers the stochastic triple and the score number without their help.
    let j = jet(2.0, 2, 3);
    let t: Jet<Triple> = lift(&j);
    let s: Jet<Score<2>> = lift(&j);
    assert_eq!(primal(&t), j);
    assert_eq!(primal(&s), j);
    assert_eq!(count_scalars(&t), 6);
}

#[test]
fn primal_drops_tangents() {
    let mut d: Jet<Dual<2>> = lift(&jet(1.0, 2, 0));
    d.p.e = Dual::variable(9.0, 1);
    d.for_each_scalar_mut(&mut |x| *x *= 2.0);
    let back = primal(&d);
    assert_eq!(back.p, p(2.0, 4.0, 6.0, 18.0));
    assert_eq!(back.constituent_pt, [2.0, 4.0]);
    assert_eq!(d.p.e.tangent, [0.0, 2.0]);
}

#[test]
fn visiting_order_is_declaration_order() {
    let j = jet(1.0, 2, 0);
    assert_eq!(collect_scalars(&j), [1.0, 2.0, 3.0, 4.0, 1.0, 2.0]);
    assert_eq!(count_scalars(&j), 6);
    let mut seen = Vec::new();
    j.for_each_scalar(&mut |x| seen.push(*x));
    assert_eq!(seen, collect_scalars(&j));
}

#[test]
fn map_with_a_closure_keeps_non_scalar_fields() {
    let j = jet(2.0, 2, 11);
    let mut calls = 0;
    let squared = j.map_scalars(&mut |x: f64| {
        calls += 1;
        x * x
    });
    assert_eq!(calls, 6);
    assert_eq!(squared.p, p(4.0, 16.0, 36.0, 64.0));
    assert_eq!(squared.constituent_pt, [4.0, 9.0]);
    assert_eq!(squared.index, 11);
}

#[test]
fn extra_parameters_lifetimes_and_const_generics() {
    let name = String::from("central");
    let t: Tagged<'_, Vec<u8>> = Tagged {
        tag: vec![1, 2],
        name: &name,
        xs: [1.0, 2.0],
        maybe: Some(3.0),
        pairs: vec![(4.0, [5.0, 6.0])],
        marker: PhantomData,
    };
    assert_eq!(collect_scalars(&t), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let d: Tagged<'_, Vec<u8>, Dual<1>> = lift(&t);
    assert_eq!(d.tag, [1, 2]);
    assert_eq!(d.name, "central");
    assert_eq!(d.pairs[0].1[1], Dual::from(6.0));
    assert_eq!(primal(&d), t);

    let three: Tagged<'_, (), f64, 3> = Tagged {
        tag: (),
        name: "",
        xs: [1.0, 2.0, 3.0],
        maybe: None,
        pairs: vec![],
        marker: PhantomData,
    };
    assert_eq!(count_scalars(&three), 3);
    // The Vec length of `pairs` (0) and the `None` of `maybe` are in the shape.
    assert_eq!(shape(&three), [0, 0]);
}

#[test]
fn derive_inside_a_declarative_macro() {
    let h = Holder {
        inner: vec![Some(1.0), None],
        count: 2,
    };
    let d: Holder<Dual<1>> = lift(&h);
    assert_eq!(primal(&d), h);
    assert_eq!(shape(&h), [2, 1, 0]);
}

#[test]
fn tuple_struct() {
    let pair = Pair(0.5, vec![jet(1.0, 1, 0), jet(2.0, 0, 1)], "two".to_string());
    assert_eq!(count_scalars(&pair), 1 + 5 + 4);
    let d: Pair<Dual<2>> = lift(&pair);
    assert_eq!(d.2, "two");
    assert_eq!(primal(&d), pair);
    assert_eq!(shape(&pair), [2, 1, 0]);
}

#[test]
fn enums_record_their_variant() {
    let all = [
        Reco::Nothing,
        Reco::Single(jet(1.0, 1, 0)),
        Reco::Dijet {
            lead: jet(2.0, 2, 0),
            sub: jet(1.0, 0, 1),
            mass: 91.0,
        },
        Reco::Counted(4),
    ];
    let counts: Vec<usize> = all.iter().map(count_scalars).collect();
    assert_eq!(counts, [0, 5, 6 + 4 + 1, 0]);
    let shapes: Vec<Vec<usize>> = all.iter().map(shape).collect();
    assert_eq!(shapes, [vec![0], vec![1, 1], vec![2, 2, 0], vec![3]]);
    for r in &all {
        let d: Reco<Dual<2>> = lift(r);
        assert_eq!(&primal(&d), r);
    }
    // Same number of scalars (none), different variant: a shape mismatch.
    assert!(check_same_shape(&all[0], &all[3]).is_err());
}

#[test]
fn recursive_type_through_box() {
    let tree = Tree::Node(
        Box::new(Tree::Leaf(1.0)),
        Box::new(Tree::Node(
            Box::new(Tree::Leaf(2.0)),
            Box::new(Tree::Leaf(3.0)),
            1,
        )),
        0,
    );
    assert_eq!(collect_scalars(&tree), [1.0, 2.0, 3.0]);
    assert_eq!(shape(&tree), [1, 0, 1, 0, 0]);
    let d: Tree<Dual<1>> = lift(&tree);
    assert_eq!(primal(&d), tree);
    let doubled = rebuild(&tree, &[2.0, 4.0, 6.0]).unwrap();
    assert_eq!(collect_scalars(&doubled), [2.0, 4.0, 6.0]);
}

#[test]
fn count_collect_rebuild_round_trip() {
    let r = Reco::Dijet {
        lead: jet(2.0, 2, 5),
        sub: jet(1.0, 1, 6),
        mass: 91.0,
    };
    let flat = collect_scalars(&r);
    assert_eq!(flat.len(), count_scalars(&r));
    assert_eq!(rebuild(&r, &flat).unwrap(), r);

    // Rebuild with another scalar type from a flat list: the layout comes from the template.
    let duals: Vec<Dual<2>> = flat
        .iter()
        .enumerate()
        .map(|(i, &x)| Dual::new(x, [i as f64, 0.0]))
        .collect();
    let d = rebuild(&r, &duals).unwrap();
    let Reco::Dijet { lead, sub, mass } = &d else {
        panic!("variant changed: {d:?}")
    };
    assert_eq!(lead.p.px.tangent[0], 0.0);
    assert_eq!(sub.index, 6);
    assert_eq!(*mass, Dual::new(91.0, [11.0, 0.0])); // 6 + 5 scalars before it
    assert_eq!(collect_scalars(&d), duals);
}

#[test]
fn rebuild_rejects_a_wrong_number_of_scalars() {
    let j = jet(1.0, 2, 0);
    for n in [0, 5, 7, 12] {
        let err = rebuild(&j, &vec![0.0; n]).unwrap_err();
        assert!(
            matches!(err, Error::ShapeMismatch { primal: 6, alternative } if alternative == n),
            "{n}: {err:?}"
        );
    }
}

#[test]
fn shape_detects_what_counts_miss() {
    // Vec of another length with the same total number of scalars.
    let a = (vec![1.0, 2.0], vec![3.0]);
    let b = (vec![1.0], vec![2.0, 3.0]);
    assert_eq!(count_scalars(&a), count_scalars(&b));
    let err = check_same_shape(&a, &b).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                primal: 3,
                alternative: 3
            }
        ),
        "{err:?}"
    );

    // Option variants swapped.
    let a = [Some(1.0), None];
    let b = [None, Some(1.0)];
    assert!(check_same_shape(&a, &b).is_err());

    // A Vec of another length in a nested struct, compared across scalar types.
    let primal_out = vec![jet(1.0, 2, 0)];
    let alternative: Vec<Jet<Dual<1>>> = lift(&vec![jet(3.0, 3, 0)]);
    let err = check_same_shape(&primal_out, &alternative).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                primal: 6,
                alternative: 7
            }
        ),
        "{err:?}"
    );

    // Same shape, different values and scalar types: fine.
    let same: Vec<Jet<Dual<1>>> = lift(&vec![jet(3.0, 2, 9)]);
    check_same_shape(&primal_out, &same).unwrap();
}
