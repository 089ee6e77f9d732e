//! `mapframe kish --adults K --table T` and `mapframe kish --assign N --seed S`, run as a user
//! runs them.

use mapframe_e2e::{mapframe, stderr, stdout};
use serde_json::{Value, json};

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

const CYCLE: [&str; 12] = [
    "A", "B1", "C", "D", "E1", "F", "A", "B2", "C", "D", "E2", "F",
];

#[test]
fn five_adults_with_table_e1_select_the_third_with_unequal_probabilities() {
    let out = mapframe(&["kish", "--adults", "5", "--table", "e1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    let sixth = 1.0 / 6.0;
    assert_eq!(
        v,
        json!({
            "table": "E1",
            "adults": 5,
            "selected": 3,
            "probabilities": [
                {"adult": 1, "fraction": "1/6", "prob": sixth},
                {"adult": 2, "fraction": "1/6", "prob": sixth},
                {"adult": 3, "fraction": "1/4", "prob": 0.25},
                {"adult": 4, "fraction": "1/6", "prob": sixth},
                {"adult": 5, "fraction": "1/4", "prob": 0.25},
            ],
        })
    );
}

#[test]
fn large_households_list_every_adult_with_zero_beyond_the_sixth() {
    let out = mapframe(&["kish", "--adults", "8", "--table", "F", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["selected"], 6);
    let ps = v["probabilities"].as_array().unwrap();
    assert_eq!(ps.len(), 8);
    for (i, p) in ps.iter().enumerate() {
        assert_eq!(p["adult"], i + 1);
        let (fraction, prob) = if i < 6 {
            ("1/6", 1.0 / 6.0)
        } else {
            ("0/1", 0.0)
        };
        assert_eq!(p["fraction"], fraction, "{p}");
        assert_eq!(p["prob"], prob, "{p}");
    }
}

#[test]
fn the_human_selection_report_does_not_drift() {
    let out = mapframe(&["kish", "--adults", "7", "--table", "D"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn assigned_tables_are_a_csv_of_addresses_following_the_cycle() {
    let out = mapframe(&["kish", "--assign", "14", "--seed", "20261121"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("address,table"));
    let rows: Vec<(usize, String)> = lines
        .map(|l| {
            let (a, t) = l.split_once(',').expect("two fields");
            (a.parse().expect("address number"), t.to_string())
        })
        .collect();
    assert_eq!(rows.len(), 14);
    let numbers: Vec<usize> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        numbers,
        (1..=14).collect::<Vec<_>>(),
        "addresses are numbered from 1"
    );
    // Consecutive addresses walk the cycle from one start slot.
    let starts: Vec<usize> = (0..12)
        .filter(|s| {
            rows.iter()
                .enumerate()
                .all(|(i, (_, t))| CYCLE[(s + i) % 12] == t)
        })
        .collect();
    assert_eq!(starts.len(), 1, "{rows:?} does not follow the cycle");
    insta::assert_snapshot!(text);
}

#[test]
fn the_json_assignment_names_its_start_and_cycle_and_agrees_with_the_csv() {
    let args = ["kish", "--assign", "30", "--seed", "77"];
    let json_out = mapframe(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(json_out.status.code(), Some(0), "{}", stderr(&json_out));
    let v = json_of(&json_out);
    assert_eq!(v["seed"], 77);
    assert_eq!(v["cycle"], json!(CYCLE));
    let start = v["start"].as_u64().expect("start slot") as usize;
    assert!(start < 12);
    let addresses = v["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 30);
    for (i, a) in addresses.iter().enumerate() {
        assert_eq!(
            a,
            &json!({"address": i + 1, "table": CYCLE[(start + i) % 12]})
        );
    }

    let csv_out = mapframe(&[&args[..], &["--format", "csv"]].concat());
    assert_eq!(csv_out.status.code(), Some(0));
    let csv_tables: Vec<String> = stdout(&csv_out)
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    let json_tables: Vec<&str> = addresses
        .iter()
        .map(|a| a["table"].as_str().unwrap())
        .collect();
    assert_eq!(csv_tables, json_tables);
    // Same seed, same answer.
    assert_eq!(
        json_of(&mapframe(&[&args[..], &["--format", "json"]].concat())),
        v
    );
}

#[test]
fn unusable_input_exits_two_with_a_reason() {
    let cases: [(&[&str], &str); 12] = [
        (
            &["kish", "--adults", "3", "--table", "G"],
            "unknown Kish table",
        ),
        (&["kish", "--adults", "0", "--table", "A"], "--adults"),
        (&["kish", "--adults", "101", "--table", "A"], "--adults"),
        (&["kish", "--assign", "0", "--seed", "1"], "--assign"),
        (&["kish", "--adults", "3"], "--table"),
        (&["kish", "--assign", "3"], "--seed"),
        (&["kish"], "--adults"),
        (
            &[
                "kish", "--adults", "3", "--table", "A", "--assign", "3", "--seed", "1",
            ],
            "cannot be used with",
        ),
        (
            &["kish", "--assign", "3", "--seed", "1", "--table", "A"],
            "cannot be used with",
        ),
        (
            &["kish", "--adults", "3", "--table", "A", "--seed", "1"],
            "cannot be used with",
        ),
        (
            &["kish", "--adults", "two", "--table", "A"],
            "invalid value",
        ),
        (
            &["kish", "--assign", "3", "--seed", "1", "--format", "xml"],
            "invalid value",
        ),
    ];
    for (args, message) in cases {
        let out = mapframe(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(out.stdout.is_empty(), "{args:?} wrote {}", stdout(&out));
        assert!(
            stderr(&out).contains(message),
            "{args:?}: expected {message:?} in {}",
            stderr(&out)
        );
    }
}
