//! The TLS front of the servers' engines: one listener per server, on the
//! server's `engine_port`, that a member's `docker` reaches with the
//! context made from their certificate. A connection is joined to the
//! engine's unix socket only when its client certificate
//!
//! - was signed by the servers' authority (the TLS handshake checks it),
//! - is one hearth issued and has not revoked (its SHA-256 in the store),
//! - belongs to a user who still exists, is not disabled and is a member
//!   or an admin (a viewer has no servers),
//! - who owns the server, which is not being deleted;
//!
//! otherwise it is closed after the handshake, and the refusal logged
//! ([`authorise`]). The engines' own sockets never leave the box, and the
//! authority's key never leaves hearth.
//!
//! The answer holds only as long as the connection's reasons do: a joined
//! connection is checked again on every change to the users or the
//! servers (and their certificates), and closed at once when its
//! certificate is revoked, its holder disabled, made a viewer or deleted,
//! or the server deleted or given to someone else. A connection `docker`
//! keeps open (`logs -f`, `attach`, a long `build`) would otherwise
//! outlive the access it was opened with.
//!
//! The listeners follow the store: a new server gets one, a deleted one
//! loses it. A port that cannot be bound (another process holds it) is
//! tried again every few seconds until it can. A server whose engine is
//! down closes each connection.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::ca::{AccessCa, CaError, fingerprint};
use crate::accounts::UserRecord;
use crate::accounts::certs::CertRecord;
use crate::auth::Role;
use crate::servers::helper::Layout;
use crate::servers::model::{Server, ServerId};
use crate::servers::stored;
use crate::store::{Records, Store, StoreError, Table};
use crate::tls::SubjectNames;

/// How long a client may take to finish its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error("the front's TLS configuration: {0}")]
    Tls(String),
}

/// Why a certificate opens nothing on a server (any more). What it says
/// goes to the log: names and the certificate's short id, never the
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Signed by the authority but not in the store: not one hearth
    /// issued, or issued before a factory reset.
    Unknown,
    Revoked {
        id: String,
        holder: String,
    },
    HolderGone {
        holder: String,
    },
    HolderDisabled {
        holder: String,
    },
    HolderViewer {
        holder: String,
    },
    NoServer,
    ServerDeleting,
    NotTheOwner {
        holder: String,
        owner: String,
    },
    /// The store did not answer: no access on a guess.
    Unreadable(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unknown => f.write_str("a certificate hearth did not issue"),
            Refusal::Revoked { id, holder } => write!(f, "{holder}'s certificate {id} is revoked"),
            Refusal::HolderGone { holder } => {
                write!(f, "the certificate's user {holder} is deleted")
            }
            Refusal::HolderDisabled { holder } => {
                write!(f, "the certificate's user {holder} is disabled")
            }
            Refusal::HolderViewer { holder } => {
                write!(f, "the certificate's user {holder} is a viewer")
            }
            Refusal::NoServer => f.write_str("no such server"),
            Refusal::ServerDeleting => f.write_str("the server is being deleted"),
            Refusal::NotTheOwner { holder, owner } => {
                write!(f, "{holder}'s certificate, {owner}'s server")
            }
            Refusal::Unreadable(e) => write!(f, "the store could not be read: {e}"),
        }
    }
}

/// Whether certificate `cert` (its record, if the store has it), held by
/// `holder` (the record of `cert.owner`, if the user exists), opens
/// `server` (if it exists): the whole rule, on what was read.
pub fn verdict(
    cert: Option<&CertRecord>,
    holder: Option<&UserRecord>,
    server: Option<&Server>,
) -> Result<(), Refusal> {
    let cert = cert.ok_or(Refusal::Unknown)?;
    let name = || cert.owner.clone();
    if cert.is_revoked() {
        return Err(Refusal::Revoked {
            id: cert.id.clone(),
            holder: name(),
        });
    }
    let user = holder.ok_or_else(|| Refusal::HolderGone { holder: name() })?;
    if user.disabled {
        return Err(Refusal::HolderDisabled { holder: name() });
    }
    match user.role {
        Role::Member | Role::Admin => {}
        Role::Viewer => return Err(Refusal::HolderViewer { holder: name() }),
    }
    let server = server.ok_or(Refusal::NoServer)?;
    if server.deleting.is_some() {
        return Err(Refusal::ServerDeleting);
    }
    if server.owner != cert.owner {
        return Err(Refusal::NotTheOwner {
            holder: name(),
            owner: server.owner.clone(),
        });
    }
    Ok(())
}

