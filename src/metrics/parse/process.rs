//! `/proc/[pid]/stat`: a process's name, CPU time and resident memory.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub name: String,
    pub state: char,
    /// User plus system time, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_pages: u64,
}

pub fn parse_pid_stat(text: &str) -> Option<ProcStat> {
    // The name is in parentheses and may itself contain spaces and
    // parentheses, so split at the first '(' and the last ')'.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let name = text[open + 1..close].to_string();
    // Fields after the name start at field 3 (state).
    let f: Vec<&str> = text[close + 1..].split_ascii_whitespace().collect();
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let state = f.first()?.chars().next()?;
    Some(ProcStat {
        pid,
        name,
        state,
        cpu_ticks: field(14)?.saturating_add(field(15)?),
        rss_pages: field(24).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn ordinary_and_odd_names() {
        let p = parse_pid_stat(&fixture("pid_stat.txt")).unwrap();
        assert_eq!(p.name, "cat");
        let p = parse_pid_stat(&fixture("root/proc/1/stat")).unwrap();
        assert_eq!((p.pid, p.name.as_str(), p.state), (1, "systemd", 'S'));
        assert_eq!(p.cpu_ticks, 2200);
        assert_eq!(p.rss_pages, 3000);
        let p = parse_pid_stat(&fixture("root/proc/42/stat")).unwrap();
        assert_eq!(p.name, "my (weird) name");
        assert_eq!(p.cpu_ticks, 100000);
        assert_eq!(p.rss_pages, 200000);
    }

    #[test]
    fn truncated_and_garbage() {
        assert_eq!(parse_pid_stat(""), None);
        assert_eq!(parse_pid_stat("12 (x) S 1 2"), None);
        assert_eq!(parse_pid_stat(") 12 (x"), None);
    }
}
