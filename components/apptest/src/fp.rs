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

/// One instruction `$op` (`fld` or `fsd`) for each of the 32 registers,
/// register *n* at byte 8*n from the operand named `$base`, as `asm!`
/// template lines.
macro_rules! every_register {
    ($op:literal, $base:literal) => {
        concat!(
            ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n",
            $op, " f\\n, 8*\\n({", $base, "})\n",
            ".endr"
        )
    };
}

/// `asm!` with every floating-point register declared changed.
macro_rules! asm_clobbering_fp {
    ($($operands:tt)*) => {
        core::arch::asm!(
            $($operands)*
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
        )
    };
}

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
        asm_clobbering_fp!(
            every_register!("fld", "from"),
            "fscsr {fcsr_in}",
            "ecall",
            every_register!("fsd", "to"),
            "frcsr {fcsr_out}",
            from = in(reg) values.as_ptr(),
            to = in(reg) after.as_mut_ptr(),
            fcsr_in = in(reg) CLIENT_FCSR,
            fcsr_out = lateout(reg) fcsr,
            in("t0") service::CALL,
            in("t1") NOTHING,
            inlateout("a0") handle => a0,
            lateout("a1") _,
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
        asm_clobbering_fp!(
            every_register!("fsd", "seen"),
            "frcsr {fcsr}",
            every_register!("fld", "mine"),
            "fscsr {fcsr_mine}",
            seen = in(reg) seen.as_mut_ptr(),
            mine = in(reg) mine.as_ptr(),
            fcsr = lateout(reg) fcsr,
            fcsr_mine = in(reg) SERVER_FCSR,
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
