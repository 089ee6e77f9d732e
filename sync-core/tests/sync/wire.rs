//! The wire format: round trips in JSON and binary, unknown fields kept, versions and kinds
//! checked, and decoders that never panic.

use crate::support::*;
use proptest::prelude::*;
use sync_core::sync::wire::{Message, WIRE_VERSION};
use sync_core::sync::{
    Decision, FieldValue, OpBody, PullRequest, PullResponse, PushAck, PushRequest, Role, WireError,
    decode_binary, decode_json, encode_binary, encode_json,
};

/// Realistic messages: a push with every kind of operation, its acknowledgement, and a pull
/// response with conflicts and refusals.
fn sample() -> (PushRequest, PushAck, PullRequest, PullResponse) {
    let mut w = World::new(
        &[Role::Interviewer, Role::Interviewer, Role::Supervisor],
        2,
        true,
    );
    w.sync_all();
    let (d, iv) = (w.seeded.dwellings[0], w.seeded.interviews[0]);
    w.edit(
        0,
        dwelling(d),
        &[
            ("occupancy", text("vacant")),
            (
                "position",
                sync_core::sync::Position::new(102.7, 25.04).into(),
            ),
        ],
    )
    .unwrap();
    w.edit(1, dwelling(d), &[("occupancy", text("business"))])
        .unwrap();
    w.edit(
        0,
        interview(iv),
        &[
            ("answers/名字", text("王芳")),
            ("answers/income", FieldValue::Float(1234.5)),
        ],
    )
    .unwrap();
    w.act(
        0,
        interview(iv),
        OpBody::RecordVisit {
            visit: uuid::Uuid::from_u128(5),
            fields: [("disposition".to_owned(), text("1.000"))].into(),
        },
    )
    .unwrap();
    w.sync(1);
    let push = w.dev(0).replica().push_request(100);
    let ack = w.push_device(Some(0), 100, Delivery::Normal);
    let pull = w.dev(2).replica().pull_request(0);
    w.pull_all(2);
    let e = w.server_entity(d).clone();
    let id = e.open_conflicts().next().unwrap().id;
    w.act(
        2,
        dwelling(d),
        OpBody::ResolveConflict {
            conflict: id,
            decision: Decision::Value(text("vacant")),
        },
    )
    .unwrap();
    w.sync(2);
    let response = w.pull_page(Some(1), 0, Delivery::LoseAck);
    (push, ack, pull, response)
}

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(m: &M) {
    let json = encode_json(m).unwrap();
    assert_eq!(&decode_json::<M>(json.as_bytes()).unwrap(), m);
    let bin = encode_binary(m).unwrap();
    assert_eq!(&decode_binary::<M>(&bin).unwrap(), m);
}

#[test]
fn every_message_round_trips_in_json_and_binary() {
    let (push, ack, pull, response) = sample();
    assert!(!push.ops.is_empty() && !response.entities.is_empty());
    round_trip(&push);
    round_trip(&ack);
    round_trip(&pull);
    round_trip(&response);
}

