//! Facts about the machine hearth runs on, as the pages show them: its
//! host name, its network addresses, the time zones it knows. Read only:
//! setting the host name or time zone is left to systemd's services.

pub mod addresses;
pub mod interfaces;
pub mod timezones;

/// The host name the OS has now, if it can be read.
pub fn os_hostname() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_has_a_host_name() {
        let name = super::os_hostname().expect("gethostname works");
        assert!(!name.contains(char::is_whitespace), "{name:?}");
    }
}
