//! The live-object count a module's unload check relies on (its own test
//! binary, so no other test creates objects meanwhile).

use com::{ComObject, Result, class, interface};

#[interface("d2f1a8c4-1b7e-4c55-9e0a-3f6b2c8d7e90")]
/// A do-nothing interface.
pub trait IThing {
    /// Does nothing.
    fn touch(&self) -> Result<()>;
}

#[class(IThing)]
struct Thing;

impl IThingImpl for Thing {
    fn touch(&self) -> Result<()> {
        Ok(())
    }
}

#[test]
fn live_objects_counts_creations_and_destructions() {
    assert_eq!(com::live_objects(), 0);
    let first = ComObject::create::<IThing>(Thing);
    let second = ComObject::create::<IThing>(Thing);
    let extra = first.clone();
    assert_eq!(com::live_objects(), 2);
    drop(first);
    assert_eq!(com::live_objects(), 2, "a reference is still held");
    drop(extra);
    assert_eq!(com::live_objects(), 1);
    second.touch().expect("callable");
    drop(second);
    assert_eq!(com::live_objects(), 0);
}
