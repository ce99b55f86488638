//! The network half of server mode: a current-thread tokio runtime serving
//! HTTP/1.1 (axum, through axum-server) or HTTPS (rustls with the ring
//! provider) on a loopback address, with a certificate made at start-up by
//! rcgen: a small certificate authority, written to `DIR/ca.pem` for clients
//! to trust, and a leaf for `localhost` and `127.0.0.1` signed by it.
//!
//! Requests reach the one [`Service`] one at a time, in the order the server
//! takes them, behind a mutex held only while the service answers (never
//! across an await). Bodies are bounded by [`BODY_BYTES_MAX`]. A panic while
//! answering (a bug) is caught and answered 500, so the server keeps serving.
//! The server stops on `POST /_switchboard/shutdown` (answered first), on
//! SIGINT or SIGTERM, or through [`Running::stop`]; with a record file it
//! then writes the session as a scenario. The network's own timeouts (the
//! grace period of a shutdown) are wall-clock time, outside the simulation.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use serde_json::{Value, json};

use super::{BODY_BYTES_MAX, Request, Response, Service, Settings};
use crate::wire::calendar::Epoch;

/// How to serve.
#[derive(Clone, Debug)]
pub struct Config {
    /// The profile's name (`acs`).
    pub profile: String,
    /// The seed the world starts from.
    pub seed: u64,
    /// The address to listen on (`127.0.0.1:0` by default: a free port).
    pub listen: SocketAddr,
    /// Whether to serve HTTPS with a fresh certificate.
    pub tls: bool,
    /// The calendar instant virtual time 0 stands for.
    pub epoch: Epoch,
    /// Where `ca.pem` goes (a fresh temporary folder when `None`).
    pub state_dir: Option<PathBuf>,
    /// Where the session is written as a scenario when the server stops.
    pub record: Option<PathBuf>,
    /// Stop on SIGINT and SIGTERM (the command line; not tests).
    pub signals: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            profile: "acs".into(),
            seed: 0,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            epoch: Epoch::default(),
            state_dir: None,
            record: None,
            signals: false,
        }
    }
}

/// A server running on its own thread.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` or `https://…`.
    pub url: String,
    /// The start-up line (JSON) the command line prints.
    pub startup_line: String,
    /// The CA certificate's file, with TLS.
    pub ca_cert: Option<PathBuf>,
    /// The ACS connection string.
    pub connection_string: String,
    handle: axum_server::Handle<SocketAddr>,
    thread: std::thread::JoinHandle<Result<(), String>>,
}

impl Running {
    /// Stops the server (as a shutdown call would) and waits for it.
    pub fn stop(self) -> Result<(), String> {
        self.handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(2)));
        self.wait()
    }

    /// Waits until the server stops.
    pub fn wait(self) -> Result<(), String> {
        self.thread
            .join()
            .map_err(|_| "the server thread panicked".to_string())?
    }
}

struct Shared {
    service: Mutex<Service>,
    handle: axum_server::Handle<SocketAddr>,
}

/// Starts a server on a thread of its own and returns once it listens.
pub fn start(config: Config) -> Result<Running, String> {
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let scheme = if config.tls { "https" } else { "http" };
    let url = format!("{scheme}://{addr}");
    let service = Service::new(Settings {
        seed: config.seed,
        profile: config.profile.clone(),
        epoch: config.epoch,
        scheme,
        authority: addr.to_string(),
    })?;
    let connection_string = service.keys().connection_string(&url);
    let tls = if config.tls {
        let dir = state_dir(config.state_dir.as_ref())?;
        Some(certificate(&dir)?)
    } else {
        None
    };
    let ca_cert = tls.as_ref().map(|(path, _)| path.clone());
    let mut line = json!({
        "listening": url,
        "profile": config.profile,
        "seed": config.seed,
    });
    if let (Value::Object(line), Value::Object(credentials)) = (&mut line, service.credentials()) {
        line.extend(credentials);
    }
    if let Some(path) = &ca_cert {
        line["ca_cert"] = json!(path.display().to_string());
    }
    let handle = axum_server::Handle::new();
    let shared = Arc::new(Shared {
        service: Mutex::new(service),
        handle: handle.clone(),
    });
    let thread_handle = handle.clone();
    let record = config.record.clone();
    let signals = config.signals;
    let thread = std::thread::Builder::new()
        .name("switchboard-serve".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            runtime.block_on(serve(
                listener,
                tls.map(|(_, c)| c),
                shared.clone(),
                thread_handle,
                signals,
            ))?;
            if let Some(path) = record {
                let service = lock(&shared);
                let text = serde_json::to_string_pretty(&service.world().scenario())
                    .expect("scenarios serialize");
                std::fs::write(&path, text + "\n")
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Ok(())
        })
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    Ok(Running {
        addr,
        url,
        startup_line: line.to_string(),
        ca_cert,
        connection_string,
        handle,
        thread,
    })
}

