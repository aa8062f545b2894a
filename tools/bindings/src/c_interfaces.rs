//! C vtables and IIDs from the signature tables that `#[interface]` emits.
//!
//! Each method becomes a function pointer `tsr_status (*name)(void *self,
//! arguments..., T *out)` — the ABI of `docs/abi.md`, with the success
//! value through the trailing out-pointer. Records returned by value have no
//! C description in the signature table yet, so an interface with one is
//! listed in a comment instead of declared.

use std::fmt::Write;

use com::{ArgKind, Guid, IMutable, IUnknown, Interface, InterfaceSignature, MethodSignature};
use image::def::signature::{C_KEYWORDS, c_declaration, c_pointer_to};
use interfaces::{
    IConsole, ICounter, IFile, IHeap, IHello, IInterpose, IInterruptSource, IInterrupts, ILoader,
    IMemoryFile, IModule, IMutate, INamespace, IPower, IProcess, IScheduler, ISchedulerPolicy,
    IThread, IThreads, ITransition,
};

/// The interfaces C components may implement or call, in header order.
/// The test-only ones (`IBenchmarks`, `ISelfTests`) stay out.
const INTERFACES: &[&InterfaceSignature] = &[
    IConsole::SIGNATURE,
    ICounter::SIGNATURE,
    IFile::SIGNATURE,
    IHeap::SIGNATURE,
    IHello::SIGNATURE,
    IInterpose::SIGNATURE,
    IInterruptSource::SIGNATURE,
    IInterrupts::SIGNATURE,
    ILoader::SIGNATURE,
    IMemoryFile::SIGNATURE,
    IModule::SIGNATURE,
    IMutable::SIGNATURE,
    IMutate::SIGNATURE,
    INamespace::SIGNATURE,
    IPower::SIGNATURE,
    IProcess::SIGNATURE,
    IScheduler::SIGNATURE,
    ISchedulerPolicy::SIGNATURE,
    IThread::SIGNATURE,
    IThreads::SIGNATURE,
    ITransition::SIGNATURE,
];

/// `include/tessera/interfaces.h`.
pub fn header() -> String {
    let mut out = format!(
        "/*\n * The interfaces' vtables and IIDs, for components written in C.\n *\n \
         * Generated from the signature tables of the #[interface] declarations\n \
         * (lib/interfaces, lib/com) by `{}`: edit those, not this file.\n \
         * Included by tessera.h; include that. IIDs are in RFC 4122 byte order.\n */\n\
         #ifndef TESSERA_INTERFACES_H\n#define TESSERA_INTERFACES_H\n",
        crate::REFRESH
    );
    let _ = writeln!(
        out,
        "\n/* IUnknown: its vtable is IUnknownVtbl, in tessera.h. */\n{}",
        iid_define(IUnknown::SIGNATURE)
    );
    for interface in INTERFACES {
        if let Some(declaration) = vtable(interface) {
            let _ = writeln!(
                out,
                "\n/* {} ({}) */\n{}",
                interface.name,
                interface.iid,
                iid_define(interface)
            );
            let _ = write!(out, "{declaration}");
        } else {
            let _ = writeln!(
                out,
                "\n/* {} ({}): not for C yet, a method returns a record. */",
                interface.name, interface.iid
            );
        }
    }
    out.push_str("\n#endif\n");
    out
}

/// `#define TSR_IID_IHELLO {{0xf0, ...}}`.
fn iid_define(interface: &InterfaceSignature) -> String {
    format!(
        "#define TSR_IID_{} {{{{{}}}}}",
        interface.name.to_ascii_uppercase(),
        guid_bytes(interface.iid)
    )
}

fn guid_bytes(guid: Guid) -> String {
    let bytes: Vec<String> = guid.0.iter().map(|byte| format!("{byte:#04x}")).collect();
    bytes.join(", ")
}

/// The vtable typedef, or `None` if a method has no C spelling.
fn vtable(interface: &InterfaceSignature) -> Option<String> {
    let mut out = format!(
        "typedef struct {name}Vtbl {{\n    IUnknownVtbl base;\n",
        name = interface.name
    );
    for method in interface.methods {
        let _ = writeln!(out, "    {};", slot(method)?);
    }
    let _ = writeln!(out, "}} {}Vtbl;", interface.name);
    Some(out)
}

/// `tsr_status (*greet)(void *self, tsr_mut_bytes buffer, uint64_t *out)`.
fn slot(method: &MethodSignature) -> Option<String> {
    let mut params = vec!["void *self".to_string()];
    for arg in method.args {
        params.push(c_declaration(&c_type(arg.kind)?, &c_name(arg.name)));
    }
    if let Some(ret) = method.ret {
        params.push(c_declaration(&c_pointer_to(&c_type(ret)?), "out"));
    }
    Some(format!(
        "tsr_status (*{})({})",
        c_name(method.name),
        params.join(", ")
    ))
}

/// How a kind crosses the ABI, spelled in C; `None` for a record.
fn c_type(kind: ArgKind) -> Option<String> {
    Some(match kind {
        ArgKind::Unsigned(bytes) => format!("uint{}_t", bytes * 8),
        ArgKind::Signed(bytes) => format!("int{}_t", bytes * 8),
        ArgKind::Bool => "uint32_t".into(),
        ArgKind::Str => "tsr_str".into(),
        ArgKind::Bytes => "tsr_bytes".into(),
        ArgKind::BytesMut => "tsr_mut_bytes".into(),
        ArgKind::Interface(_) | ArgKind::OwnedInterface(_) => "void *".into(),
        ArgKind::Guid => "const tsr_guid *".into(),
        ArgKind::Address => "uint8_t *".into(),
        ArgKind::Record(_) => return None,
    })
}

/// A Rust name that is a C keyword gets a trailing `_` (`register_`).
fn c_name(name: &str) -> String {
    if C_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}
