//! Property tests of the nftables read-back ([`table_state`], which
//! splits `nft -j list table` output into its shape and its counters,
//! and [`refusal`], which shortens nft's complaint):
//! - any JSON, nft-shaped or not, gives a state, never a panic;
//! - a listing's counters are read as the kernel gave them, in order,
//!   for the rules with a comment; the shape holds no handle, no
//!   metainfo and no count, so the same rules with other handles and
//!   counts have the same shape;
//! - reading a shape back gives the same shape, with zero counters;
//! - any stderr gives at most six lines of it, never nothing.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9 _-]{0,12}", any::<String>()]
}

/// Any JSON, small.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(vec![
                        "rule", "chain", "table", "set", "metainfo", "expr", "counter", "comment",
                        "handle", "packets", "bytes", "nftables",
                    ])
                    .prop_map(str::to_string),
                    text(),
                ],
                inner,
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// nft-shaped JSON whose parts may be of any type: `{"nftables": [...]}`
/// of items keyed as nft keys them.
fn nft_ish() -> impl Strategy<Value = Value> {
    let expr = prop_oneof![
        json(),
        json().prop_map(|c| json!({"counter": c})),
        (any::<u64>(), any::<u64>())
            .prop_map(|(p, b)| json!({"counter": {"packets": p, "bytes": b}})),
    ];
    let rule = (
        proptest::option::of(json()),
        proptest::option::of(json()),
        proptest::option::of(json()),
        prop_oneof![
            proptest::collection::vec(expr, 0..4).prop_map(Value::Array),
            json()
        ],
    )
        .prop_map(|(chain, comment, handle, expr)| {
            let mut r = Map::new();
            for (k, v) in [("chain", chain), ("comment", comment), ("handle", handle)] {
                if let Some(v) = v {
                    r.insert(k.into(), v);
                }
            }
            r.insert("expr".into(), expr);
            json!({ "rule": r })
        });
    let item = prop_oneof![
        rule,
        json(),
        (
            proptest::sample::select(vec!["table", "chain", "set", "metainfo"]),
            json()
        )
            .prop_map(|(k, v)| json!({ k: v })),
    ];
    prop_oneof![
        proptest::collection::vec(item, 0..6).prop_map(|items| json!({ "nftables": items })),
        json(),
    ]
}

/// One rule of a listing as the kernel gives it.
#[derive(Debug, Clone)]
struct Rule {
    chain: String,
    comment: Option<String>,
    handle: u64,
    /// The counters among its expressions.
    counts: Vec<(u64, u64)>,
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        "(input|forward|output|prerouting|postrouting)",
        proptest::option::of("(allow|forward|dropped) [0-9]{1,3}"),
        any::<u64>(),
        proptest::collection::vec((any::<u64>(), any::<u64>()), 0..3),
    )
        .prop_map(|(chain, comment, handle, counts)| Rule {
            chain,
            comment,
            handle,
            counts,
        })
}