/// Serves until stopped: prints the start-up line, then waits.
pub fn run(config: Config) -> Result<(), String> {
    use std::io::Write as _;
    let running = start(config)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", running.startup_line)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the start-up line: {e}"))?;
    drop(out);
    eprintln!("switchboard: serving {}", running.url);
    running.wait()
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Service> {
    shared
        .service
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    shared: Arc<Shared>,
    handle: axum_server::Handle<SocketAddr>,
    signals: bool,
) -> Result<(), String> {
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(shared)
        .into_make_service();
    if signals {
        let handle = handle.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("switchboard: stopping on a signal");
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(2)));
        });
    }
    let served = match tls {
        Some(config) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
            axum_server::from_tcp_rustls(listener, config)
                .map_err(|e| format!("cannot serve: {e}"))?
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            axum_server::from_tcp(listener)
                .map_err(|e| format!("cannot serve: {e}"))?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    served.map_err(|e| format!("the server failed: {e}"))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The one handler: reads the request (bounded), lets the service answer it.
async fn answer(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let declared_too_large = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > BODY_BYTES_MAX as u64);
    let body = if declared_too_large {
        None
    } else {
        axum::body::to_bytes(body, BODY_BYTES_MAX).await.ok()
    };
    let Some(body) = body else {
        let response = lock(&shared).too_large();
        return to_axum(response);
    };
    let request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.as_str().to_ascii_lowercase(),
                    value.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
    };
    let (response, stopping) = {
        let mut service = lock(&shared);
        let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            service.handle_with(&request, &mut LoopbackHooks)
        }));
        let response = answered.unwrap_or_else(|_| {
            eprintln!(
                "switchboard: a bug: answering {} {} panicked",
                request.method, request.path
            );
            Response::json(
                500,
                json!({"error": {"code": "InternalServerError",
                    "message": "The simulator failed on this request (a bug); it keeps serving."}}),
            )
        });
        (response, service.stopping())
    };
    if stopping {
        shared
            .handle
            .graceful_shutdown(Some(std::time::Duration::from_secs(2)));
    }
    to_axum(response)
}

fn to_axum(response: Response) -> axum::response::Response {
    let mut builder = axum::response::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Body::from(response.body)).unwrap_or_else(|_| {
        let mut fallback = axum::response::Response::new(Body::empty());
        *fallback.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// The state folder: `dir` (created if needed) or a fresh temporary one.
fn state_dir(dir: Option<&PathBuf>) -> Result<PathBuf, String> {
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let dir = match dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "switchboard-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        )),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Makes a CA and a leaf for `localhost` and `127.0.0.1` signed by it,
/// writes the CA to `dir/ca.pem`, and returns its path and the TLS config.
fn certificate(dir: &std::path::Path) -> Result<(PathBuf, rustls::ServerConfig), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let fail = |e: rcgen::Error| format!("cannot make the certificate: {e}");
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "switchboard local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(fail)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().map_err(fail)?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(fail)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(fail)?;
    let path = dir.join("ca.pem");
    std::fs::write(&path, ca_cert.pem())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        leaf_key.serialize_der(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
        .map_err(|e| format!("cannot configure TLS: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((path, config))
}

/// Webhook calls over plain HTTP/1.1 to the loopback receivers the
/// configuration allows (`webhooks::check_url`): a blocking
/// `std::net::TcpStream` with Twilio's 5-second limit for the connection, the
/// request and the answer. The service is answering one request at a time
/// behind its mutex anyway, so a webhook call waits its turn like any other
/// work; only the status line of the answer is read.
struct LoopbackHooks;

/// Twilio's limit on a webhook call ("Conversations webhooks have a maximum
/// timeout of 5 seconds").
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl super::Hooks for LoopbackHooks {
    fn deliver(&mut self, delivery: &super::Delivery) -> u16 {
        call_loopback(delivery).unwrap_or(0)
    }
}

fn call_loopback(delivery: &super::Delivery) -> Option<u16> {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
    super::webhooks::check_url(&delivery.url).ok()?;
    let rest = delivery.url.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let host = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = host.to_socket_addrs().ok()?.next()?;
    let mut stream = TcpStream::connect_timeout(&addr, WEBHOOK_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(WEBHOOK_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(WEBHOOK_TIMEOUT)).ok()?;
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: TwilioProxy/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        delivery.method,
        delivery.body.len()
    );
    for (name, value) in &delivery.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&delivery.body).ok()?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line).ok()?;
    status_line.split_whitespace().nth(1)?.parse().ok()
}
