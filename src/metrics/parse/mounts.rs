//! `/proc/self/mountinfo`: which mount points exist, for the default
//! filesystem list (`/`, and `/var` when it is a separate mount).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: String,
    pub fstype: String,
    pub source: String,
}

pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = unescape(left.split_ascii_whitespace().nth(4)?);
            let mut r = right.split_ascii_whitespace();
            let fstype = r.next()?.to_string();
            let source = unescape(r.next().unwrap_or(""));
            Some(Mount {
                mount_point,
                fstype,
                source,
            })
        })
        .collect()
}

/// The kernel writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = (b[i] == b'\\' && i + 3 < b.len())
            .then(|| &b[i + 1..i + 4])
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| {
                u32::from(d[0] - b'0') * 64 + u32::from(d[1] - b'0') * 8 + u32::from(d[2] - b'0')
            })
            .and_then(|v| u8::try_from(v).ok());
        if let Some(v) = octal {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The default mounts: `/`, plus `/var` when it is mounted separately.
pub fn default_mounts(mounts: &[Mount]) -> Vec<String> {
    let mut out = vec!["/".to_string()];
    if mounts.iter().any(|m| m.mount_point == "/var") {
        out.push("/var".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn this_machine() {
        let m = parse_mountinfo(&fixture("mountinfo.txt"));
        assert!(
            m.iter()
                .any(|m| m.mount_point == "/proc" && m.fstype == "proc")
        );
        assert!(m.iter().any(|m| m.mount_point == "/"));
    }

    #[test]
    fn separate_var_and_escapes() {
        let text = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    2 1 8:2 / /var rw - ext4 /dev/sda2 rw\n\
                    3 1 8:3 / /mnt/my\\040disk rw - vfat /dev/sdb1 rw\n\
                    garbage\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].mount_point, "/mnt/my disk");
        // An escape above \\377 is not one: kept as text, no overflow.
        assert_eq!(unescape("a\\777b"), "a\\777b");
        assert_eq!(default_mounts(&m), vec!["/", "/var"]);
        assert_eq!(default_mounts(&m[..1]), vec!["/"]);
    }
}
