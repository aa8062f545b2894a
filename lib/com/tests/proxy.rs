//! Host tests of proxies made at run time (`com::proxy`): a stub lends
//! an interface pointer argument to the forwarder as the object itself,
//! and `QueryInterface` answers the proxy for `IUnknown` and its own
//! interface and asks the forwarder for any other.

#![allow(clippy::unwrap_used, missing_docs)]

use com::dynamic::{Arg, REGISTERS};
use com::proxy::{Answer, Forwarder, RESULT_BYTES};
use com::{
    ComObject, ComPtr, Guid, IUnknown, Interface, InterfaceSignature, Result, Status, class,
    interface,
};

#[interface("8a3e1f0c-5b2d-4c7e-9f10-2a3b4c5d6e70")]
/// What the forwarder is lent.
pub trait ICalled {
    /// Doubles `value`.
    fn called(&self, value: u64) -> Result<u64>;
}

#[interface("8a3e1f0c-5b2d-4c7e-9f10-2a3b4c5d6e71")]
/// What the proxy stands for.
pub trait IPasses {
    /// Calls `callback` with `value`.
    fn pass(&self, callback: &ICalled, value: u64) -> Result<u64>;
}

#[interface("8a3e1f0c-5b2d-4c7e-9f10-2a3b4c5d6e72")]
/// What nobody has.
pub trait INobody {
    fn nothing(&self) -> Result<()>;
}

#[class(ICalled)]
struct Doubling;

impl ICalledImpl for Doubling {
    fn called(&self, value: u64) -> Result<u64> {
        Ok(value * 2)
    }
}

/// Calls the object it is lent (as a server's stub would be handed it);
/// asked for `ICalled`, gives a `Doubling`.
struct Fake;

impl Forwarder for Fake {
    fn signature(&self) -> &'static InterfaceSignature {
        IPasses::SIGNATURE
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }

    fn forward(
        &self,
        method: usize,
        _: &[u64; REGISTERS],
        args: &mut [Arg<'_>],
        _: &mut [u8; RESULT_BYTES],
    ) -> Result<Answer> {
        let (0, [Arg::Interface(object), Arg::Word(value)]) = (method, &*args) else {
            return Err(Status::INVALID_ARGUMENT);
        };
        let called = object.query::<ICalled>()?.called(*value)?;
        Ok(Answer::Word(called + 1))
    }

    fn query(&self, iid: &Guid) -> Result<ComPtr<IUnknown>> {
        if *iid != ICalled::IID {
            return Err(Status::NO_INTERFACE);
        }
        Ok(ComObject::create::<ICalled>(Doubling).to_unknown())
    }
}

#[test]
fn an_interface_argument_reaches_the_forwarder_as_the_object() {
    let proxy = com::proxy::create(Box::new(Fake)).unwrap();
    let passes = proxy.query::<IPasses>().unwrap();
    let doubling: ComPtr<ICalled> = ComObject::create(Doubling);
    assert_eq!(passes.pass(&doubling, 20), Ok(41));
}

#[test]
fn query_interface_answers_the_proxy_or_asks_the_forwarder() {
    let proxy = com::proxy::create(Box::new(Fake)).unwrap();
    let passes = proxy.query::<IPasses>().unwrap();
    assert_eq!(passes.as_raw(), proxy.as_raw());
    let identity = passes.query::<IUnknown>().unwrap();
    assert_eq!(identity.as_raw(), proxy.as_raw());
    let called = passes.query::<ICalled>().unwrap();
    assert_ne!(called.as_raw(), proxy.as_raw());
    assert_eq!(called.called(4), Ok(8));
    assert_eq!(
        passes.query::<INobody>().map(drop),
        Err(Status::NO_INTERFACE)
    );
}

/// The module that made a proxy knows it by its forwarder; no other
/// object passes for one.
#[test]
fn a_proxy_is_known_by_its_forwarder() {
    let proxy = com::proxy::create(Box::new(Fake)).unwrap();
    let forwarder = com::proxy::forwarder_of(&proxy).expect("a proxy");
    assert!(forwarder.as_any().downcast_ref::<Fake>().is_some());
    let other = ComObject::create::<ICalled>(Doubling);
    assert!(com::proxy::forwarder_of(other.as_unknown()).is_none());
}
