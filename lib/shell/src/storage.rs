//! The storage commands: `blocks`, a look at a block device's blocks.

use alloc::string::String;
use alloc::vec;
use core::fmt::Write;

use com::Result;

use interfaces::IBlockDevice;

use crate::Output;
use crate::context::{Context, Failure, Outcome, absolute, failed, service};

/// How many bytes of a block `blocks read` shows.
const SHOWN_BYTES: usize = 64;

/// `blocks <device> [read <n> | write <n> <text...> | flush]`.
pub fn blocks(context: &mut Context<'_>, arguments: &[&str]) -> Outcome {
    let (name, rest) = arguments.split_first().ok_or(Failure::Usage)?;
    let request = match rest {
        [] => Request::Describe,
        ["read", block] => Request::Read(block.parse().map_err(|_| Failure::Usage)?),
        ["write", block, text @ ..] if !text.is_empty() => {
            Request::Write(block.parse().map_err(|_| Failure::Usage)?, text.join(" "))
        }
        ["flush"] => Request::Flush,
        _ => return Err(Failure::Usage),
    };
    let path = absolute(name);
    let device = service::<IBlockDevice>(context.namespace, &path, 0)?;
    serve(context.output, &path, &device, request).map_err(failed(&path))?;
    Ok(None)
}

/// What `blocks` was asked to do.
enum Request {
    Describe,
    Read(u64),
    Write(u64, String),
    Flush,
}

fn serve(output: &mut Output, path: &str, device: &IBlockDevice, request: Request) -> Result<()> {
    match request {
        Request::Describe => {
            let access = if device.read_only()? {
                "read-only"
            } else {
                "read-write"
            };
            let _ = writeln!(
                output,
                "{path}: {} blocks of {} bytes, {access}",
                device.block_count()?,
                device.block_size()?
            );
        }
        Request::Read(block) => {
            let mut buffer = vec![0u8; block_size(device)?];
            device.read_blocks(block, &mut buffer)?;
            show(output, buffer.get(..SHOWN_BYTES).unwrap_or(&buffer));
        }
        Request::Write(block, text) => {
            let mut buffer = vec![0u8; block_size(device)?];
            let length = text.len().min(buffer.len());
            buffer[..length].copy_from_slice(&text.as_bytes()[..length]);
            device.write_blocks(block, &buffer)?;
        }
        Request::Flush => device.flush()?,
    }
    Ok(())
}

fn block_size(device: &IBlockDevice) -> Result<usize> {
    usize::try_from(device.block_size()?).map_err(|_| com::Status::OUT_OF_RANGE)
}

/// Prints `bytes` as lines of 16 in hexadecimal and as text.
fn show(output: &mut Output, bytes: &[u8]) {
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(output, "{:04x} ", line * 16);
        for byte in chunk {
            let _ = write!(output, " {byte:02x}");
        }
        let text: String = chunk
            .iter()
            .map(|&byte| {
                if byte.is_ascii_graphic() || byte == b' ' {
                    char::from(byte)
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(output, "  |{text}|");
    }
}
