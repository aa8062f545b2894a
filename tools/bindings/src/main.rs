//! `bindings`: rewrites every generated file that differs from what its
//! source says (see the library's documentation for the list).

use std::process::ExitCode;

use anyhow::{Context, Result};

fn main() -> ExitCode {
    match refresh() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bindings: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn refresh() -> Result<()> {
    let root = bindings::workspace_root();
    for file in bindings::generate(&root)? {
        let path = root.join(file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == file.contents {
            println!("bindings: {} is up to date", file.path);
            continue;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("bindings: wrote {}", file.path);
    }
    Ok(())
}
