//! One connection: requests read and parsed into a bounded buffer,
//! answered in turn, until the client closes, asks to close, goes silent,
//! or sends what the parser refuses (answered with its error status).

use alloc::string::String;
use core::fmt::Write;

use com::{Result, Status};
use http::{Error, Head, Limits, Method, Parse, Request, StatusCode, write_head};
use interfaces::ISocket;

use crate::{Shared, status};

/// What a request's head may be.
const LIMITS: Limits = Limits::DEFAULT;
/// The bytes a connection reads into: a whole head at most.
pub const BUFFER: usize = LIMITS.head;
/// How long an open connection may stay idle between requests, and a
/// request or a response take to come through, in milliseconds.
const IDLE_MS: u64 = 5000;
/// How long a closing connection waits for the client to close its
/// side, so that the response is not cut by a reset, in milliseconds.
const LINGER_MS: u64 = 1000;

/// The page, which fetches `/status.json` and shows it.
const PAGE: &str = include_str!("page.html");

/// Serves the connection on `socket` until it ends, then closes it.
pub fn serve(shared: &Shared<'_>, socket: &ISocket, buffer: &mut [u8]) {
    let mut filled = 0;
    while !shared.stopping() {
        let parsed = http::parse(buffer.get(..filled).unwrap_or_default(), &LIMITS);
        let outcome = match parsed {
            Ok(Parse::Complete(request)) => answer(shared, socket, &request).map(|()| {
                let used = request.head_length;
                (request.keep_alive, used, request.content_length)
            }),
            Ok(Parse::Incomplete) => match receive_more(shared, socket, buffer, &mut filled) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(Status::TIMED_OUT) if filled > 0 => {
                    let _ = refuse(shared, socket, StatusCode::REQUEST_TIMEOUT, "too slow");
                    break;
                }
                Err(_) => break,
            },
            Err(error) => {
                let _ = refuse_request(shared, socket, &error);
                break;
            }
        };
        let Ok((true, used, body)) = outcome else {
            break;
        };
        match skip_body(shared, socket, buffer, filled, used, body) {
            Ok(left) => filled = left,
            Err(_) => break,
        }
    }
    close(shared, socket, buffer);
}

/// Receives into the free end of `buffer`: false when the client closed
/// its side (or the buffer is full, which the parser's limits prevent).
fn receive_more(
    shared: &Shared<'_>,
    socket: &ISocket,
    buffer: &mut [u8],
    filled: &mut usize,
) -> Result<bool> {
    let Some(free) = buffer.get_mut(*filled..).filter(|free| !free.is_empty()) else {
        return Ok(false);
    };
    let received = socket.receive(free, shared.deadline_in(IDLE_MS))?;
    *filled += received;
    Ok(received > 0)
}

/// Drops the body of the request whose head is `used` bytes (the server
/// takes none), and moves what follows it — the next request — to the
/// start of `buffer`; returns how much of it there is.
fn skip_body(
    shared: &Shared<'_>,
    socket: &ISocket,
    buffer: &mut [u8],
    filled: usize,
    used: usize,
    body: u64,
) -> Result<usize> {
    let after_head = filled.saturating_sub(used);
    let buffered = usize::try_from(body).map_or(after_head, |body| body.min(after_head));
    let mut missing = body.saturating_sub(buffered as u64);
    buffer.copy_within(used + buffered..filled, 0);
    let left = after_head - buffered;
    while missing > 0 {
        // Read into the free space, which holds nothing worth keeping.
        let scratch = buffer.get_mut(left..).ok_or(Status::FAILED)?;
        let wanted = usize::try_from(missing).map_or(scratch.len(), |m| m.min(scratch.len()));
        let received = socket.receive(
            scratch.get_mut(..wanted).unwrap_or_default(),
            shared.deadline_in(IDLE_MS),
        )?;
        if received == 0 {
            return Err(Status::NOT_CONNECTED);
        }
        missing -= received as u64;
    }
    Ok(left)
}

/// Answers a well-formed request: the page, the status, or 404.
fn answer(shared: &Shared<'_>, socket: &ISocket, request: &Request<'_>) -> Result<()> {
    let json;
    let (status, content_type, body) = match request.path {
        "/" | "/index.html" => (StatusCode::OK, "text/html; charset=utf-8", PAGE),
        "/status.json" => {
            json = status::json(shared.namespace);
            match &json {
                Ok(text) => (StatusCode::OK, "application/json", text.as_str()),
                Err(_) => (
                    StatusCode::INTERNAL_ERROR,
                    "text/plain; charset=utf-8",
                    "the system's status could not be read\n",
                ),
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "nothing is served here: try / or /status.json\n",
        ),
    };
    let head = Head {
        status,
        content_type,
        content_length: body.len(),
        keep_alive: request.keep_alive,
    };
    let body = if request.method == Method::Head {
        ""
    } else {
        body
    };
    respond(shared, socket, &head, body)
}

/// Answers a request the parser refused, with its status and why.
fn refuse_request(shared: &Shared<'_>, socket: &ISocket, error: &Error) -> Result<()> {
    refuse(shared, socket, error.status(), error.reason())
}

/// Answers with an error `status` and a line saying why; the connection
/// closes after.
fn refuse(shared: &Shared<'_>, socket: &ISocket, status: StatusCode, why: &str) -> Result<()> {
    let mut body = String::new();
    let _ = writeln!(body, "{} {}: {why}", status.code, status.reason);
    let head = Head {
        status,
        content_type: "text/plain; charset=utf-8",
        content_length: body.len(),
        keep_alive: false,
    };
    respond(shared, socket, &head, &body)
}

/// Sends the head and the body.
fn respond(shared: &Shared<'_>, socket: &ISocket, head: &Head<'_>, body: &str) -> Result<()> {
    let mut text = String::new();
    write_head(&mut text, head).map_err(|_| Status::FAILED)?;
    send_all(shared, socket, text.as_bytes())?;
    send_all(shared, socket, body.as_bytes())
}

/// Sends all of `data`, or fails when the client takes none of it for
/// [`IDLE_MS`].
fn send_all(shared: &Shared<'_>, socket: &ISocket, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        let sent = socket.send(data, shared.deadline_in(IDLE_MS))?;
        data = data.get(sent..).ok_or(Status::FAILED)?;
    }
    Ok(())
}

/// Ends the connection: our side first (everything sent still goes
/// out), then, once the client has closed its side or a moment has
/// passed, the socket, which the stack then forgets.
fn close(shared: &Shared<'_>, socket: &ISocket, buffer: &mut [u8]) {
    if socket.shutdown().is_ok() {
        let deadline = shared.deadline_in(LINGER_MS);
        while matches!(socket.receive(buffer, deadline), Ok(1..)) {}
    }
    let _ = socket.close();
}
