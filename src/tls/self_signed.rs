//! The self-signed certificate hearth makes for itself on first start:
//! ECDSA P-256, naming every way a person on the LAN may reach the box.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};

use super::TlsError;
use crate::fsutil::write_atomically;

/// The names a certificate covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectNames {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl SubjectNames {
    /// The hostname, `hearth.local`, `localhost`, the loopback addresses and
    /// the addresses the machine has right now.
    pub fn of_this_machine() -> SubjectNames {
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok());
        let addresses = nix::ifaddrs::getifaddrs()
            .map(|addrs| {
                addrs
                    .filter_map(|a| a.address)
                    .filter_map(|s| {
                        if let Some(v4) = s.as_sockaddr_in() {
                            Some(IpAddr::V4(v4.ip()))
                        } else {
                            s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        SubjectNames::new(hostname.as_deref(), &addresses)
    }

    /// Builds the list without I/O: fixed names first, no duplicates, and no
    /// IPv6 link-local addresses (they need a zone and no browser uses them).
    pub fn new(hostname: Option<&str>, addresses: &[IpAddr]) -> SubjectNames {
        let mut dns = Vec::new();
        for name in [hostname.unwrap_or(""), "hearth.local", "localhost"] {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !dns.contains(&name) {
                dns.push(name);
            }
        }
        let mut ips = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        for ip in addresses {
            let link_local_v6 = matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
            if !link_local_v6 && !ip.is_unspecified() && !ips.contains(ip) {
                ips.push(*ip);
            }
        }
        SubjectNames { dns, ips }
    }

    /// The names as a certificate's subject alternative names; a
    /// hostname that is not a valid DNS name is left out, not fatal.
    pub fn alt_names(&self) -> Vec<SanType> {
        let dns = self
            .dns
            .iter()
            .filter_map(|name| name.as_str().try_into().ok().map(SanType::DnsName));
        dns.chain(self.ips.iter().map(|ip| SanType::IpAddress(*ip)))
            .collect()
    }
}

/// A new self-signed certificate and key, as PEM text.
pub fn generate(names: &SubjectNames) -> Result<(String, String), TlsError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names.dns[0].clone());
    dn.push(DnType::OrganizationName, "hearth appliance");
    params.distinguished_name = dn;
    params.subject_alt_names = names.alt_names();
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(10 * 365);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Generates and saves `cert.pem` and `key.pem` (0600) into `dir` (0700).
///
/// Both files are written into a temporary sibling folder, synced, and the
/// folder renamed into place in one step, so a crash never leaves half a
/// pair behind.
pub(super) fn generate_into(dir: &Path, names: &SubjectNames) -> Result<(), TlsError> {
    let staging = stage(dir, names)?;
    if dir.exists() {
        // An empty folder left by an older layout or by hand.
        std::fs::remove_dir(dir).map_err(write_err(dir))?;
    }
    std::fs::rename(&staging, dir).map_err(write_err(dir))?;
    sync_parent(dir)?;
    tracing::info!(dir = %dir.display(), "generated a self-signed TLS certificate");
    Ok(())
}

/// Replaces the pair in `dir` by a new one (the recovery console's "new
/// certificate"): the new folder and the old one swap places in one
/// `renameat2(RENAME_EXCHANGE)`, so at every moment `dir` holds a whole
/// pair, the old or the new. The new files belong to whoever owns `dir`'s
/// parent (the state dir): the console runs as root, hearth does not.
pub(super) fn replace_in(dir: &Path, names: &SubjectNames) -> Result<(), TlsError> {
    let staging = stage(dir, names)?;
    if let Some(parent) = dir.parent() {
        give_to_owner_of(parent, &staging)?;
    }
    if dir.exists() {
        nix::fcntl::renameat2(
            nix::fcntl::AT_FDCWD,
            &staging,
            nix::fcntl::AT_FDCWD,
            dir,
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(|e| TlsError::Write {
            path: dir.to_path_buf(),
            source: e.into(),
        })?;
        // `staging` now holds the old pair. The new one is in place:
        // what fails from here on is tidying, not the swap.
        if let Err(e) = std::fs::remove_dir_all(&staging) {
            tracing::warn!(path = %staging.display(), error = %e, "cannot remove the old certificate");
        }
    } else {
        std::fs::rename(&staging, dir).map_err(write_err(dir))?;
    }
    if let Err(e) = sync_parent(dir) {
        tracing::warn!(error = %e, "cannot sync the state folder after the certificate swap");
    }
    tracing::info!(dir = %dir.display(), "replaced the self-signed TLS certificate");
    Ok(())
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + use<> {
    let path = path.to_path_buf();
    move |source| TlsError::Write { path, source }
}

/// Writes a new pair into `dir`'s sibling `<dir>.new`; returns its path.
fn stage(dir: &Path, names: &SubjectNames) -> Result<std::path::PathBuf, TlsError> {
    let staging = dir.with_extension("new");
    // A leftover (or a link someone put there) goes; remove_dir_all
    // removes a symbolic link itself, never what it points to.
    if std::fs::symlink_metadata(&staging).is_ok() {
        std::fs::remove_dir_all(&staging)
            .or_else(|_| std::fs::remove_file(&staging))
            .map_err(write_err(&staging))?;
    }
    // Made here and now, not taken as found: the console writes as root
    // in a folder hearth's user can write to.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(write_err(&staging))?;
    let (cert, key) = generate(names)?;
    let cert_path = staging.join("cert.pem");
    let key_path = staging.join("key.pem");
    write_atomically(&cert_path, cert.as_bytes(), 0o644).map_err(write_err(&cert_path))?;
    write_atomically(&key_path, key.as_bytes(), 0o600).map_err(write_err(&key_path))?;
    Ok(staging)
}

fn sync_parent(dir: &Path) -> Result<(), TlsError> {
    if let Some(parent) = dir.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(write_err(parent))?;
    }
    Ok(())
}

/// Gives `folder` and the files in it to the owner of `of`, if they are
/// not already theirs (only root can, and only root needs to).
fn give_to_owner_of(of: &Path, folder: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(of).map_err(write_err(of))?;
    let mine = std::fs::metadata(folder).map_err(write_err(folder))?;
    if (owner.uid(), owner.gid()) == (mine.uid(), mine.gid()) {
        return Ok(());
    }
    // The files first, the folder last: until then the folder is root's
    // (0700) and nobody else can put anything in it. Never following a
    // link.
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(write_err(folder))? {
        paths.push(entry.map_err(write_err(folder))?.path());
    }
    paths.push(folder.to_path_buf());
    for path in paths {
        std::os::unix::fs::lchown(&path, Some(owner.uid()), Some(owner.gid()))
            .map_err(write_err(&path))?;
    }
    Ok(())
}

/// Renames `dir` to `dir.incomplete-<unix time>`; returns the new path.
pub(super) fn set_aside(dir: &Path) -> Result<std::path::PathBuf, TlsError> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = dir.with_extension(format!("incomplete-{secs}"));
    std::fs::rename(dir, &aside).map_err(|source| TlsError::Write {
        path: aside.clone(),
        source,
    })?;
    Ok(aside)
}