/// Adds a field this version does not know to every JSON object of a kind that keeps them (every
/// struct of the sync model).
fn newer(v: &mut serde_json::Value, depth: usize) {
    match v {
        serde_json::Value::Object(m) => {
            let has = |k: &str| m.contains_key(k);
            let extensible = has("op_id") // operations, acknowledgements
                || has("acks") || has("ops") || has("entities") || has("known_scopes") // messages
                || (has("scope") && has("fields")) // entities
                || (has("key") && has("entries")) // conflict records
                || (has("device") && has("seq")) // heads, conflict entries
                || (has("code") && has("message")) // reasons
                || (has("kind") && has("id") && m.len() == 2) // targets
                || (has("field") && has("new")) // changes
                || has("decision") // resolutions
                || (has("base_version") && has("body") && !has("op_id")); // queued operations
            for (_, child) in m.iter_mut() {
                newer(child, depth + 1);
            }
            if extensible {
                m.insert(
                    format!("future_{depth}"),
                    serde_json::json!({"x": [1, "二", null, 2.5]}),
                );
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|c| newer(c, depth + 1)),
        _ => {}
    }
}

fn keeps_unknown<M: Message + std::fmt::Debug>(m: &M, extra: impl Fn(&mut serde_json::Value)) {
    let mut v = serde_json::to_value(m).unwrap();
    newer(&mut v, 0);
    extra(&mut v);
    let text = serde_json::to_string(&v).unwrap();
    // JSON → JSON.
    let decoded: M = decode_json(text.as_bytes()).unwrap();
    let back: serde_json::Value = serde_json::from_str(&encode_json(&decoded).unwrap()).unwrap();
    assert_eq!(back, v);
    // JSON → binary → JSON: an older phone storing it in CBOR gives it back unchanged.
    let bin = encode_binary(&decoded).unwrap();
    let again: M = decode_binary(&bin).unwrap();
    let back: serde_json::Value = serde_json::from_str(&encode_json(&again).unwrap()).unwrap();
    assert_eq!(back, v);
}

#[test]
fn unknown_fields_and_variants_survive_decode_and_encode() {
    let (push, ack, pull, response) = sample();
    keeps_unknown(&push, |v| {
        // A newer phone's new action and a new entity kind.
        let ops = v["ops"].as_array_mut().unwrap();
        ops[0]["body"] = serde_json::json!({"photograph": {"sha256": "ab12", "bytes": 2048}});
        ops[0]["target"]["kind"] = serde_json::json!("parcel");
        ops[0]["role"] = serde_json::json!("enumerator");
    });
    keeps_unknown(&ack, |v| {
        v["acks"][0]["status"] = serde_json::json!({"deferred": {"until": 99}});
    });
    keeps_unknown(&pull, |_| {});
    keeps_unknown(&response, |v| {
        let entities = v["entities"].as_array_mut().unwrap();
        let e = entities
            .iter_mut()
            .find(|e| e.get("conflicts").is_some())
            .expect("an entity with a conflict record");
        e["kind"] = serde_json::json!("parcel");
        e["fields"]["answers/photo"] = serde_json::json!({"sha256": "ab12", "w": 640});
        if let Some(c) = e["conflicts"].as_array_mut().and_then(|c| c.first_mut()) {
            c["kind"] = serde_json::json!("boundary");
            if !c["resolution"].is_null() {
                c["resolution"]["decision"] = serde_json::json!({"split_difference": [1, 2]});
            }
        }
    });
}

#[test]
fn newer_versions_and_wrong_kinds_are_refused_with_stable_codes() {
    let (push, ..) = sample();
    let mut newer = push.clone();
    newer.version = WIRE_VERSION + 1;
    let err = decode_json::<PushRequest>(encode_json(&newer).unwrap().as_bytes()).unwrap_err();
    assert_eq!(err.code(), "unsupported_version");
    let err = decode_binary::<PushRequest>(&encode_binary(&newer).unwrap()).unwrap_err();
    assert_eq!(err.code(), "unsupported_version");
    let bin = encode_binary(&push).unwrap();
    assert_eq!(
        decode_binary::<PushAck>(&bin).unwrap_err().code(),
        "wrong_kind"
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "bad_header"),
        ("not ours", b"PK\x03\x04zip!".to_vec(), "bad_header"),
        (
            "unknown codec",
            [b"MFS\x01\x01\x09".as_slice(), &bin[6..]].concat(),
            "unknown_codec",
        ),
        (
            "corrupt zlib",
            [&bin[..6], &[0x78, 0x9c, 0xff, 0xff, 0xff][..]].concat(),
            "decompress",
        ),
        ("truncated", bin[..bin.len() / 2].to_vec(), "decompress"),
    ];
    for (name, bytes, code) in cases {
        let err: WireError = decode_binary::<PushRequest>(&bytes).unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
    }
    assert_eq!(
        decode_json::<PullRequest>(b"{\"version\":1}")
            .unwrap_err()
            .code(),
        "malformed"
    );
}

#[test]
fn binary_is_much_smaller_than_json() {
    let (push, ..) = sample();
    let json = encode_json(&push).unwrap().len();
    let bin = encode_binary(&push).unwrap().len();
    assert!(bin * 3 < json, "binary {bin} bytes vs JSON {json}");
}

/// A message in the binary envelope without compression, so that mutations reach the CBOR.
fn plain<M: Message>(m: &M, kind: u8) -> Vec<u8> {
    let mut out = b"MFS\x01".to_vec();
    out.push(kind);
    out.push(0);
    ciborium::into_writer(m, &mut out).unwrap();
    out
}

fn decode_all(bytes: &[u8]) {
    let _ = decode_binary::<PushRequest>(bytes);
    let _ = decode_binary::<PushAck>(bytes);
    let _ = decode_binary::<PullRequest>(bytes);
    let _ = decode_binary::<PullResponse>(bytes);
    let _ = decode_json::<PushRequest>(bytes);
    let _ = decode_json::<PushAck>(bytes);
    let _ = decode_json::<PullRequest>(bytes);
    let _ = decode_json::<PullResponse>(bytes);
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    for (at, b) in edits {
        let n = bytes.len();
        bytes[at % n] = *b;
    }
    let keep = bytes.len() - cut % bytes.len().max(1);
    bytes.truncate(keep.max(6));
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
        let mut framed = b"MFS\x01".to_vec();
        framed.extend_from_slice(&bytes);
        decode_all(&framed);
    }

    #[test]
    fn decoders_never_panic_on_mutated_messages(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
        which in 0..4usize,
    ) {
        let (push, ack, pull, response) = sample_cached();
        let (bin, raw, json) = match which {
            0 => (encode_binary(&push).unwrap(), plain(&push, 1), encode_json(&push).unwrap()),
            1 => (encode_binary(&ack).unwrap(), plain(&ack, 2), encode_json(&ack).unwrap()),
            2 => (encode_binary(&pull).unwrap(), plain(&pull, 3), encode_json(&pull).unwrap()),
            _ => (encode_binary(&response).unwrap(), plain(&response, 4), encode_json(&response).unwrap()),
        };
        decode_all(&mutate(bin, &edits, cut));
        decode_all(&mutate(raw, &edits, cut));
        decode_all(&mutate(json.into_bytes(), &edits, cut));
    }
}

fn sample_cached() -> (PushRequest, PushAck, PullRequest, PullResponse) {
    static SAMPLE: std::sync::OnceLock<(PushRequest, PushAck, PullRequest, PullResponse)> =
        std::sync::OnceLock::new();
    SAMPLE.get_or_init(sample).clone()
}
