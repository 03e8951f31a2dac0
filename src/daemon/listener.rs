//! The listening socket: the one systemd passed (`LISTEN_FDS`, socket
//! activation) or one bound to the configured address.

use std::net::SocketAddr;
use std::os::fd::FromRawFd;

use tokio::net::TcpListener;

use super::DaemonError;

pub fn take_or_bind(listen: SocketAddr) -> Result<(TcpListener, &'static str), DaemonError> {
    let mut fds = sd_notify::listen_fds().map_err(DaemonError::ListenFds)?;
    if let Some(fd) = fds.next() {
        if fds.len() > 0 {
            tracing::warn!("systemd passed more than one socket; serving on the first");
        }
        // SAFETY: sd_notify::listen_fds checked LISTEN_PID, so systemd passed
        // this descriptor to this very process; nothing else in the process
        // owns or closes it, and we take ownership exactly once here.
        let std_listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        std_listener
            .set_nonblocking(true)
            .map_err(DaemonError::ListenFds)?;
        let listener = TcpListener::from_std(std_listener).map_err(DaemonError::ListenFds)?;
        return Ok((listener, "systemd socket"));
    }
    let std_listener = std::net::TcpListener::bind(listen).map_err(|source| DaemonError::Bind {
        addr: listen,
        source,
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|source| DaemonError::Bind {
            addr: listen,
            source,
        })?;
    let listener = TcpListener::from_std(std_listener).map_err(|source| DaemonError::Bind {
        addr: listen,
        source,
    })?;
    Ok((listener, "bound"))
}