/// A listing of hearth's table: metainfo, the table, a set, chains and
/// rules, each with its handle, the rules with their counters.
fn listing(rules: &[Rule], other_handles: u64) -> Value {
    let mut items = vec![
        json!({"metainfo": {"version": "1.0.6", "json_schema_version": 1}}),
        json!({"table": {"family": "inet", "name": "hearth", "handle": other_handles}}),
        json!({"set": {"family": "inet", "name": "servers", "table": "hearth", "type": "ipv4_addr", "handle": other_handles}}),
        json!({"chain": {"family": "inet", "table": "hearth", "name": "input", "handle": other_handles, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}),
    ];
    for r in rules {
        let mut expr = vec![
            json!({"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}),
        ];
        for (packets, bytes) in &r.counts {
            expr.push(json!({"counter": {"packets": packets, "bytes": bytes}}));
        }
        expr.push(json!({"accept": null}));
        let mut rule = json!({"family": "inet", "table": "hearth", "chain": r.chain, "handle": r.handle, "expr": expr});
        if let Some(c) = &r.comment {
            rule["comment"] = json!(c);
        }
        items.push(json!({ "rule": rule }));
    }
    json!({ "nftables": items })
}

/// Whether `v` holds `key` anywhere.
fn holds(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.contains_key(key) || m.values().any(|v| holds(v, key)),
        Value::Array(a) => a.iter().any(|v| holds(v, key)),
        _ => false,
    }
}

proptest! {
    /// Any JSON, nft-shaped or not, gives a state, never a panic; only
    /// an `nftables` array gives anything.
    #[test]
    fn any_json_gives_a_state(json in nft_ish()) {
        let state = table_state(&json);
        let listed = json.get("nftables").and_then(Value::as_array).map_or(0, Vec::len);
        prop_assert!(state.shape.as_array().unwrap().len() <= listed);
        prop_assert!(state.counters.len() <= listed * 4);
    }

    /// The counters are the kernel's, in order, for rules with a comment;
    /// the shape keeps none of them, nor a handle or the metainfo; other
    /// handles and counts give the same shape.
    #[test]
    fn counters_are_read_and_left_out_of_the_shape(
        rules in proptest::collection::vec(rule(), 0..8),
        handle in any::<u64>(),
        shift in any::<u64>(),
    ) {
        let state = table_state(&listing(&rules, handle));
        let want: Vec<RuleCounter> = rules
            .iter()
            .filter_map(|r| Some((r, r.comment.clone()?)))
            .flat_map(|(r, comment)| {
                r.counts.iter().map(move |&(packets, bytes)| RuleCounter {
                    chain: r.chain.clone(),
                    rule: comment.clone(),
                    packets,
                    bytes,
                })
            })
            .collect();
        prop_assert_eq!(&state.counters, &want);
        prop_assert!(!holds(&state.shape, "handle"));
        prop_assert!(!holds(&state.shape, "metainfo"));
        let text = state.shape.to_string();
        let counted: usize = rules.iter().map(|r| r.counts.len()).sum();
        prop_assert_eq!(text.matches(r#""packets":0"#).count(), counted);
        prop_assert_eq!(text.matches(r#""bytes":0"#).count(), counted);

        let moved: Vec<Rule> = rules
            .iter()
            .map(|r| Rule {
                handle: r.handle.wrapping_add(shift),
                counts: r.counts.iter().map(|(p, b)| (p ^ shift, b.wrapping_add(shift))).collect(),
                ..r.clone()
            })
            .collect();
        let later = table_state(&listing(&moved, handle.wrapping_add(shift)));
        prop_assert_eq!(later.shape, state.shape);
    }

    /// A rule's chain or comment changed changes the shape: drift is seen.
    #[test]
    fn another_rule_gives_another_shape(
        rules in proptest::collection::vec(rule(), 1..6),
        which in any::<prop::sample::Index>(),
        comment in "[a-z]{1,8}",
    ) {
        let before = table_state(&listing(&rules, 1)).shape;
        let mut edited = rules.clone();
        let r = &mut edited[which.index(rules.len())];
        prop_assume!(r.comment.as_deref() != Some(comment.as_str()));
        r.comment = Some(comment);
        prop_assert_ne!(table_state(&listing(&edited, 1)).shape, before);
    }

    /// A shape read back is the same shape, and all its counts are zero.
    #[test]
    fn a_shape_reads_back_as_itself(
        rules in proptest::collection::vec(rule(), 0..6),
        noise in nft_ish(),
    ) {
        for json in [listing(&rules, 7), noise] {
            let state = table_state(&json);
            let again = table_state(&json!({ "nftables": state.shape.clone() }));
            prop_assert_eq!(&again.shape, &state.shape);
            prop_assert!(again.counters.iter().all(|c| c.packets == 0 && c.bytes == 0));
        }
    }

    /// Any stderr: one to six of its non-blank lines, or a sentence when
    /// it has none; never a panic.
    #[test]
    fn a_refusal_is_short_and_from_stderr(
        stderr in prop_oneof![
            "((Error|line|  |\t)[a-z :^~0-9]{0,20}\n?){0,12}",
            any::<String>(),
        ],
    ) {
        let said = refusal(&stderr);
        prop_assert!(!said.is_empty());
        if stderr.lines().all(|l| l.trim().is_empty()) {
            prop_assert_eq!(said, "nft failed without a message");
        } else {
            let lines: Vec<&str> = said.lines().collect();
            prop_assert!((1..=6).contains(&lines.len()), "{:?}", said);
            let kept: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
            prop_assert_eq!(said.lines().count(), kept.len());
        }
    }
}
