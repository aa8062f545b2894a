//! Floating-point registers across a call into another process: the
//! client fills every register and `fcsr` and calls, the server checks it
//! starts with zeros and leaves values of its own, and the client checks
//! its values came back (docs/ipc.md, "Floating-point registers").

use app::Proxy;
use com::{Result, Status};
use interfaces::IConsole;
use interfaces::ipc::ecall as service;
use private_interfaces::IEcho;

use crate::print;

/// `fcsr` as the client sets it: rounding towards zero, every flag.
const CLIENT_FCSR: u64 = 0x3f;
/// `fcsr` as the server leaves it: rounding down, two flags.
const SERVER_FCSR: u64 = 0x4a;
/// `IEcho::nothing`'s method number.
const NOTHING: u64 = 0;

/// The client's register values: none zero, each different.
fn client_values() -> [u64; 32] {
    core::array::from_fn(|index| 0x4009_21fb_5444_2d18 ^ ((index as u64 + 1) << 20))
}

/// Calls `nothing` at `name` with every floating-point register live, and
/// prints whether the call went well and how many registers came back.
pub fn client(name: &str) -> i32 {
    let Ok(console) = Proxy::<IConsole>::bind("/dev/console") else {
        return 100;
    };
    let echo = match Proxy::<IEcho>::bind(name) {
        Ok(echo) => echo,
        Err(status) => return status.0,
    };
    let values = client_values();
    let mut after = [0u64; 32];
    let (status, fcsr) = call_with_registers(echo.handle(), &values, &mut after);
    let mut kept = values.iter().zip(&after).filter(|(a, b)| a == b).count();
    kept += usize::from(fcsr == CLIENT_FCSR);
    print(
        &console,
        format_args!(
            "apptest: fp call: {}, registers kept: {kept} of 33",
            status.0
        ),
    );
    if status.is_ok() {
        i32::try_from(33 - kept).unwrap_or(i32::MAX)
    } else {
        status.0
    }
}

/// Loads `values` and [`CLIENT_FCSR`], calls `nothing` on import
/// `handle` by `ecall`, and stores the registers into `after`: the call's
/// status and `fcsr` after it. One `asm!` block, so no compiled code
/// between saves or restores any register.
fn call_with_registers(handle: u64, values: &[u64; 32], after: &mut [u64; 32]) -> (Status, u64) {
    let (a0, fcsr): (u64, u64);
    // SAFETY: reads 256 bytes of `values` and writes 256 bytes of
    // `after`; every register the block changes is declared, and the
    // `ecall` returns with all but `a0` and `a1` as they were (the IPC's
    // trap ABI).
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!(
            "fld f0, 0({from})",
            "fld f1, 8({from})",
            "fld f2, 16({from})",
            "fld f3, 24({from})",
            "fld f4, 32({from})",
            "fld f5, 40({from})",
            "fld f6, 48({from})",
            "fld f7, 56({from})",
            "fld f8, 64({from})",
            "fld f9, 72({from})",
            "fld f10, 80({from})",
            "fld f11, 88({from})",
            "fld f12, 96({from})",
            "fld f13, 104({from})",
            "fld f14, 112({from})",
            "fld f15, 120({from})",
            "fld f16, 128({from})",
            "fld f17, 136({from})",
            "fld f18, 144({from})",
            "fld f19, 152({from})",
            "fld f20, 160({from})",
            "fld f21, 168({from})",
            "fld f22, 176({from})",
            "fld f23, 184({from})",
            "fld f24, 192({from})",
            "fld f25, 200({from})",
            "fld f26, 208({from})",
            "fld f27, 216({from})",
            "fld f28, 224({from})",
            "fld f29, 232({from})",
            "fld f30, 240({from})",
            "fld f31, 248({from})",
            "fscsr {fcsr_in}",
            "ecall",
            "fsd f0, 0({to})",
            "fsd f1, 8({to})",
            "fsd f2, 16({to})",
            "fsd f3, 24({to})",
            "fsd f4, 32({to})",
            "fsd f5, 40({to})",
            "fsd f6, 48({to})",
            "fsd f7, 56({to})",
            "fsd f8, 64({to})",
            "fsd f9, 72({to})",
            "fsd f10, 80({to})",
            "fsd f11, 88({to})",
            "fsd f12, 96({to})",
            "fsd f13, 104({to})",
            "fsd f14, 112({to})",
            "fsd f15, 120({to})",
            "fsd f16, 128({to})",
            "fsd f17, 136({to})",
            "fsd f18, 144({to})",
            "fsd f19, 152({to})",
            "fsd f20, 160({to})",
            "fsd f21, 168({to})",
            "fsd f22, 176({to})",
            "fsd f23, 184({to})",
            "fsd f24, 192({to})",
            "fsd f25, 200({to})",
            "fsd f26, 208({to})",
            "fsd f27, 216({to})",
            "fsd f28, 224({to})",
            "fsd f29, 232({to})",
            "fsd f30, 240({to})",
            "fsd f31, 248({to})",
            "frcsr {fcsr_out}",
            from = in(reg) values.as_ptr(),
            to = in(reg) after.as_mut_ptr(),
            fcsr_in = in(reg) CLIENT_FCSR,
            fcsr_out = lateout(reg) fcsr,
            in("t0") service::CALL,
            in("t1") NOTHING,
            inlateout("a0") handle => a0,
            lateout("a1") _,
            out("f0") _,
            out("f1") _,
            out("f2") _,
            out("f3") _,
            out("f4") _,
            out("f5") _,
            out("f6") _,
            out("f7") _,
            out("f8") _,
            out("f9") _,
            out("f10") _,
            out("f11") _,
            out("f12") _,
            out("f13") _,
            out("f14") _,
            out("f15") _,
            out("f16") _,
            out("f17") _,
            out("f18") _,
            out("f19") _,
            out("f20") _,
            out("f21") _,
            out("f22") _,
            out("f23") _,
            out("f24") _,
            out("f25") _,
            out("f26") _,
            out("f27") _,
            out("f28") _,
            out("f29") _,
            out("f30") _,
            out("f31") _,
            options(nostack),
        );
    }
    (crate::status_of(a0), fcsr)
}

