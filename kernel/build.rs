//! Links the kernel with its layout and embeds the boot RomFS that
//! `cargo xtask build` packed (its path arrives in `TESSERA_ROMFS`).

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let script = manifest.join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rerun-if-env-changed=TESSERA_ROMFS");
    match env::var("TESSERA_ROMFS") {
        Ok(romfs) => println!("cargo:rerun-if-changed={romfs}"),
        Err(_) => {
            eprintln!("error: TESSERA_ROMFS is not set; build the kernel with `cargo xtask build`");
            std::process::exit(1);
        }
    }
}