/// Whether the certificate with SHA-256 `presented` opens server `id`
/// now: its record, its holder's and the server's, read from the store
/// (blocking), and the [`verdict`] on them.
pub fn authorise(store: &Store, presented: &str, id: &ServerId) -> Result<(), Refusal> {
    let read = || -> Result<_, StoreError> {
        let cert = store.record::<CertRecord>(Records::ServerCerts, presented)?;
        let holder = match &cert {
            Some(c) => store.record::<UserRecord>(Records::Users, &c.owner)?,
            None => None,
        };
        let server = stored::server_in_store(store, id)?;
        Ok((cert, holder, server))
    };
    let (cert, holder, server) = read().map_err(|e| Refusal::Unreadable(e.to_string()))?;
    verdict(cert.as_ref(), holder.as_ref(), server.as_ref())
}

/// [`authorise`], off the async threads.
async fn authorised(store: &Store, presented: &str, id: &ServerId) -> Result<(), Refusal> {
    let (store, presented, id) = (store.clone(), presented.to_string(), id.clone());
    tokio::task::spawn_blocking(move || authorise(&store, &presented, &id))
        .await
        .unwrap_or_else(|e| Err(Refusal::Unreadable(e.to_string())))
}

/// The rustls configuration: the front's certificate, client certificates
/// required and checked against the servers' authority.
pub fn tls_config(
    ca: &AccessCa,
    names: &SubjectNames,
) -> Result<Arc<rustls::ServerConfig>, FrontError> {
    let issued = ca.issue_front(names)?;
    let tls = |e: &dyn std::fmt::Display| FrontError::Tls(e.to_string());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| tls(&e))?;
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).map_err(|e| tls(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.ca_pem().as_bytes()) {
        roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| tls(&e))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls(&e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| tls(&e))?;
    Ok(Arc::new(config))
}

/// How soon a listener that could not bind is tried again: the port may
/// be held by a process that lets it go at any time, and nothing in the
/// store changes when it does.
const RETRY_BIND: Duration = Duration::from_secs(5);

/// Keeps a listener per server on `address` until `shutdown`: after each
/// change to the servers, and every `RETRY_BIND` while one of them
/// could not be bound (or the servers could not be read).
pub async fn run(
    store: Store,
    config: Arc<rustls::ServerConfig>,
    layout: Layout,
    address: IpAddr,
    shutdown: CancellationToken,
) {
    let mut changes = store.watch(Table::Servers);
    let mut listeners: BTreeMap<ServerId, (u16, JoinHandle<()>)> = BTreeMap::new();
    // The servers whose port could not be bound, and why: said once in
    // the log when it starts failing (or fails differently), and once
    // when it binds at last, not every few seconds.
    let mut unbound: BTreeMap<ServerId, String> = BTreeMap::new();
    loop {
        let servers = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || stored::servers(&store))
                .await
                .ok()
                .and_then(Result::ok)
        };
        let retry = match servers {
            Some(servers) => {
                let wanted = wanted_ports(&servers);
                listeners.retain(|id, (port, task)| {
                    let keep = wanted.get(id) == Some(port) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                unbound.retain(|id, _| wanted.contains_key(id));
                for (id, port) in wanted {
                    if listeners.contains_key(&id) {
                        continue;
                    }
                    let addr = SocketAddr::new(address, port);
                    match TcpListener::bind(addr).await {
                        Ok(listener) => {
                            if unbound.remove(&id).is_some() {
                                tracing::info!(server = %id, %addr, "servers: listening for the engine at last");
                            }
                            let task = tokio::spawn(serve(
                                listener,
                                id.clone(),
                                store.clone(),
                                TlsAcceptor::from(config.clone()),
                                layout.socket(&id),
                            ));
                            listeners.insert(id, (port, task));
                        }
                        Err(e) => {
                            let error = e.to_string();
                            if unbound.get(&id) != Some(&error) {
                                tracing::warn!(server = %id, %addr, %error, "servers: cannot listen for the engine; trying again every {} s", RETRY_BIND.as_secs());
                            }
                            unbound.insert(id, error);
                        }
                    }
                }
                !unbound.is_empty()
            }
            None => true,
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            r = changes.changed() => if r.is_err() { break },
            () = tokio::time::sleep(RETRY_BIND), if retry => {}
        }
    }
    for (_, (_, task)) in listeners {
        task.abort();
    }
}

/// The port each server's front listens on: every server not being
/// deleted that has one.
fn wanted_ports(servers: &[Server]) -> BTreeMap<ServerId, u16> {
    servers
        .iter()
        .filter(|s| s.deleting.is_none())
        .filter_map(|s| s.engine_port.map(|p| (s.id.clone(), p)))
        .collect()
}

