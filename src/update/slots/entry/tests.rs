use super::*;

fn name(text: &str) -> EntryName {
    EntryName::parse(text).unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn names_with_counters_parse_and_render_back() {
    for (text, generation, slot, tries, kind) in [
        ("hearth-0001-a.conf", 1, Slot::A, None, Kind::Live),
        ("hearth-0002-b+3.conf", 2, Slot::B, Some((3, 0)), Kind::Live),
        (
            "hearth-0002-b+2-1.conf",
            2,
            Slot::B,
            Some((2, 1)),
            Kind::Live,
        ),
        (
            "hearth-0002-b+0-3.conf",
            2,
            Slot::B,
            Some((0, 3)),
            Kind::Live,
        ),
        (
            "hearth-0002-b+0-3.conf.bad",
            2,
            Slot::B,
            Some((0, 3)),
            Kind::Bad,
        ),
        (
            "hearth-0012-a+3.conf.tmp",
            12,
            Slot::A,
            Some((3, 0)),
            Kind::Temporary,
        ),
        ("hearth-10000-a.conf", 10000, Slot::A, None, Kind::Live),
    ] {
        let n = name(text);
        assert_eq!(n.generation, generation, "{text}");
        assert_eq!(n.slot, slot, "{text}");
        assert_eq!(n.tries.map(|t| (t.left, t.done)), tries, "{text}");
        assert_eq!(n.kind, kind, "{text}");
        assert_eq!(n.file_name(), text);
    }
    assert!(name("hearth-0002-b+0-3.conf").is_bad());
    assert!(name("hearth-0002-b+1-2.conf.bad").is_bad());
    assert!(!name("hearth-0002-b+1-2.conf").is_bad());
    assert!(!name("hearth-0001-a.conf").is_bad());
    assert_eq!(
        EntryName::new(7, Slot::B).file_name(),
        "hearth-0007-b+3.conf"
    );
}

#[test]
fn other_files_are_not_slot_entries() {
    for text in [
        "hearth.conf",
        "hearth-a.conf",
        "hearth--a.conf",
        "hearth-0001-c.conf",
        "hearth-0001-ab.conf",
        "hearth-0001-a+.conf",
        "hearth-0001-a+x.conf",
        "hearth-0001-a+1-.conf",
        "hearth-0001-a.confx",
        "other-0001-a.conf",
        "hearth-0001-a.conf.old",
        "hearth-1234567890-a.conf",
    ] {
        assert_eq!(EntryName::parse(text), None, "{text}");
    }
}

fn entry(file: &str, text: &str) -> Entry {
    Entry {
        name: name(file),
        text: text.into(),
    }
}

#[test]
fn a_slot_is_its_newest_live_entry_and_generations_only_grow() {
    let entries = [
        entry("hearth-0001-a.conf", ""),
        entry("hearth-0003-b+0-3.conf.bad", ""),
        entry("hearth-0002-b+0-3.conf.bad", ""),
        entry("hearth-0004-a+3.conf.tmp", ""),
    ];
    assert_eq!(
        current(&entries, Slot::A).unwrap().name.file_name(),
        "hearth-0001-a.conf"
    );
    assert_eq!(
        current(&entries, Slot::B).unwrap().name.file_name(),
        "hearth-0003-b+0-3.conf.bad"
    );
    assert!(current(&entries[..1], Slot::B).is_none());
    assert_eq!(next_generation(&entries), 5);
    assert_eq!(next_generation(&[]), 1);
}

#[test]
fn the_new_command_line_names_the_new_partition_and_slot() {
    let running = "root=PARTUUID=6c1d0d1e-0000-0000-0000-000000000002 rootfstype=erofs ro console=ttyS0,115200 hearth.slot=a panic=30";
    assert_eq!(
        options_for(running, "6c1d0d1e-0000-0000-0000-000000000004", Slot::B).unwrap(),
        "root=PARTUUID=6c1d0d1e-0000-0000-0000-000000000004 rootfstype=erofs ro console=ttyS0,115200 panic=30 hearth.slot=b"
    );
    // The image's first entry has no hearth.slot yet.
    assert_eq!(
        options_for("root=PARTUUID=x ro", "y", Slot::A).unwrap(),
        "root=PARTUUID=y ro hearth.slot=a"
    );
    assert_eq!(options_for("root=/dev/sda2 ro", "y", Slot::B), None);
}

#[test]
fn an_entry_reads_its_lines_and_renders_the_same() {
    let text = render("0.3.0", Slot::B, "root=PARTUUID=y ro hearth.slot=b");
    assert_eq!(
        text,
        "title hearth 0.3.0\nversion 0.3.0\nlinux /hearth/b/vmlinuz\ninitrd /hearth/b/initrd.img\noptions root=PARTUUID=y ro hearth.slot=b\n"
    );
    let e = entry("hearth-0002-b+3.conf", &text);
    assert_eq!(e.value("version").as_deref(), Some("0.3.0"));
    assert_eq!(e.value("linux").as_deref(), Some("/hearth/b/vmlinuz"));
    assert_eq!(e.value("sort-key"), None);
    let two = entry("hearth-0001-a.conf", "options a=1\n  options   b=2 \n");
    assert_eq!(two.value("options").as_deref(), Some("a=1 b=2"));
}
