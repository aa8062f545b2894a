//! Host tests of interface methods declared with a body: the body is the
//! default of the `…Impl` trait, an implementation may override it, and
//! either way the method is an ordinary vtable slot.

#![allow(clippy::unwrap_used, missing_docs)]

use com::{ArgKind, ComObject, ComPtr, Interface, Result, Status, class, interface};

#[interface("5b0e7a10-1c2d-4e3f-8a9b-0c1d2e3f4a60")]
/// A test interface with one required method and two defaults.
pub trait IDial {
    /// The dial's position.
    fn position(&self) -> Result<u32>;
    /// Turns the dial to `position`; `NOT_SUPPORTED` by fixed dials.
    fn turn(&self, position: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    /// How far the dial goes; 10 unless a dial says otherwise.
    fn limit(&self) -> Result<u32> {
        Ok(10)
    }
}

/// A dial that leaves both defaults in place.
#[class(IDial)]
struct FixedDial;

impl IDialImpl for FixedDial {
    fn position(&self) -> Result<u32> {
        Ok(3)
    }
}

/// A dial that overrides one default and keeps the other.
#[class(IDial)]
struct TurningDial(std::sync::atomic::AtomicU32);

impl IDialImpl for TurningDial {
    fn position(&self) -> Result<u32> {
        Ok(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }

    fn turn(&self, position: u32) -> Result<()> {
        self.0.store(position, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn an_implementation_without_the_method_answers_with_the_default() {
    let dial: ComPtr<IDial> = ComObject::create(FixedDial);
    assert_eq!(dial.turn(7), Err(Status::NOT_SUPPORTED));
    assert_eq!(dial.limit(), Ok(10));
    assert_eq!(dial.position(), Ok(3));
}

#[test]
fn an_override_wins_over_the_default() {
    let dial: ComPtr<IDial> = ComObject::create(TurningDial(0.into()));
    assert_eq!(dial.turn(7), Ok(()));
    assert_eq!(dial.position(), Ok(7));
    // The default it did not override still applies.
    assert_eq!(dial.limit(), Ok(10));
}

#[test]
fn defaulted_methods_are_ordinary_slots_in_the_signature_table() {
    let methods = IDial::SIGNATURE.methods;
    let names: Vec<_> = methods.iter().map(|method| method.name).collect();
    assert_eq!(names, ["position", "turn", "limit"]);
    // The argument keeps its declared name, unused by the default or not.
    assert_eq!(methods[1].args.len(), 1);
    assert_eq!(methods[1].args[0].name, "position");
    assert_eq!(methods[1].args[0].kind, ArgKind::Unsigned(4));
}
