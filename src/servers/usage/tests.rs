//! The cgroup files as the kernel writes them, in a folder of the test's.

use super::*;

const A: &str = "0a1b2c3d";

/// The readings that worked.
fn ok(readings: Readings) -> BTreeMap<ServerId, Usage> {
    readings
        .into_iter()
        .filter_map(|(id, r)| Some((id, r.ok()?)))
        .collect()
}

fn write_cgroup(slice: &Path, id: &str, cpu_usec: u64, memory: u64, tasks: u64) {
    let dir = slice.join(format!("hearth-server@{id}.service"));
    std::fs::create_dir_all(&dir).unwrap();
    let stat = format!(
        "usage_usec {cpu_usec}\nuser_usec {}\nsystem_usec {}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
        cpu_usec / 2,
        cpu_usec / 2
    );
    std::fs::write(dir.join("cpu.stat"), stat).unwrap();
    std::fs::write(dir.join("memory.current"), format!("{memory}\n")).unwrap();
    std::fs::write(dir.join("pids.current"), format!("{tasks}\n")).unwrap();
}

#[test]
fn cpu_is_thousandths_of_a_cpu_between_two_readings() {
    let slice = tempfile::tempdir().unwrap();
    write_cgroup(slice.path(), A, 1_000_000, 134_217_728, 23);
    let mut sampler = Sampler::default();
    let ids = [ServerId::try_from(A).unwrap()];
    let first = ok(sampler.sample_ids(slice.path(), &ids, 10_000_000));
    let id = ServerId::try_from(A).unwrap();
    assert_eq!(
        first[&id],
        Usage {
            cpu_millis: None,
            memory_bytes: 134_217_728,
            tasks: 23
        },
        "no CPU share from one reading"
    );
    // 1.5 s of CPU in 5 s: 0.3 of one CPU.
    write_cgroup(slice.path(), A, 2_500_000, 140_000_000, 25);
    let second = ok(sampler.sample_ids(slice.path(), &ids, 15_000_000));
    assert_eq!(second[&id].cpu_millis, Some(300));
    assert_eq!(
        (second[&id].memory_bytes, second[&id].tasks),
        (140_000_000, 25)
    );
    // Two CPUs busy.
    write_cgroup(slice.path(), A, 12_500_000, 140_000_000, 25);
    assert_eq!(
        ok(sampler.sample_ids(slice.path(), &ids, 20_000_000))[&id].cpu_millis,
        Some(2000)
    );
}

#[test]
fn a_server_without_its_files_says_why_and_a_counter_gone_back_gives_no_share() {
    let slice = tempfile::tempdir().unwrap();
    write_cgroup(slice.path(), A, 1, 2, 3);
    // A cgroup without its files (the unit going away meanwhile), and one
    // that is not there at all.
    std::fs::create_dir_all(slice.path().join("hearth-server@0000000b.service")).unwrap();
    let ids = [A, "0000000b", "0000000c"].map(|i| ServerId::try_from(i).unwrap());
    let mut sampler = Sampler::default();
    let readings = sampler.sample_ids(slice.path(), &ids, 1);
    let seen: Vec<String> = ok(readings.clone())
        .keys()
        .map(|id| id.to_string())
        .collect();
    assert_eq!(seen, [A]);
    for gone in &ids[1..] {
        let why = readings[gone].as_ref().unwrap_err();
        assert!(
            why.contains("cpu.stat") && why.contains(gone.as_str()),
            "{why}"
        );
    }
    // A counter that went back (a new unit under the same name) gives no
    // share, never a negative one.
    write_cgroup(slice.path(), A, 0, 2, 3);
    let usage = ok(sampler.sample_ids(slice.path(), &ids, 2));
    assert_eq!(usage[&ids[0]].cpu_millis, None);
}

#[test]
fn a_damaged_file_is_an_error_naming_it() {
    let slice = tempfile::tempdir().unwrap();
    write_cgroup(slice.path(), A, 1, 2, 3);
    let dir = cgroup(slice.path(), &ServerId::try_from(A).unwrap());
    std::fs::write(dir.join("memory.current"), "lots\n").unwrap();
    let e = read(&dir, 1).unwrap_err().to_string();
    assert!(e.contains("memory.current") && e.contains("lots"), "{e}");
    std::fs::write(dir.join("memory.current"), "2\n").unwrap();
    std::fs::write(dir.join("cpu.stat"), "user_usec 1\n").unwrap();
    let e = read(&dir, 1).unwrap_err().to_string();
    assert!(e.contains("cpu.stat") && e.contains("usage_usec"), "{e}");
}

#[test]
fn the_servers_slice_is_where_systemd_puts_a_templates_instances() {
    // systemd's rule: `system-` and the template's name, each `-` in it
    // escaped as `\x2d` (systemd-escape), then `.slice`.
    let escaped = "hearth-server".replace('-', "\\x2d");
    assert_eq!(
        SERVERS_SLICE,
        format!("/sys/fs/cgroup/system.slice/system-{escaped}.slice")
    );
    let id = ServerId::try_from(A).unwrap();
    assert_eq!(
        cgroup(Path::new(SERVERS_SLICE), &id),
        Path::new(
            "/sys/fs/cgroup/system.slice/system-hearth\\x2dserver.slice/hearth-server@0a1b2c3d.service"
        )
    );
}
