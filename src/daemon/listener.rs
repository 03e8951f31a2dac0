//! The listening socket: the one systemd passed (`LISTEN_FDS`, socket
//! activation) or one bound to the configured address. An IPv6 wildcard
//! address is bound dual-stack, whatever the system's `bindv6only`.

use std::net::SocketAddr;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use nix::sys::socket::{SockType, getsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::DaemonError;

/// How the listener came to be, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Systemd,
    Bound,
}

pub fn take_or_bind(listen: SocketAddr) -> Result<(TcpListener, Origin), DaemonError> {
    let mut fds = sd_notify::listen_fds().map_err(DaemonError::ListenFds)?;
    if let Some(fd) = fds.next() {
        if fds.len() > 0 {
            tracing::warn!("systemd passed more than one socket; serving on the first");
        }
        // SAFETY: sd_notify::listen_fds checked LISTEN_PID, so systemd passed
        // this descriptor to this very process; nothing else in the process
        // owns or closes it, and we take ownership exactly once here.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        check_listening_stream(&owned)?;
        let std_listener = std::net::TcpListener::from(owned);
        std_listener
            .set_nonblocking(true)
            .map_err(DaemonError::ListenFds)?;
        let listener = TcpListener::from_std(std_listener).map_err(DaemonError::ListenFds)?;
        return Ok((listener, Origin::Systemd));
    }
    let bind_err = |source| DaemonError::Bind {
        addr: listen,
        source,
    };
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(bind_err)?;
    if listen.is_ipv6() {
        socket.set_only_v6(false).map_err(bind_err)?;
    }
    socket.set_reuse_address(true).map_err(bind_err)?;
    socket.set_nonblocking(true).map_err(bind_err)?;
    socket.bind(&listen.into()).map_err(bind_err)?;
    socket.listen(1024).map_err(bind_err)?;
    let listener = TcpListener::from_std(socket.into()).map_err(bind_err)?;
    Ok((listener, Origin::Bound))
}

/// A passed socket must be a listening TCP stream socket.
fn check_listening_stream(fd: &impl AsFd) -> Result<(), DaemonError> {
    let wrong = |what: &str| {
        DaemonError::ListenFds(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the socket is {what}; hearth needs a listening TCP socket (ListenStream=)"),
        ))
    };
    match getsockopt(fd, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(other) => return Err(wrong(&format!("of type {other:?}"))),
        Err(e) => return Err(DaemonError::ListenFds(e.into())),
    }
    match getsockopt(fd, sockopt::AcceptConn) {
        Ok(true) => Ok(()),
        Ok(false) => Err(wrong("not listening")),
        Err(e) => Err(DaemonError::ListenFds(e.into())),
    }
}
