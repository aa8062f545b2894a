//! Signing keys: the development key pair (made on first use, kept out of
//! git under `target/signing/`), `cargo xtask keygen`, `cargo xtask sign
//! PATH`, and the trust file the manifest names, packed into the boot
//! image (see docs/signing.md).

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use signing::{SEED_SIZE, SigningKey, trust};

use crate::manifest::Manifest;
use crate::workspace::workspace_root;

/// Where the boot image holds the trust file.
pub const TRUST_FILE_IN_BOOT: &str = "/trusted-keys";

/// The directory of the development key pair.
fn key_directory() -> PathBuf {
    workspace_root().join("target/signing")
}

/// The development key's secret file: its seed as 64 hex digits.
pub fn development_secret_path() -> PathBuf {
    key_directory().join("dev.key")
}

/// The development key's public file: one trust-file line.
pub fn development_public_path() -> PathBuf {
    key_directory().join("dev.pub")
}

/// The development key, made on first use.
pub fn development_key() -> Result<SigningKey> {
    let secret = development_secret_path();
    if !secret.exists() {
        make_development_key(&secret)?;
    }
    let key = read_key(&secret)?;
    let public = development_public_path();
    if !public.exists() {
        fs::write(
            &public,
            trust::line(&key.public(), "tessera development key"),
        )
        .with_context(|| format!("writing {}", public.display()))?;
    }
    Ok(key)
}

/// Writes a new random seed to `secret`, readable by its owner only.
fn make_development_key(secret: &Path) -> Result<()> {
    fs::create_dir_all(key_directory())?;
    let mut seed = [0u8; SEED_SIZE];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut seed))
        .context("reading /dev/urandom for a new key")?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(secret)
        .with_context(|| format!("creating {}", secret.display()))?;
    writeln!(file, "{}", trust::to_hex(&seed))?;
    println!(
        "xtask: made the development signing key {}",
        secret.display()
    );
    Ok(())
}

/// The key whose seed `path` holds (64 hex digits).
fn read_key(path: &Path) -> Result<SigningKey> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SigningKey::from_hex(&text)
        .ok_or_else(|| anyhow!("{}: not a key (64 hex digits)", path.display()))
}

/// `cargo xtask keygen`: makes the development key pair if missing and
/// says where it is.
pub fn keygen() -> Result<()> {
    let key = development_key()?;
    println!(
        "xtask: development key: {} (secret, mode 0600), {} (public)\n{}",
        development_secret_path().display(),
        development_public_path().display(),
        trust::line(&key.public(), "tessera development key").trim_end()
    );
    Ok(())
}

/// `cargo xtask sign PATH`: signs the image at `path` in place with the
/// development key.
pub fn sign_file(path: &Path) -> Result<()> {
    let mut bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    development_key()?
        .sign(&mut bytes)
        .map_err(|error| anyhow!("{}: {error}", path.display()))?;
    fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    println!("xtask: signed {}", path.display());
    Ok(())
}

/// The trust file the manifest names, checked, as `(path in /boot, bytes)`.
pub fn trust_file(manifest: &Manifest) -> Result<(String, Vec<u8>)> {
    // The default trust file is the development key's public file.
    development_key()?;
    let path = workspace_root().join(&manifest.trust_file);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let keys = trust::parse(&text).map_err(|error| anyhow!("{}: {error}", path.display()))?;
    if keys.is_empty() {
        bail!("{}: the trust file holds no key", path.display());
    }
    Ok((TRUST_FILE_IN_BOOT.to_owned(), text.into_bytes()))
}
