//! The TLS front of the servers' engines: one listener per server, on the
//! server's `engine_port`, that a member's `docker` reaches with the
//! context made from their certificate. A connection is joined to the
//! engine's unix socket only when its client certificate
//!
//! - was signed by the servers' authority (the TLS handshake checks it),
//! - is one hearth issued and has not revoked (its SHA-256 in the store),
//! - belongs to the server's owner;
//!
//! otherwise it is closed after the handshake, and the refusal logged.
//! The engines' own sockets never leave the box, and the authority's key
//! never leaves hearth.
//!
//! The listeners follow the store: a new server gets one, a deleted one
//! loses it. A server whose engine is down closes each connection.

use std::collections::BTreeMap;
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
use super::certs::CertsService;
use crate::http::tls::SubjectNames;
use crate::servers::helper::Layout;
use crate::servers::model::{Server, ServerId};
use crate::servers::stored;
use crate::store::{Store, Table};

/// How long a client may take to finish its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error("the front's TLS configuration: {0}")]
    Tls(String),
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

/// Keeps a listener per server on `address` until `shutdown`.
pub async fn run(
    store: Store,
    config: Arc<rustls::ServerConfig>,
    layout: Layout,
    address: IpAddr,
    shutdown: CancellationToken,
) {
    let mut changes = store.watch(Table::Servers);
    let mut listeners: BTreeMap<ServerId, (u16, JoinHandle<()>)> = BTreeMap::new();
    loop {
        let servers = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || stored::servers(&store))
                .await
                .ok()
                .and_then(Result::ok)
        };
        if let Some(servers) = servers {
            let wanted: BTreeMap<ServerId, u16> = servers
                .iter()
                .filter(|s| s.deleting.is_none())
                .filter_map(|s| s.engine_port.map(|p| (s.id.clone(), p)))
                .collect();
            listeners.retain(|id, (port, task)| {
                let keep = wanted.get(id) == Some(port) && !task.is_finished();
                if !keep {
                    task.abort();
                }
                keep
            });
            for (id, port) in wanted {
                if listeners.contains_key(&id) {
                    continue;
                }
                let addr = SocketAddr::new(address, port);
                match TcpListener::bind(addr).await {
                    Ok(listener) => {
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
                        tracing::warn!(server = %id, %addr, error = %e, "servers: cannot listen for the engine");
                    }
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            r = changes.changed() => if r.is_err() { break },
        }
    }
    for (_, (_, task)) in listeners {
        task.abort();
    }
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
            if let Err(why) = join(tcp, &id, &store, &acceptor, &socket).await {
                tracing::info!(server = %id, %peer, why, "servers: engine connection refused");
            }
        });
    }
}

/// One connection: handshake, the certificate's owner, then the bytes
/// both ways until either side closes.
async fn join(
    tcp: TcpStream,
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
    let (store, id2) = (store.clone(), id.clone());
    let (owner, server) = tokio::task::spawn_blocking(move || {
        let owner = CertsService::owner_of(&store, &presented)?;
        let server: Option<Server> = stored::server_in_store(&store, &id2)?;
        Ok::<_, crate::store::StoreError>((owner, server))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let owner = owner.ok_or("a certificate hearth did not issue, or revoked")?;
    let server = server.ok_or("no such server")?;
    if server.owner != owner {
        return Err(format!("{owner}'s certificate, {}'s server", server.owner));
    }
    let mut engine = UnixStream::connect(socket)
        .await
        .map_err(|e| format!("the engine does not answer: {e}"))?;
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut engine).await;
    Ok(())
}