async fn serve(
    listener: TcpListener,
    id: ServerId,
    store: Store,
    acceptor: TlsAcceptor,
    socket: std::path::PathBuf,
) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let (id, store, acceptor, socket) =
            (id.clone(), store.clone(), acceptor.clone(), socket.clone());
        tokio::spawn(async move {
            if let Err(why) = join(tcp, peer, &id, &store, &acceptor, &socket).await {
                tracing::info!(server = %id, %peer, why, "servers: engine connection refused");
            }
        });
    }
}

/// One connection: handshake, the certificate's check, then the bytes
/// both ways until either side closes or the access is withdrawn.
async fn join(
    tcp: TcpStream,
    peer: SocketAddr,
    id: &ServerId,
    store: &Store,
    acceptor: &TlsAcceptor,
    socket: &std::path::Path,
) -> Result<(), String> {
    let mut tls = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp))
        .await
        .map_err(|_| "no handshake in time".to_string())?
        .map_err(|e| format!("handshake: {e}"))?;
    let presented = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| fingerprint(c.as_ref()))
        .ok_or("no client certificate")?;
    // Watched from before the first check: a change that commits after
    // it is one the connection hears of.
    let mut users = store.watch(Table::Users);
    let mut servers = store.watch(Table::Servers);
    authorised(store, &presented, id)
        .await
        .map_err(|r| r.to_string())?;
    let mut engine = UnixStream::connect(socket)
        .await
        .map_err(|e| format!("the engine does not answer: {e}"))?;
    let why = {
        let copy = tokio::io::copy_bidirectional(&mut tls, &mut engine);
        tokio::pin!(copy);
        loop {
            tokio::select! {
                _ = &mut copy => return Ok(()),
                r = users.changed() => if r.is_err() { break "hearth is stopping".to_string() },
                r = servers.changed() => if r.is_err() { break "hearth is stopping".to_string() },
            }
            // The bytes wait meanwhile; a read takes no time to speak of.
            if let Err(refusal) = authorised(store, &presented, id).await {
                break refusal.to_string();
            }
        }
    };
    // Said before it is done, so that whoever sees the close finds why.
    tracing::info!(server = %id, %peer, why, "servers: engine connection closed: access withdrawn");
    // Both halves dropped: the member's end sees the connection close
    // now, and the engine's sees its client go.
    drop(tls);
    drop(engine);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::model::{Deletion, ServerInput};
    use crate::store::{AuditAction, AuditEntry};

    fn cert(owner: &str) -> CertRecord {
        CertRecord {
            id: "0123456789abcdef".into(),
            fingerprint: "0123456789abcdef00".into(),
            owner: owner.into(),
            created_ms: 1,
            revoked_ms: None,
        }
    }

    fn user(role: &str, disabled: bool) -> UserRecord {
        serde_json::from_value(serde_json::json!({
            "role": role, "password": "x", "disabled": disabled, "created_ms": 1,
        }))
        .unwrap()
    }

    fn server(owner: &str) -> Server {
        let input: ServerInput = serde_json::from_str(r#"{"name":"web"}"#).unwrap();
        Server::from_input(&input, owner.into(), ServerId::random(), 5).unwrap()
    }

    fn holder(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn a_certificate_opens_its_active_holders_own_server_alone() {
        let (ann, web) = (cert("ann"), server("ann"));
        let member = user("member", false);
        assert_eq!(verdict(Some(&ann), Some(&member), Some(&web)), Ok(()));
        let admin = user("admin", false);
        assert_eq!(verdict(Some(&ann), Some(&admin), Some(&web)), Ok(()));

        assert_eq!(
            verdict(None, Some(&member), Some(&web)),
            Err(Refusal::Unknown)
        );
        let revoked = CertRecord {
            revoked_ms: Some(2),
            ..cert("ann")
        };
        assert_eq!(
            verdict(Some(&revoked), Some(&member), Some(&web)),
            Err(Refusal::Revoked {
                id: "0123456789abcdef".into(),
                holder: holder("ann")
            })
        );
        assert_eq!(
            verdict(Some(&ann), None, Some(&web)),
            Err(Refusal::HolderGone {
                holder: holder("ann")
            })
        );
        assert_eq!(
            verdict(Some(&ann), Some(&user("member", true)), Some(&web)),
            Err(Refusal::HolderDisabled {
                holder: holder("ann")
            })
        );
        assert_eq!(
            verdict(Some(&ann), Some(&user("admin", true)), Some(&web)),
            Err(Refusal::HolderDisabled {
                holder: holder("ann")
            })
        );
        assert_eq!(
            verdict(Some(&ann), Some(&user("viewer", false)), Some(&web)),
            Err(Refusal::HolderViewer {
                holder: holder("ann")
            })
        );
        assert_eq!(
            verdict(Some(&ann), Some(&member), None),
            Err(Refusal::NoServer)
        );
        let deleting = Server {
            deleting: Some(Deletion {
                erase: false,
                asked_ms: 3,
            }),
            ..server("ann")
        };
        assert_eq!(
            verdict(Some(&ann), Some(&member), Some(&deleting)),
            Err(Refusal::ServerDeleting)
        );
        // An admin's certificate opens the admin's own servers, no other.
        assert_eq!(
            verdict(Some(&ann), Some(&admin), Some(&server("bob"))),
            Err(Refusal::NotTheOwner {
                holder: holder("ann"),
                owner: holder("bob")
            })
        );
    }

    #[test]
    fn a_refusal_names_people_and_the_short_id_never_the_certificate() {
        let revoked = Refusal::Revoked {
            id: "0123456789abcdef".into(),
            holder: holder("ann"),
        };
        assert_eq!(
            revoked.to_string(),
            "ann's certificate 0123456789abcdef is revoked"
        );
        assert!(!revoked.to_string().contains("0123456789abcdef00"));
        assert_eq!(
            Refusal::NotTheOwner {
                holder: holder("ann"),
                owner: holder("bob")
            }
            .to_string(),
            "ann's certificate, bob's server"
        );
    }

    #[test]
    fn authorise_reads_the_three_records_as_they_are_now() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (ann, web) = (cert("ann"), server("ann"));
        let change = |f: &dyn Fn(&mut crate::store::Change<'_>) -> Result<(), StoreError>| {
            store
                .change(AuditEntry::system(AuditAction::DaemonStart, "test"), f)
                .unwrap();
        };
        assert_eq!(
            authorise(&store, &ann.fingerprint, &web.id),
            Err(Refusal::Unknown)
        );
        change(&|c| {
            c.put_record(Records::ServerCerts, &ann.fingerprint, &ann)?;
            c.put_record(Records::Users, "ann", &user("member", false))?;
            stored::put(c, &web)
        });
        assert_eq!(authorise(&store, &ann.fingerprint, &web.id), Ok(()));
        assert_eq!(
            authorise(&store, &ann.fingerprint, &ServerId::random()),
            Err(Refusal::NoServer)
        );
        change(&|c| c.put_record(Records::Users, "ann", &user("viewer", false)));
        assert_eq!(
            authorise(&store, &ann.fingerprint, &web.id),
            Err(Refusal::HolderViewer {
                holder: holder("ann")
            })
        );
        change(&|c| c.remove_record(Records::Users, "ann").map(drop));
        assert_eq!(
            authorise(&store, &ann.fingerprint, &web.id),
            Err(Refusal::HolderGone {
                holder: holder("ann")
            })
        );
    }
    /// A port held by another process when the server got it is bound by
    /// itself once that process lets it go, without any change to the
    /// store.
    #[tokio::test]
    async fn a_port_held_elsewhere_is_listened_on_once_it_is_let_go() {
        // The front's log, read by this test (its tasks run on this
        // thread: the test's runtime has one).
        let log = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Captured(sink.clone()))
            .with_ansi(false)
            .finish();
        let _log_here = tracing::subscriber::set_default(subscriber);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let ca = AccessCa::load_or_create(&dir.path().join("ca")).unwrap();
        let config = tls_config(&ca, &SubjectNames::new(Some("box"), &[])).unwrap();
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = holder.local_addr().unwrap();
        let mut web = server("ann");
        web.engine_port = Some(addr.port());
        store
            .change(AuditEntry::system(AuditAction::DaemonStart, "test"), |c| {
                stored::put(c, &web)
            })
            .unwrap();
        let shutdown = CancellationToken::new();
        let front = tokio::spawn(run(
            store.clone(),
            config,
            Layout::new(&dir.path().join("storage"), &dir.path().join("run")),
            addr.ip(),
            shutdown.clone(),
        ));
        // The front tried, and failed: the port is still the holder's.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !String::from_utf8_lossy(&log.lock().unwrap()).contains("cannot listen") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the front did not try {addr}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(holder);
        let deadline = tokio::time::Instant::now() + RETRY_BIND * 4;
        loop {
            // The front answers a connection with a TLS handshake; a closed
            // port refuses it.
            if let Ok(tcp) = TcpStream::connect(addr).await {
                let hello = tokio_rustls::TlsConnector::from(client_config(&ca));
                let name = rustls::pki_types::ServerName::try_from("box").unwrap();
                if hello.connect(name, tcp).await.is_ok() {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the front never listened on {addr} after it was let go"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
        front.await.unwrap();
    }

    /// A log writer into memory.
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A client that trusts the servers' authority and shows a certificate
    /// it issued (the handshake needs one; who holds it does not matter).
    fn client_config(ca: &AccessCa) -> Arc<rustls::ClientConfig> {
        let issued = ca.issue_client("ann").unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.ca_pem().as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let certs = CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .unwrap();
        Arc::new(config)
    }
}
