//! Who is at the other end of a local socket: the kernel's word
//! (`SO_PEERCRED`, the credentials the peer had when it connected), not
//! anything the peer says, nor only the socket file's mode. The servers'
//! helper answers hearth's own user only; the control socket root only.

use std::os::fd::AsFd;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("cannot read the peer's credentials: {0}")]
    Read(#[from] nix::Error),
    /// Said without the uid's name: the log of a refusal needs no more.
    #[error("refused a connection from uid {uid} (pid {pid}): only uid {allowed} may ask")]
    Refused { uid: u32, pid: i32, allowed: u32 },
}

/// Who connected: the kernel's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    /// For the log: who asked (a pid may be reused later).
    pub pid: i32,
}

/// The peer, if its uid is `allowed`.
pub fn check(socket: &impl AsFd, allowed: u32) -> Result<Peer, PeerError> {
    let creds = getsockopt(socket, PeerCredentials)?;
    if creds.uid() != allowed {
        return Err(PeerError::Refused {
            uid: creds.uid(),
            pid: creds.pid(),
            allowed,
        });
    }
    Ok(Peer {
        uid: creds.uid(),
        pid: creds.pid(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_names_the_peer_and_others_are_refused() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let peer = check(&a, me).unwrap();
        assert_eq!(peer.uid, me);
        assert_eq!(peer.pid, std::process::id() as i32);
        match check(&a, me.wrapping_add(1)) {
            Err(PeerError::Refused { uid, pid, .. }) => {
                assert_eq!(uid, me);
                assert_eq!(pid, std::process::id() as i32);
            }
            other => panic!("{other:?}"),
        }
    }
}