/// The server's side: `FAILED` unless every register and `fcsr` start
/// zero; leaves values of its own in them all either way.
pub fn serve() -> Result<()> {
    let mut seen = [0u64; 32];
    let fcsr: u64;
    let mine: [u64; 32] = core::array::from_fn(|index| !(index as u64) << 8);
    // SAFETY: writes 256 bytes of `seen`, reads 256 bytes of `mine`;
    // every register the block changes is declared.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!(
            "fsd f0, 0({seen})",
            "fsd f1, 8({seen})",
            "fsd f2, 16({seen})",
            "fsd f3, 24({seen})",
            "fsd f4, 32({seen})",
            "fsd f5, 40({seen})",
            "fsd f6, 48({seen})",
            "fsd f7, 56({seen})",
            "fsd f8, 64({seen})",
            "fsd f9, 72({seen})",
            "fsd f10, 80({seen})",
            "fsd f11, 88({seen})",
            "fsd f12, 96({seen})",
            "fsd f13, 104({seen})",
            "fsd f14, 112({seen})",
            "fsd f15, 120({seen})",
            "fsd f16, 128({seen})",
            "fsd f17, 136({seen})",
            "fsd f18, 144({seen})",
            "fsd f19, 152({seen})",
            "fsd f20, 160({seen})",
            "fsd f21, 168({seen})",
            "fsd f22, 176({seen})",
            "fsd f23, 184({seen})",
            "fsd f24, 192({seen})",
            "fsd f25, 200({seen})",
            "fsd f26, 208({seen})",
            "fsd f27, 216({seen})",
            "fsd f28, 224({seen})",
            "fsd f29, 232({seen})",
            "fsd f30, 240({seen})",
            "fsd f31, 248({seen})",
            "frcsr {fcsr}",
            "fld f0, 0({mine})",
            "fld f1, 8({mine})",
            "fld f2, 16({mine})",
            "fld f3, 24({mine})",
            "fld f4, 32({mine})",
            "fld f5, 40({mine})",
            "fld f6, 48({mine})",
            "fld f7, 56({mine})",
            "fld f8, 64({mine})",
            "fld f9, 72({mine})",
            "fld f10, 80({mine})",
            "fld f11, 88({mine})",
            "fld f12, 96({mine})",
            "fld f13, 104({mine})",
            "fld f14, 112({mine})",
            "fld f15, 120({mine})",
            "fld f16, 128({mine})",
            "fld f17, 136({mine})",
            "fld f18, 144({mine})",
            "fld f19, 152({mine})",
            "fld f20, 160({mine})",
            "fld f21, 168({mine})",
            "fld f22, 176({mine})",
            "fld f23, 184({mine})",
            "fld f24, 192({mine})",
            "fld f25, 200({mine})",
            "fld f26, 208({mine})",
            "fld f27, 216({mine})",
            "fld f28, 224({mine})",
            "fld f29, 232({mine})",
            "fld f30, 240({mine})",
            "fld f31, 248({mine})",
            "fscsr {fcsr_mine}",
            seen = in(reg) seen.as_mut_ptr(),
            mine = in(reg) mine.as_ptr(),
            fcsr = lateout(reg) fcsr,
            fcsr_mine = in(reg) SERVER_FCSR,
            out("f0") _,
            out("f1") _,
            out("f2") _,
            out("f3") _,
            out("f4") _,
            out("f5") _,
            out("f6") _,
            out("f7") _,
            out("f8") _,
            out("f9") _,
            out("f10") _,
            out("f11") _,
            out("f12") _,
            out("f13") _,
            out("f14") _,
            out("f15") _,
            out("f16") _,
            out("f17") _,
            out("f18") _,
            out("f19") _,
            out("f20") _,
            out("f21") _,
            out("f22") _,
            out("f23") _,
            out("f24") _,
            out("f25") _,
            out("f26") _,
            out("f27") _,
            out("f28") _,
            out("f29") _,
            out("f30") _,
            out("f31") _,
            options(nostack),
        );
    }
    // And some arithmetic, as a server using floating point would do.
    let half = core::hint::black_box(1.0f64) / core::hint::black_box(2.0f64);
    if seen.iter().all(|&word| word == 0) && fcsr == 0 && half == 0.5 {
        Ok(())
    } else {
        Err(Status::FAILED)
    }
}
