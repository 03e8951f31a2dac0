//! Property tests of [`PortRange`], a port or a range as an admin writes
//! it (`22`, `8000-8100`) and as the policy's JSON holds it (a number or
//! a string):
//! - any text is a range or an error, never a panic;
//! - an accepted range is of ports 1 to 65535, first not above last, and
//!   its text and its JSON give it again;
//! - port 0, a number over 65535, or a range backwards is refused.

use proptest::prelude::*;

use super::*;

fn range() -> impl Strategy<Value = PortRange> {
    (1u16..=u16::MAX, 1u16..=u16::MAX).prop_map(|(a, b)| PortRange {
        first: a.min(b),
        last: a.max(b),
    })
}

proptest! {
    /// Any text: a range or an error, never a panic; an accepted one is
    /// within the ports, in order, and its text gives it again.
    #[test]
    fn any_text_is_a_range_or_an_error(
        s in prop_oneof![
            " ?[+-]?[0-9]{0,6} ?(- ?[+-]?[0-9]{0,6} ?)?",
            any::<String>(),
        ],
    ) {
        if let Ok(r) = PortRange::try_from(s.as_str()) {
            prop_assert!(r.first >= 1 && r.first <= r.last);
            prop_assert_eq!(PortRange::try_from(r.to_string().as_str()), Ok(r));
        }
    }

    /// A range's text and its JSON give it again; it holds its ends.
    #[test]
    fn ranges_round_trip(r in range()) {
        prop_assert_eq!(PortRange::try_from(r.to_string().as_str()), Ok(r));
        let json = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(serde_json::from_str::<PortRange>(&json).unwrap(), r);
        prop_assert!(r.contains(r.first) && r.contains(r.last) && r.overlaps(r));
        prop_assert_eq!(r.first == r.last, !r.to_string().contains('-'));
    }

    /// Port 0, a number beyond 65535, or a range backwards is refused, as
    /// text and in JSON.
    #[test]
    fn bad_ranges_are_refused(r in range(), big in 65_536u64..=u64::MAX) {
        for bad in [
            "0".to_string(),
            format!("0-{}", r.last),
            big.to_string(),
            format!("{}-{big}", r.first),
        ] {
            prop_assert!(PortRange::try_from(bad.as_str()).is_err(), "{}", bad);
            prop_assert!(serde_json::from_value::<PortRange>(serde_json::json!(bad)).is_err());
        }
        prop_assert!(serde_json::from_value::<PortRange>(serde_json::json!(big)).is_err());
        if r.first < r.last {
            let backwards = format!("{}-{}", r.last, r.first);
            prop_assert!(PortRange::try_from(backwards.as_str()).is_err());
        }
    }
}
