//! Requests hyper refuses before the router sees them get the documented JSON error too.
//!
//! hyper answers a request it cannot parse (a raw `<` in the URL, a bad header line, a header
//! block over its limit, a URL too long) by itself, with an empty body, and closes the
//! connection: axum and our handlers never see it, and hyper has no hook to change that answer.
//! [`JsonErrors`] wraps each accepted connection and rewrites exactly those automatic answers
//! (status 400, 414 or 431, `content-length: 0` and no `content-type`: our own error answers
//! always carry `application/json`) into the [`ErrorBody`] every other error has. Everything else
//! passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::{ErrorBody, ErrorDetail};

/// A listener whose connections answer hyper's automatic parse-error responses in JSON.
#[derive(Debug)]
pub struct JsonErrorListener<L>(pub L);

impl<L: Listener> Listener for JsonErrorListener<L> {
    type Io = JsonErrors<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (JsonErrors::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// One connection: reads pass through; a write that is one of hyper's automatic error answers is
/// replaced by the same head with a JSON body.
#[derive(Debug)]
pub struct JsonErrors<S> {
    inner: S,
    /// The replacement still to be written, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> JsonErrors<S> {
    /// Wraps one accepted connection.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes what is left of a replacement; ready once none is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(replacement) = rewrite(buf) {
            self.pending = Some((replacement, 0));
            // The original bytes count as written: the replacement stands for them, and the
            // flush or shutdown hyper sends next writes whatever of it is left.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        // An automatic answer is a head alone, so it arrives as one non-empty slice.
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (nonempty.next(), nonempty.next())
            && let Some(replacement) = rewrite(only)
        {
            self.pending = Some((replacement, 0));
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(only.len()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The code and message for each status hyper answers by itself.
fn detail(status: u16) -> Option<(&'static str, &'static str)> {
    Some(match status {
        400 => (
            "malformed_request",
            "the request is not valid HTTP/1.1; characters such as < > \" { } | \\ ^ ` and spaces \
             must be percent-encoded in the URL",
        ),
        414 => ("uri_too_long", "the request URL is too long"),
        431 => (
            "headers_too_large",
            "the request's header block is too large",
        ),
        _ => return None,
    })
}

/// `buf` rewritten with a JSON body if it is exactly one of hyper's automatic error answers: a
/// complete head with status 400, 414 or 431, `content-length: 0` and no `content-type`.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf).ok()?;
    let head = head.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?
        .parse()
        .ok()?;
    let (code, message) = detail(status)?;
    let mut kept = Vec::new();
    let mut empty_body = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-type") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            if value.trim() != "0" {
                return None;
            }
            empty_body = true;
        } else {
            kept.push(line);
        }
    }
    if !empty_body {
        return None;
    }
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            field: None,
        },
    })
    .ok()?;
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Serves a one-route app behind the wrapper; returns its address.
    async fn server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route("/v1/feed", get(|| async { "a feed" }));
        tokio::spawn(async move {
            axum::serve(JsonErrorListener(listener), app).await.unwrap();
        });
        address
    }

    /// Sends `request` raw and reads the answer to the end (the server closes after an error).
    async fn exchange(address: std::net::SocketAddr, request: &[u8]) -> (String, String) {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        )
        .await
        .expect("the server closes the connection")
        .unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
        (head.to_owned(), body.to_owned())
    }

    fn code_of(body: &str) -> String {
        let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        json["error"]["message"].as_str().expect("a message");
        json["error"]["code"].as_str().expect("a code").to_owned()
    }

    fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[tokio::test]
    async fn an_unescaped_url_gets_a_json_400() {
        let address = server().await;
        let (head, body) = exchange(
            address,
            b"GET /v1/feed?cursor=<next_cursor> HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
        assert_eq!(header(&head, "content-type"), Some("application/json"));
        assert_eq!(
            header(&head, "content-length"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(code_of(&body), "malformed_request");
    }

    #[tokio::test]
    async fn a_bad_header_line_and_garbage_get_a_json_400() {
        let address = server().await;
        for request in [
            &b"GET /v1/feed HTTP/1.1\r\nno colon here\r\n\r\n"[..],
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
        ] {
            let (head, body) = exchange(address, request).await;
            assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
            assert_eq!(code_of(&body), "malformed_request");
        }
    }

    #[tokio::test]
    async fn a_header_block_over_the_limit_gets_a_json_431() {
        let address = server().await;
        // Over hyper's 100 headers; small enough to be read whole before the answer.
        let headers: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
        let request = format!("GET /v1/feed HTTP/1.1\r\nhost: x\r\n{headers}\r\n");
        let (head, body) = exchange(address, request.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        assert_eq!(code_of(&body), "headers_too_large");
    }

    #[tokio::test]
    async fn well_formed_requests_pass_through_on_one_connection() {
        let address = server().await;
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /v1/feed HTTP/1.1\r\nhost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let mut answers = answer.split("HTTP/1.1 ").skip(1);
        let first = answers.next().unwrap();
        assert!(first.starts_with("200 "), "{first}");
        assert!(first.ends_with("a feed"), "{first}");
        // An empty-bodied answer of the app's own (here the router's 404) is not touched.
        let second = answers.next().unwrap();
        assert!(second.starts_with("404 "), "{second}");
        assert_eq!(header(&format!("x {second}"), "content-length"), Some("0"));
        assert!(answers.next().is_none());
    }

    #[test]
    fn only_hyper_s_automatic_answers_are_rewritten() {
        let automatic = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 18:00:00 GMT\r\n\r\n";
        let rewritten = String::from_utf8(rewrite(automatic).unwrap()).unwrap();
        assert!(rewritten.contains("\r\ndate: Fri, 04 Dec 2026 18:00:00 GMT\r\n"));
        assert!(!rewritten.contains("content-length: 0"));
        // Our own answers: a JSON body, a body of another length, another status, a partial head.
        for untouched in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
        ] {
            assert_eq!(rewrite(untouched), None, "{:?}", String::from_utf8_lossy(untouched));
        }
    }
}
