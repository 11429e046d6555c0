//! HTTP/1.1 over one accepted connection (after TLS, if any): limits, then
//! routing to [`crate::uapi`] or [`crate::api2`], then one log line.
//!
//! Limits: headers and body at most 8 KiB each, the whole request (TLS
//! handshake, headers and body) within 10 s of the connection's accept, one
//! request per connection (a password change is one request; idle
//! keep-alive connections would only hold slots).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use zeroize::Zeroizing;

use crate::api2;
use crate::auth::Auth;
use crate::form::Form;
use crate::log::{self, Outcome};
use crate::service::Service;
use crate::throttle::Client;
use crate::uapi;

/// Most bytes of request line and headers, and most bytes of body.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// hyper's read buffer: room to read headers somewhat past the limit, so
/// that most oversized requests get our 431 in the API's JSON shape rather
/// than hyper's bare one (which only requests past this still get).
const READ_BUFFER_BYTES: usize = 4 * MAX_HEADER_BYTES;
/// The whole request (handshake, headers and body) must arrive within this
/// of the accept.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a protocol module hands over: one parsed request.
pub struct Call<'a> {
    pub service: &'a Service,
    pub peer: Option<Client>,
    /// When the request was complete (its body read): failures are answered
    /// `--failure-delay-ms` after this, whatever the client's pace.
    pub started: Instant,
    pub auth: Auth,
    pub form: Form,
}

/// What a protocol module answers: status, JSON body, and the log fields.
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub www_authenticate: bool,
    pub outcome: Outcome,
    pub log_status: String,
    pub account: Option<String>,
    /// The admin token's name, once it was accepted.
    pub token: Option<String>,
}

impl Reply {
    pub fn new(status: StatusCode, body: String, outcome: Outcome, log_status: &str) -> Reply {
        Reply {
            status,
            body,
            www_authenticate: false,
            outcome,
            log_status: log_status.to_owned(),
            account: None,
            token: None,
        }
    }

    /// cPanel's 403 for a missing or wrong token.
    pub fn access_denied(outcome: Outcome, log_status: &str) -> Reply {
        Reply::new(
            StatusCode::FORBIDDEN,
            api2::ACCESS_DENIED.to_owned(),
            outcome,
            log_status,
        )
    }

    pub fn for_account(mut self, account: String) -> Reply {
        self.account = Some(account);
        self
    }

    pub fn by_token(mut self, name: &str) -> Reply {
        self.token = Some(name.to_owned());
        self
    }
}

/// Serves one connection, accepted at `accepted`; returns when it is closed.
/// The request (after the TLS handshake, if any) must have fully arrived
/// within [`REQUEST_TIMEOUT`] of the accept.
pub async fn serve_connection<IO>(
    io: IO,
    peer: SocketAddr,
    accepted: Instant,
    service: Arc<Service>,
    protocol: &'static str,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = accepted + REQUEST_TIMEOUT;
    let handler = hyper::service::service_fn(move |request| {
        let service = Arc::clone(&service);
        async move { Ok::<_, Infallible>(handle(request, peer, deadline, &service, protocol).await) }
    });
    // What is left of the 10 s after the TLS handshake, for the headers.
    let headers_within = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .max_buf_size(READ_BUFFER_BYTES)
        .timer(TokioTimer::new())
        .header_read_timeout(headers_within)
        .serve_connection(TokioIo::new(io), handler)
        .await;
}

/// Which API a path belongs to: it decides the shape of every answer.
enum Api {
    Uapi { module: String, function: String },
    Api2,
}

async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    deadline: Instant,
    service: &Service,
    transport: &'static str,
) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let protocol = format!("{}/{transport}", api_name(path));
    let api = if path == "/json-api/cpanel" {
        Some(Api::Api2)
    } else {
        path.strip_prefix("/execute/")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(_, function)| !function.contains('/'))
            .map(|(module, function)| Api::Uapi {
                module: module.to_owned(),
                function: function.to_owned(),
            })
    };
    let reply = match api {
        None => uapi::failure(
            StatusCode::NOT_FOUND,
            "not found: use /execute/Email/passwd_pop or /json-api/cpanel",
            Outcome::BadRequest,
            "NotFound",
        ),
        Some(api) => match read_call(request, peer, service, deadline).await {
            Ok(call) => match &api {
                Api::Uapi { module, function } => uapi::handle(call, module, function).await,
                Api::Api2 => api2::handle(call).await,
            },
            Err((status, reason)) => match &api {
                Api::Uapi { .. } => {
                    uapi::failure(status, &reason, Outcome::BadRequest, status_name(status))
                }
                Api::Api2 => Reply::new(
                    status,
                    api2::result_body("", "", Err(&reason)),
                    Outcome::BadRequest,
                    status_name(status),
                ),
            },
        },
    };
    log::write(&log::Record {
        peer: &peer.to_string(),
        protocol: &protocol,
        account: reply.account.as_deref(),
        outcome: reply.outcome,
        status: &reply.log_status,
        http: Some(reply.status.as_u16()),
        token: reply.token.as_deref(),
    });
    respond(reply)
}

/// The log's name for a refusal before any credential was looked at.
fn status_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::REQUEST_TIMEOUT => "RequestTimeout",
        StatusCode::PAYLOAD_TOO_LARGE => "TooLarge",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "HeadersTooLarge",
        _ => "BadRequest",
    }
}

fn api_name(path: &str) -> &'static str {
    if path == "/json-api/cpanel" {
        api2::PROTOCOL
    } else {
        uapi::PROTOCOL
    }
}

/// Method, size and time limits, then the fields of query and body.
async fn read_call<'a>(
    request: Request<Incoming>,
    peer: SocketAddr,
    service: &'a Service,
    deadline: Instant,
) -> Result<Call<'a>, (StatusCode, String)> {
    // The request line and headers as sent, near enough (": " and CRLFs).
    let header_bytes = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if header_bytes > MAX_HEADER_BYTES {
        return Err((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request's headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    if request.method() != Method::GET && request.method() != Method::POST {
        return Err((StatusCode::METHOD_NOT_ALLOWED, "use GET or POST".into()));
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let auth = Auth::parse(
        request
            .headers()
            .get(AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    );
    let mut form = Form::default();
    if let Some(query) = request.uri().query() {
        form.parse(query.as_bytes()).map_err(bad_request)?;
    }
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES);
    let body = match tokio::time::timeout_at(deadline.into(), body.collect()).await {
        Err(_) => {
            return Err((
                StatusCode::REQUEST_TIMEOUT,
                "the request took too long to arrive".into(),
            ))
        }
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(_)) => {
            return Err((
                StatusCode::BAD_REQUEST,
                "the request body could not be read".into(),
            ))
        }
        Ok(Ok(collected)) => Zeroizing::new(collected.to_bytes().to_vec()),
    };
    form.parse(&body).map_err(bad_request)?;
    Ok(Call {
        service,
        peer: Some(Client::Ip(peer.ip())),
        started: Instant::now(),
        auth,
        form,
    })
}

fn too_large() -> (StatusCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

fn bad_request(why: String) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, why)
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if reply.www_authenticate {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"passwdpopd\""),
        );
    }
    if reply.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("GET, POST"));
    }
    response
}
