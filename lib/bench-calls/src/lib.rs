//! The raw calls the `benchmarks` test component times: an interface method through its vtable entry, and a module's function through its export address.
//!
//! Their figures are those of the raw calls, so the calls are made the way
//! C makes them; each is wrapped here in a safe function that knows the
//! exact binary signature it calls, so the component itself stays free of
//! `unsafe`. Only the test image holds code that uses this crate.
//!
//! Depends on `com` and `interfaces` (`IModule`); `components/benchmarks`
//! uses it.

#![no_std]

use core::ffi::c_void;

use com::{ComPtr, Interface, Result, Status, interface};
use interfaces::IModule;

#[interface("337f4e2c-d4e5-43a3-be2b-4e60c6b70800")]
/// The interface the call benchmarks go through.
pub trait IProbe {
    /// Returns `value + 1`.
    fn add(&self, value: u64) -> Result<u64>;
    /// Does nothing: what a call that takes and returns nothing costs.
    fn nothing(&self) -> Result<()>;
}

/// Calls `probe`'s `add` straight through its vtable entry, as C does:
/// no `Result` is made of the status, and `out` is passed as it is.
#[inline(always)]
pub fn add_through_vtable(probe: &IProbe, value: u64, out: &mut u64) -> Status {
    let this = probe.as_raw();
    // SAFETY: the first word of an interface is its vtable pointer, an
    // `IProbeVtbl` for an `IProbe`; `add`'s entry takes the object, the
    // value and a writable result pointer, which `out` is.
    unsafe {
        let vtable = &**this.cast::<*const IProbeVtbl>();
        (vtable.add)(this, value, out)
    }
}

/// The functions `callbench` exports, each an `extern "C" fn()`
/// (`component::export!` in `components/callbench`).
const CALLBENCH_EXPORTS: &[&str] = &["call_local", "call_imported"];

/// One of `callbench`'s exported functions, with the module kept loaded.
pub struct CallbenchExport {
    function: extern "C" fn(),
    _module: ComPtr<IModule>,
}

impl CallbenchExport {
    /// Export `name` of `module`, which must be a `callbench` instance
    /// (`NOT_SUPPORTED` otherwise, or for a name it does not export).
    pub fn find(module: ComPtr<IModule>, name: &str) -> Result<CallbenchExport> {
        let mut module_name = [0u8; 16];
        // A name that does not fit is not `callbench`.
        let length = module.name(&mut module_name).unwrap_or(0);
        let callbench = module_name.get(..length) == Some(b"callbench".as_slice());
        if !callbench || !CALLBENCH_EXPORTS.contains(&name) {
            return Err(Status::NOT_SUPPORTED);
        }
        let address = module.export_by_name(&com::Guid::default(), name)?;
        let address = usize::try_from(address).map_err(|_| Status::OUT_OF_RANGE)?;
        if address == 0 {
            return Err(Status::NOT_FOUND);
        }
        let pointer = core::ptr::with_exposed_provenance::<c_void>(address);
        // SAFETY: the export is one of callbench's `extern "C" fn()`s
        // (checked above), and the module stays loaded while `self` holds it.
        let function = unsafe { core::mem::transmute::<*const c_void, extern "C" fn()>(pointer) };
        Ok(CallbenchExport {
            function,
            _module: module,
        })
    }

    /// The function itself, to call.
    #[inline(always)]
    pub fn function(&self) -> extern "C" fn() {
        self.function
    }
}
