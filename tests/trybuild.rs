//! Compile-fail tests of `#[derive(Scalars)]`: each case in `tests/ui` must fail with exactly the
//! message in its `.stderr` file (a `compile_fail` doctest would pass on any error).

#[test]
fn derive_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
