//! Property tests of the /proc and /sys parsers: whatever a file holds
//! (a kernel of another version, a truncated read, garbage), a parser
//! answers `None`, an empty list or a partial value, never a panic.

use proptest::prelude::*;

use super::*;

/// Text shaped like kernel files: words, numbers, colons, newlines, and
/// now and then anything at all.
fn kernel_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_:./ \\-\n\t]{0,400}",
        "([a-z]{1,8}[0-9]{0,2}:? +([0-9]{1,20} +){0,18}[0-9]{0,20}\n){0,6}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cpu_and_load_parsers_never_panic(text in kernel_text()) {
        let _ = cpu::parse_stat(&text);
        let _ = cpu::parse_loadavg(&text);
        let _ = cpu::parse_uptime(&text);
    }

    #[test]
    fn memory_and_pressure_parsers_never_panic(text in kernel_text()) {
        let _ = memory::parse_meminfo(&text);
        let _ = pressure::parse_pressure(&text);
    }

    #[test]
    fn disk_net_and_mount_parsers_never_panic(text in kernel_text()) {
        let _ = disk::parse_diskstats(&text, disk::looks_whole);
        let _ = net::parse_net_dev(&text);
        let _ = net::parse_speed(&text);
        let _ = mounts::default_mounts(&mounts::parse_mountinfo(&text));
    }

    #[test]
    fn process_power_system_and_thermal_parsers_never_panic(
        text in kernel_text(),
        name in "[a-zA-Z0-9_]{0,12}",
    ) {
        let _ = process::parse_pid_stat(&text);
        let _ = power::parse_uevent(&name, &text);
        let _ = system::parse_os_release(&text);
        let _ = thermal::parse_millidegrees(&text);
        let _ = thermal::hwmon_label(&name, &name, Some(&text));
        let _ = parse_u64(&text);
        let _ = parse_i64(&text);
        let _ = parse_line(&text);
    }

    #[test]
    fn numbers_read_back_as_written(n in any::<u64>(), m in any::<i64>()) {
        prop_assert_eq!(parse_u64(&format!("{n}\n")), Some(n));
        prop_assert_eq!(parse_i64(&format!(" {m}\n")), Some(m));
    }
}
