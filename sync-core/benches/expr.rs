//! Expression benchmark: each typical XLSForm expression is parsed once and evaluated 1,000,000
//! times, against the map-backed `MapEnv` (names hashed on every lookup) and against an
//! engine-like environment that reads answers from a vector by the id `Expr::bind` gave. Prints
//! nanoseconds per evaluation (best of 3 runs, one thread) and the parse time.
//! Target: ~100–300 ns for a small relevance such as `${age} >= 18 and ${consent} = 'yes'`.
//!
//! Run: `cargo bench -p sync-core --bench expr`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};
use sync_core::form::expr::{Env, Expr, MapEnv, Value, VarRef, parse};

const EVALS: u32 = 1_000_000;

/// Answers by question index, as the interview engine keeps them.
struct Answers {
    values: Vec<Value>,
    current: Value,
}

impl Env for Answers {
    fn var(&self, v: VarRef<'_>) -> Value {
        v.id.and_then(|id| self.values.get(id as usize))
            .cloned()
            .unwrap_or_default()
    }
    fn current(&self) -> Value {
        self.current.clone()
    }
    fn position(&self) -> Option<usize> {
        None
    }
    fn indexed_repeat(&self, _: VarRef<'_>, _: VarRef<'_>, _: usize) -> Value {
        Value::default()
    }
    fn now(&self) -> (i64, i32) {
        (1_714_530_600_000, 480)
    }
    fn uuid(&self) -> String {
        String::new()
    }
    fn choice_label(&self, _: VarRef<'_>, _: &str) -> Option<String> {
        None
    }
    fn stored(&self) -> Option<Value> {
        None
    }
}

fn best_per_eval(expr: &Expr, env: &dyn Env) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..EVALS {
            black_box(expr.eval(black_box(env)));
        }
        best = best.min(t.elapsed());
    }
    best.as_secs_f64() * 1e9 / f64::from(EVALS)
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let answers: Vec<(&str, Value)> = vec![
        ("age", Value::Number(34.0)),
        ("consent", Value::from("yes")),
        ("transport", Value::from("bus bike")),
        ("hh_size", Value::Number(4.0)),
        ("income", Value::Number(12_345.0)),
        ("dob", Value::Date(7_395)),
        ("名字", Value::from("王芳")),
        ("年龄", Value::Number(34.0)),
        (
            "ages",
            Value::Nodes((0..10).map(|i| Value::Number(f64::from(20 + i))).collect()),
        ),
    ];
    let index: HashMap<&str, u32> = answers
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, i as u32))
        .collect();
    let current = Value::from("13812345678");
    let mut map_env = MapEnv {
        now_ms: 1_714_530_600_000,
        utc_offset_minutes: 480,
        current: current.clone(),
        ..MapEnv::default()
    };
    for (name, value) in &answers {
        map_env.set(*name, value.clone());
    }
    let by_id = Answers {
        values: answers.iter().map(|(_, v)| v.clone()).collect(),
        current,
    };

    let cases = [
        ("relevance", "${age} >= 18 and ${consent} = 'yes'"),
        ("constraint on .", "string-length(.) = 11 and . != ''"),
        ("regex constraint", "regex(., '^1[3-9][0-9]{9}$')"),
        (
            "select_multiple",
            "selected(${transport}, 'bike') or count-selected(${transport}) > 2",
        ),
        (
            "calculation",
            "if(${hh_size} > 0, round(${income} div ${hh_size}, 2), 0)",
        ),
        ("age from date", "int((today() - ${dob}) div 365.25)"),
        ("concat 中文", "concat(${名字}, '（', ${年龄}, '岁）')"),
        ("repeat mean, 10 members", "sum(${ages}) div count(${ages})"),
    ];
    println!(
        "{:<26} {:>10} {:>14} {:>14}",
        "expression", "parse", "eval MapEnv", "eval by id"
    );
    let mut relevance = f64::NAN;
    for (label, src) in cases {
        let t = Instant::now();
        for _ in 0..10_000 {
            black_box(parse(black_box(src)).expect("parses"));
        }
        let parse_ns = t.elapsed().as_secs_f64() * 1e9 / 10_000.0;
        let mut expr = parse(src).expect("parses");
        let unbound = expr.bind(|name| index.get(name).copied());
        assert!(unbound.is_empty(), "{unbound:?}");
        assert_eq!(
            expr.eval(&map_env),
            expr.eval(&by_id),
            "both environments agree on {src}"
        );
        let map_ns = best_per_eval(&expr, &map_env);
        let id_ns = best_per_eval(&expr, &by_id);
        if label == "relevance" {
            relevance = id_ns.max(map_ns);
        }
        println!("{label:<26} {parse_ns:>7.0} ns {map_ns:>11.0} ns {id_ns:>11.0} ns");
    }
    println!(
        "relevance `${{age}} >= 18 and ${{consent}} = 'yes'`: {relevance:.0} ns/eval (target 100–300 ns: {})",
        if relevance <= 300.0 { "met" } else { "NOT met" }
    );
}
