//! Interview engine benchmark: a 1,000-question form (groups of questions with skip logic and
//! constraints, a cascading select, calculations) with a 20-member roster of 10 questions each;
//! the time to recompute the whole view after one answer. Target: under 1 ms.
//!
//! Run: `cargo bench -p sync-core --bench form`.

use serde_json::{Value as Json, json};
use std::time::Instant;
use sync_core::form::engine::{CompiledForm, ItemRef, Session, ViewOptions};
use sync_core::form::xlsform::{Sheet, Workbook, read_form};

fn big_form() -> Workbook {
    let header = [
        "type",
        "name",
        "label::中文 (zh)",
        "label::English (en)",
        "relevant",
        "constraint",
        "calculation",
        "required",
        "choice_filter",
        "repeat_count",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut row = |cells: &[&str]| {
        let mut r: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
        r.resize(header.len(), String::new());
        rows.push(r);
    };
    row(&[
        "select_one yes_no",
        "consent",
        "同意吗？",
        "Consent?",
        "",
        "",
        "",
        "yes",
    ]);
    row(&[
        "integer",
        "hh_size",
        "人数",
        "Size",
        "${consent} = 'yes'",
        ". >= 1 and . <= 30",
        "",
        "yes",
    ]);
    row(&[
        "begin_repeat",
        "members",
        "成员",
        "Member",
        "",
        "",
        "",
        "",
        "",
        "${hh_size}",
    ]);
    for k in 0..10 {
        let name = format!("m{k}");
        match k {
            0 => row(&["text", &name, "姓名", "Name", "", "", "", "yes"]),
            1 => row(&[
                "integer",
                &name,
                "年龄",
                "Age",
                "",
                ". >= 0 and . <= 120",
                "",
                "yes",
            ]),
            9 => row(&["calculate", &name, "", "", "", "", "if(${m1} >= 18, 1, 0)"]),
            _ => row(&[
                "integer",
                &name,
                &format!("问题{k}"),
                &format!("Q{k}"),
                "${m1} >= 15",
                ". >= 0",
                "",
                "yes",
            ]),
        }
    }
    row(&["end_repeat"]);
    row(&["calculate", "adults", "", "", "", "", "sum(${m9})"]);
    let mut n = 14;
    let mut g = 0;
    while n < 1000 {
        row(&[
            "begin_group",
            &format!("g{g}"),
            "分组",
            "Group",
            &format!("${{consent}} = 'yes' and ${{adults}} >= {}", g % 3),
        ]);
        for k in 0..18 {
            let name = format!("q{g}_{k}");
            let prev = if k == 0 {
                "hh_size".to_string()
            } else {
                format!("q{g}_{}", k - 1)
            };
            match k % 6 {
                0 => row(&[
                    "integer",
                    &name,
                    "整数",
                    "Integer",
                    &format!("${{{prev}}} != 99"),
                    ". >= 0 and . < 1000",
                    "",
                    "yes",
                ]),
                1 => row(&["decimal", &name, "小数", "Decimal", "", ". >= 0", ""]),
                2 => row(&[
                    "select_one province",
                    &name,
                    "省",
                    "Province",
                    &format!("${{{prev}}} >= 0"),
                ]),
                3 => row(&[
                    "select_one city",
                    &name,
                    "市",
                    "City",
                    "",
                    "",
                    "",
                    "",
                    &format!("province = ${{{prev}}}"),
                ]),
                4 => row(&[
                    "text",
                    &name,
                    "文本",
                    "Text",
                    &format!("${{adults}} > 0 or ${{{prev}}} != ''"),
                ]),
                _ => row(&[
                    "calculate",
                    &name,
                    "",
                    "",
                    "",
                    "",
                    &format!("${{q{g}_{}}} + 1", k - 5),
                ]),
            }
            n += 1;
        }
        row(&["end_group"]);
        n += 1;
        g += 1;
    }
    let choices = vec![
        vec![
            "list_name",
            "name",
            "label::中文 (zh)",
            "label::English (en)",
            "province",
        ],
        vec!["yes_no", "yes", "是", "Yes", ""],
        vec!["yes_no", "no", "否", "No", ""],
        vec!["province", "yunnan", "云南", "Yunnan", ""],
        vec!["province", "sichuan", "四川", "Sichuan", ""],
        vec!["city", "kunming", "昆明", "Kunming", "yunnan"],
        vec!["city", "dali", "大理", "Dali", "yunnan"],
        vec!["city", "chengdu", "成都", "Chengdu", "sichuan"],
    ];
    let choices = choices
        .into_iter()
        .map(|r| r.into_iter().map(str::to_string).collect())
        .collect();
    Workbook {
        sheets: vec![
            Sheet {
                name: "survey".into(),
                rows,
            },
            Sheet {
                name: "choices".into(),
                rows: choices,
            },
        ],
    }
}

fn main() {
    let form = read_form(&big_form()).expect("the benchmark form is valid");
    let questions = form.questions.len();
    let compiled = CompiledForm::compile(form).expect("compiles");
    let mut members = Vec::new();
    for i in 0..20u128 {
        let mut m = json!({"_id": uuid::Uuid::from_u128(i + 1).to_string(), "m0": format!("member {i}"), "m1": 10 + i * 3});
        for k in 2..9 {
            m[format!("m{k}")] = json!(k);
        }
        members.push(m);
    }
    let mut answers = json!({"consent": "yes", "hh_size": 20, "members": members});
    for (i, q) in compiled.form().questions.iter().enumerate() {
        if q.name.starts_with('q') && q.type_word == "integer" {
            answers[&q.name] = json!(i % 500);
        }
    }
    let mut session = Session::from_json(&compiled, &answers).expect("answers fit");
    let opts = ViewOptions {
        language: Some("中文 (zh)".into()),
        now_ms: 1_795_226_400_000,
        utc_offset_min: 480,
    };
    let first = session.view(&opts);
    println!(
        "form: {questions} rows, roster of 20 × 10; view has {} items ({} relevant), {} calculations, {} issues",
        first.items.len(),
        first.items.iter().filter(|i| i.relevant).count(),
        first.calculates.len(),
        first.issues.len()
    );
    let target = ItemRef {
        name: "m1".into(),
        instances: vec![uuid::Uuid::from_u128(5)],
    };
    let runs = 200;
    let mut times = Vec::with_capacity(runs);
    for r in 0..runs {
        let t = Instant::now();
        session
            .set(&target, &Json::from(20 + (r % 30) as i64))
            .expect("answers");
        let v = session.view(&opts);
        times.push(t.elapsed());
        std::hint::black_box(v);
    }
    times.sort();
    let p50 = times[runs / 2].as_secs_f64() * 1e3;
    let p99 = times[runs * 99 / 100].as_secs_f64() * 1e3;
    println!(
        "answer + recompute view: p50 {p50:.3} ms, p99 {p99:.3} ms (target < 1 ms: {})",
        if p50 < 1.0 { "met" } else { "NOT met" }
    );
}
