//! The parser against well-formed, broken and oversized requests.

extern crate std;

use std::string::String;
use std::vec::Vec;

use crate::json::Text;
use crate::{Error, Head, Limits, Method, Parse, Request, StatusCode, Version, parse, write_head};

fn complete(bytes: &[u8]) -> Request<'_> {
    match parse(bytes, &Limits::DEFAULT) {
        Ok(Parse::Complete(request)) => request,
        other => panic!("{:?} parsed as {other:?}", String::from_utf8_lossy(bytes)),
    }
}

fn refused(bytes: &[u8]) -> u16 {
    match parse(bytes, &Limits::DEFAULT) {
        Err(error) => error.status().code,
        other => panic!("{:?} parsed as {other:?}", String::from_utf8_lossy(bytes)),
    }
}

#[test]
fn a_browser_s_request_parses() {
    let bytes = b"GET /status.json?t=1 HTTP/1.1\r\nHost: 127.0.0.1:8480\r\n\
        User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\n\
        Accept-Encoding: gzip, deflate\r\n\r\nGET / HTTP/1.1\r\n";
    let request = complete(bytes);
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.path, "/status.json");
    assert_eq!(request.query, Some("t=1"));
    assert_eq!(request.version, Version::Http11);
    assert!(request.keep_alive);
    assert_eq!(request.content_length, 0);
    // The next (pipelined) request starts after the head.
    assert_eq!(&bytes[request.head_length..], b"GET / HTTP/1.1\r\n");
}

#[test]
fn a_head_not_yet_all_received_is_incomplete() {
    let bytes = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    for end in 0..bytes.len() {
        assert_eq!(
            parse(&bytes[..end], &Limits::DEFAULT),
            Ok(Parse::Incomplete),
            "{end}"
        );
    }
    assert_eq!(complete(bytes).method, Method::Head);
}

#[test]
fn connection_options_decide_keep_alive() {
    let keep = |bytes: &[u8]| complete(bytes).keep_alive;
    assert!(!keep(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(!keep(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n"
    ));
    assert!(!keep(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(keep(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    assert!(keep(
        b"GET / HTTP/1.1\r\nhost: x\r\nConnection: keep-alive\r\n\r\n"
    ));
}

#[test]
fn an_absolute_target_is_reduced_to_its_path() {
    let request = complete(b"GET http://10.0.2.15/status.json HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(request.path, "/status.json");
    assert_eq!(
        complete(b"GET HTTP://a HTTP/1.1\r\nHost: a\r\n\r\n").path,
        "/"
    );
}

#[test]
fn a_body_within_the_limit_is_counted() {
    let request = complete(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
    assert_eq!(request.content_length, 12);
    let same = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
    assert_eq!(complete(same).content_length, 3);
}

#[test]
fn malformed_heads_are_bad_requests() {
    for bytes in [
        &b"GET / HTTP/1.1\nHost: a\n\n"[..],
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET /\r\n\r\n",
        b"\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET status HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTPS/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\rX\n\r\n",
    ] {
        assert_eq!(refused(bytes), 400, "{:?}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn other_methods_codings_and_versions_are_refused_by_name() {
    assert_eq!(refused(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    assert_eq!(refused(b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        501
    );
    assert_eq!(refused(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(refused(b"GET / HTTP/0.9\r\n\r\n"), 505);
}

#[test]
fn oversized_parts_are_refused_before_the_head_ends() {
    let limits = Limits::DEFAULT;
    let mut long_line = Vec::from(&b"GET /"[..]);
    long_line.resize(limits.request_line + 1, b'a');
    assert_eq!(parse(&long_line, &limits), Err(Error::UriTooLong));
    let mut long_field = Vec::from(&b"GET / HTTP/1.1\r\nX-Long: "[..]);
    long_field.resize(16 + limits.field_line + 1, b'a');
    assert_eq!(parse(&long_field, &limits), Err(Error::FieldsTooLarge));
    let mut many = Vec::from(&b"GET / HTTP/1.1\r\nHost: a\r\n"[..]);
    for index in 0..limits.fields {
        many.extend_from_slice(std::format!("X-{index}: a\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(parse(&many, &limits), Err(Error::FieldsTooLarge));
    let mut large = Vec::from(&b"GET / HTTP/1.1\r\n"[..]);
    while large.len() < limits.head {
        large.extend_from_slice(b"X-Field: 0123456789012345678901234567890123456789\r\n");
    }
    let small = Limits {
        fields: 1000,
        ..limits
    };
    assert_eq!(parse(&large, &small), Err(Error::FieldsTooLarge));
    let body = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4097\r\n\r\n";
    assert_eq!(parse(body, &limits), Err(Error::ContentTooLarge));
    let huge = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    assert_eq!(parse(huge, &limits), Err(Error::ContentTooLarge));
}

#[test]
fn every_error_has_its_status_and_a_reason() {
    for (error, code) in [
        (Error::BadRequest("x"), 400),
        (Error::ContentTooLarge, 413),
        (Error::UriTooLong, 414),
        (Error::FieldsTooLarge, 431),
        (Error::NotImplemented, 501),
        (Error::VersionNotSupported, 505),
    ] {
        assert_eq!(error.status().code, code);
        assert!(!error.reason().is_empty());
    }
}

#[test]
fn a_response_head_names_length_type_and_connection() {
    let mut text = String::new();
    let head = Head {
        status: StatusCode::NOT_FOUND,
        content_type: "text/plain",
        content_length: 9,
        keep_alive: false,
    };
    write_head(&mut text, &head).expect("a String takes any text");
    assert_eq!(
        text,
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn json_text_is_escaped() {
    let text = std::format!("{}", Text("a\"b\\c\n\u{1}</script>é"));
    assert_eq!(text, "\"a\\\"b\\\\c\\n\\u0001\\u003c/script>é\"");
}
