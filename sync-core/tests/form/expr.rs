//! Specification of the XLSForm expression language (`sync_core::form::expr`): what every operator,
//! coercion and function gives, the syntax errors and where they point, references and binding,
//! and that neither parsing nor evaluation panics whatever the input.
//!
//! Every evaluation table runs at the same instant: 2024-05-01 10:30:00 in Beijing (UTC+8), a
//! Wednesday — 02:30 UTC.

use proptest::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use sync_core::form::expr::{Env, MAX_DEPTH, MapEnv, Value, VarRef, parse};

/// 2024-05-01T02:30:00Z.
const NOW_MS: i64 = 1_714_530_600_000;
/// Beijing time.
const UTC_PLUS_8: i32 = 480;
const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a calendar date (Howard Hinnant's `days_from_civil`), computed here
/// independently of the implementation.
fn day(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(day(y, m, d))
}

fn nodes<T: Into<Value> + Clone>(members: &[T]) -> Value {
    Value::Nodes(members.iter().cloned().map(Into::into).collect())
}

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

struct Case {
    src: &'static str,
    vars: Vec<(&'static str, Value)>,
    want: Value,
}

/// `"expression", { "name": value, … } => expected;` — the variable `"."` is the current value.
macro_rules! cases {
    ($($src:expr $(, { $($k:literal : $v:expr),* $(,)? })? => $want:expr;)*) => {
        vec![$(Case {
            src: $src,
            vars: vec![$($(($k, Value::from($v))),*)?],
            want: Value::from($want),
        }),*]
    };
}

/// The environment of the tables: the answers given, the fixed instant, a fixed UUID.
fn env(vars: &[(&str, Value)]) -> MapEnv {
    let mut env = MapEnv {
        now_ms: NOW_MS,
        utc_offset_minutes: UTC_PLUS_8,
        uuid: "0190a6e4-8a2b-7c3d-9e4f-5a6b7c8d9e0f".to_string(),
        ..MapEnv::default()
    };
    for (name, value) in vars {
        if *name == "." {
            env.current = value.clone();
        } else {
            env.set(*name, value.clone());
        }
    }
    env
}

/// Equality where NaN equals NaN.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Nodes(x), Value::Nodes(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

/// Evaluates every case and reports all the ones that differ.
fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let got = match parse(c.src) {
            Ok(e) => e.eval(&env(&c.vars)),
            Err(e) => {
                failures.push(format!("{}\n    does not parse: {e}", c.src));
                continue;
            }
        };
        if !same(&got, &c.want) {
            failures.push(format!(
                "{}   with {:?}\n    expected {:?}\n         got {:?}",
                c.src, c.vars, c.want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn literals_and_operators() {
    check(cases! {
        "12" => 12.0;
        "3.5" => 3.5;
        ".5" => 0.5;
        "5." => 5.0;
        "'single'" => "single";
        "\"double\"" => "double";
        "\"it's\"" => "it's";
        "'say \"hi\"'" => "say \"hi\"";
        "''" => "";
        "1 + 2" => 3.0;
        "7 - 10" => -3.0;
        "6 * 7" => 42.0;
        "7 div 2" => 3.5;
        "7 mod 3" => 1.0;
        "-7 mod 3" => -1.0;
        "7 mod -3" => 1.0;
        "5.5 mod 2" => 1.5;
        "1 div 0" => INF;
        "-1 div 0" => -INF;
        "0 div 0" => NAN;
        "5 mod 0" => NAN;
        "-3" => -3.0;
        "--3" => 3.0;
        "- - -3" => -3.0;
        "--'5'" => 5.0;
        "-'abc'" => NAN;
        "0.1 + 0.2" => 0.30000000000000004;
        "3 = 3" => true;
        "3 != 3" => false;
        "2 < 3" => true;
        "3 <= 3" => true;
        "4 > 3" => true;
        "3 >= 4" => false;
        "1 = 1 and 2 = 3" => false;
        "1 = 1 or 2 = 3" => true;
        "${a}=1", { "a": 1.0 } => true;
        "${a}!=1", { "a": 1.0 } => false;
        "${a}-1", { "a": 5.0 } => 4.0;
        "\t${a}\n>=\r\n18 ", { "a": 18.0 } => true;
        "${a}\u{3000}=\u{a0}1", { "a": 1.0 } => true;
    });
}

#[test]
fn precedence_is_xpath_1() {
    check(cases! {
        "1 + 2 * 3" => 7.0;
        "(1 + 2) * 3" => 9.0;
        "10 - 4 - 3" => 3.0;
        "16 div 4 div 2" => 2.0;
        "2 * 3 mod 4" => 2.0;
        "10 mod 4 * 2" => 4.0;
        "- 2 + 3" => 1.0;
        "-3 * -3" => 9.0;
        "2 - -2" => 4.0;
        "1 + 1 = 2 and 2 * 2 = 4" => true;
        // `=` is looser than `<`: 1 = (2 < 3), compared as booleans.
        "1 = 2 < 3" => true;
        // Left to right: (3 > 2) > 1 is true() > 1, that is 1 > 1.
        "3 > 2 > 1" => false;
        "1 or 0 and 0" => true;
        "0 and 1 or 1" => true;
        "(0 and 1) or 1" => true;
        "0 and (1 or 1)" => false;
        "true() and false() or true()" => true;
        "not(1 = 1) or 2 > 1" => true;
        "2 + 3 > 4 and 1 + 1 != 3" => true;
    });
}

#[test]
fn empty_answers_and_number_coercion() {
    check(cases! {
        // An empty answer is the empty string; arithmetic with it is NaN.
        "${x}", { "x": "" } => "";
        "${missing}" => "";
        "${x} + 1", { "x": "" } => NAN;
        "${x} * 0", { "x": "" } => NAN;
        "${x} = ''", { "x": "" } => true;
        "${x} != ''", { "x": "" } => false;
        "${x} != ''", { "x": 0.0 } => true;
        "${x} > 5", { "x": "" } => false;
        "${x} <= 5", { "x": "" } => false;
        "${x} != 5", { "x": "" } => true;
        "coalesce(${x}, 0) + 1", { "x": "" } => 1.0;
        // Strings that are decimals are numbers; nothing else is.
        "${x} * 2", { "x": "3" } => 6.0;
        "${x} * 2", { "x": " 3 " } => 6.0;
        "${x} * 2", { "x": "-.5" } => -1.0;
        "${x} + 0", { "x": "1e3" } => NAN;
        "${x} + 0", { "x": "+1" } => NAN;
        "${x} + 0", { "x": "1,5" } => NAN;
        "${x} + 0", { "x": "0x10" } => NAN;
        "${x} + 0", { "x": "Infinity" } => NAN;
        "number('')" => NAN;
        "number('  -2.50 ')" => -2.5;
        "number('abc')" => NAN;
        "number(true())" => 1.0;
        "number(false())" => 0.0;
        "true() + true()" => 2.0;
    });
}

#[test]
fn boolean_and_string_coercion() {
    check(cases! {
        "boolean(0)" => false;
        "boolean(-0)" => false;
        "boolean(0 div 0)" => false;
        "boolean(2)" => true;
        "boolean(-0.001)" => true;
        "boolean('')" => false;
        "boolean('false')" => true;
        "boolean('0')" => true;
        "boolean(' ')" => true;
        "boolean(${x})", { "x": "" } => false;
        "string(3)" => "3";
        "string(3.0)" => "3";
        "string(2.50)" => "2.5";
        "string(-0)" => "0";
        "string(1 div 8)" => "0.125";
        "string(0.1 + 0.2)" => "0.30000000000000004";
        "string(1 div 3)" => "0.3333333333333333";
        "string(1000000 * 1000000 * 1000000 * 1000)" => "1000000000000000000000";
        "string(0.0000001)" => "0.0000001";
        "string(1 div 0)" => "Infinity";
        "string(-1 div 0)" => "-Infinity";
        "string(0 div 0)" => "NaN";
        "string(true())" => "true";
        "string(1 = 2)" => "false";
        "concat(1.50, '|', 1 div 0, '|', 2 = 2)" => "1.5|Infinity|true";
    });
}

#[test]
fn comparison_coercion() {
    check(cases! {
        // A number on either side: compare as numbers.
        "${a} = 18", { "a": "18" } => true;
        "${a} = 18", { "a": "18.0" } => true;
        "${a} = '18.0'", { "a": 18.0 } => true;
        // Two strings: compare as strings, case-sensitive.
        "${a} = '18.0'", { "a": "18" } => false;
        "'abc' = 'ABC'" => false;
        "'yes' = \"yes\"" => true;
        // A boolean on either side: compare as booleans.
        "${a} = true()", { "a": "no" } => true;
        "${a} = true()", { "a": "" } => false;
        "${a} = false()", { "a": 0.0 } => true;
        "'false' = true()" => true;
        "2 = true()" => true;
        "0 = false()" => true;
        // Ordering is numeric, never alphabetical.
        "${a} < ${b}", { "a": "9", "b": "10" } => true;
        "'b' < 'c'" => false;
        "'b' > 'a'" => false;
        "true() > false()" => true;
        // NaN is unequal to everything, itself included.
        "0 div 0 = 0 div 0" => false;
        "0 div 0 != 0 div 0" => true;
        "0 div 0 < 1" => false;
        "0 div 0 >= 1" => false;
    });
}

#[test]
fn node_sets() {
    let ages = || nodes(&[30.0, 65.0]);
    let names = || nodes(&["Wang", "Li"]);
    let none = || Value::Nodes(vec![]);
    check(cases! {
        // Comparisons are existential: true if any member compares true.
        "${ages} > 60", { "ages": ages() } => true;
        "${ages} > 70", { "ages": ages() } => false;
        "${ages} = 30", { "ages": ages() } => true;
        "${ages} != 30", { "ages": ages() } => true;
        "${ages} = '65'", { "ages": ages() } => true;
        "60 < ${ages}", { "ages": ages() } => true;
        "${names} = 'Li'", { "names": names() } => true;
        "${names} = 'Zhang'", { "names": names() } => false;
        "${ages} = ${olds}", { "ages": ages(), "olds": nodes(&[65.0, 80.0]) } => true;
        "${ages} = ${olds}", { "ages": ages(), "olds": nodes(&[70.0, 80.0]) } => false;
        "${none} = ''", { "none": none() } => false;
        "${none} != ''", { "none": none() } => false;
        // Against a boolean, a node-set is its boolean: non-empty.
        "${ages} = true()", { "ages": ages() } => true;
        "${none} = false()", { "none": none() } => true;
        "${blank} = true()", { "blank": nodes(&[""]) } => true;
        // Otherwise a node-set is its first member.
        "${ages} + 1", { "ages": ages() } => 31.0;
        "string(${names})", { "names": names() } => "Wang";
        "string(${none})", { "none": none() } => "";
        "number(${none})", { "none": none() } => NAN;
        "string-length(${names})", { "names": names() } => 4.0;
        "boolean(${none})", { "none": none() } => false;
        "boolean(${blank})", { "blank": nodes(&[""]) } => true;
        "if(${none}, 'some', 'none')", { "none": none() } => "none";
        // Aggregates use every member.
        "count(${ages})", { "ages": ages() } => 2.0;
        "count(${none})", { "none": none() } => 0.0;
        "count(${single})", { "single": 5.0 } => 1.0;
        "sum(${ages})", { "ages": ages() } => 95.0;
        "sum(${none})", { "none": none() } => 0.0;
        "sum(${w})", { "w": nodes(&["2", "3.5"]) } => 5.5;
        "sum(${w})", { "w": nodes(&["2", ""]) } => NAN;
        "sum(${x})", { "x": "4" } => 4.0;
        "sum(${ages}) div count(${ages})", { "ages": ages() } => 47.5;
        "concat(${names})", { "names": names() } => "WangLi";
        "concat('(', ${names}, ')')", { "names": names() } => "(WangLi)";
        "join(', ', ${names})", { "names": names() } => "Wang, Li";
        "join('-', 'a', ${names}, 3)", { "names": names() } => "a-Wang-Li-3";
        "join(', ', ${none})", { "none": none() } => "";
        "max(${ages})", { "ages": ages() } => 65.0;
        "min(${ages})", { "ages": ages() } => 30.0;
        "min(100, ${ages}, 40)", { "ages": ages() } => 30.0;
        "max(${none})", { "none": none() } => NAN;
        "max(${w})", { "w": nodes(&["2", ""]) } => NAN;
        "count-non-empty(${w})", { "w": nodes(&["2", "", "x"]) } => 2.0;
        "count-non-empty(${x})", { "x": "" } => 0.0;
    });
}

#[test]
fn logic_and_select_functions() {
    check(cases! {
        "if(${a} > 1, 'big', 'small')", { "a": 2.0 } => "big";
        "if(${a} > 1, 'big', 'small')", { "a": "" } => "small";
        "if('', 1, 2)" => 2.0;
        "if('0', 1, 2)" => 1.0;
        "not(${a} = 'yes')", { "a": "no" } => true;
        "not('')" => true;
        "not(0)" => true;
        "true()" => true;
        "false()" => false;
        "boolean-from-string('true')" => true;
        "boolean-from-string('1')" => true;
        "boolean-from-string('yes')" => false;
        "boolean-from-string('TRUE')" => false;
        "selected(${f}, 'apple')", { "f": "apple banana" } => true;
        "selected(${f}, 'ban')", { "f": "apple banana" } => false;
        "selected(${f}, ' banana ')", { "f": "apple  banana" } => true;
        "selected(${f}, '')", { "f": "apple banana" } => false;
        "selected('', 'apple')" => false;
        "selected(${f}, 2)", { "f": "1 2 3" } => true;
        "count-selected('a b  c')" => 3.0;
        "count-selected(' ')" => 0.0;
        "count-selected('')" => 0.0;
        "selected-at('a b c', 0)" => "a";
        "selected-at('a b c', 2)" => "c";
        "selected-at('a b c', 3)" => "";
        "selected-at('a b c', -1)" => "";
        "selected-at('a b c', 1.9)" => "b";
        "selected-at('a b c', 'x')" => "";
        "coalesce(${a}, 'none')", { "a": "" } => "none";
        "coalesce(${a}, 'none')", { "a": "x" } => "x";
        "coalesce(${a}, 'none')", { "a": 0.0 } => 0.0;
        "coalesce(${n}, 'z')", { "n": Value::Nodes(vec![]) } => "z";
        "coalesce(${n}, 'z')", { "n": nodes(&["y", "w"]) } => "y";
    });
}

#[test]
fn string_functions() {
    check(cases! {
        "string-length('hello')" => 5.0;
        "string-length('你好')" => 2.0;
        "string-length('')" => 0.0;
        "string-length(12.50)" => 4.0;
        "string-length()", { ".": "13812345678" } => 11.0;
        "concat()" => "";
        "concat('a', 1, true())" => "a1true";
        "concat('a', ${missing}, 'b')" => "ab";
        "substr('hello', 1)" => "ello";
        "substr('hello', 1, 3)" => "el";
        "substr('hello', 0, 100)" => "hello";
        "substr('hello', 3, 1)" => "";
        "substr('hello', 5)" => "";
        "substr('hello', -3)" => "llo";
        "substr('hello', 0, -1)" => "hell";
        "substr('hello', -100, 2)" => "he";
        "substr('hello', 1.7, 3.2)" => "el";
        "substr('hello', 'x', 2)" => "he";
        "substr('北京市海淀区', 0, 3)" => "北京市";
        "substr(${d}, 0, 4)", { "d": date(2012, 9, 21) } => "2012";
        "substr('', 0, 1)" => "";
        "contains('abc', 'b')" => true;
        "contains('abc', '')" => true;
        "contains('abc', 'B')" => false;
        "contains('北京市', '京')" => true;
        "starts-with('13812345678', '138')" => true;
        "starts-with('abc', 'b')" => false;
        "ends-with('report.pdf', '.pdf')" => true;
        "ends-with('abc', 'b')" => false;
        "substring-before('2024-05-01', '-')" => "2024";
        "substring-before('abc', 'x')" => "";
        "substring-after('2024-05-01', '-')" => "05-01";
        "substring-after('abc', '')" => "abc";
        "translate('bar', 'abc', 'ABC')" => "BAr";
        "translate('--aaa--', 'a-', 'A')" => "AAA";
        "normalize-space('  a   b \n c ')" => "a b c";
        "normalize-space()", { ".": " x  y " } => "x y";
        "string()", { ".": 7.0 } => "7";
        "number()", { ".": "7" } => 7.0;
    });
}

#[test]
fn regular_expressions() {
    check(cases! {
        "regex('13812345678', '^1[3-9][0-9]{9}$')" => true;
        "regex('1381234567', '^1[3-9][0-9]{9}$')" => false;
        "regex(., '^1[3-9][0-9]{9}$')", { ".": "23812345678" } => false;
        // Not anchored: a match anywhere counts.
        "regex('abc123', '[0-9]+')" => true;
        "regex('张三', '^\\p{Han}{2,4}$')" => true;
        "regex('Zhang', '^\\p{Han}{2,4}$')" => false;
        "regex(12.5, '^[0-9.]+$')" => true;
        // A computed pattern compiles when evaluated; an invalid one gives false.
        "regex(${s}, ${p})", { "s": "abc", "p": "b" } => true;
        "regex(${s}, ${p})", { "s": "abc", "p": "(" } => false;
        "regex(${s}, concat('^', ${p}, '$'))", { "s": "abc", "p": "a.c" } => true;
    });
}

#[test]
fn number_functions() {
    check(cases! {
        "int(3.7)" => 3.0;
        "int(-3.7)" => -3.0;
        "int('12')" => 12.0;
        "int('')" => NAN;
        "int('12abc')" => NAN;
        "round(2.5)" => 3.0;
        "round(-2.5)" => -3.0;
        "round(2.4)" => 2.0;
        "round(2.675, 2)" => 2.68;
        "round(1.005, 2)" => 1.01;
        "round(-1.005, 2)" => -1.01;
        "round(1234.5678, -2)" => 1200.0;
        "round(1234.5678, 0)" => 1235.0;
        "round('x')" => NAN;
        "round(1.5, '')" => NAN;
        "floor(-1.5)" => -2.0;
        "floor(1.5)" => 1.0;
        "ceiling(1.1)" => 2.0;
        "ceiling(-1.1)" => -1.0;
        "abs(-3)" => 3.0;
        "abs('')" => NAN;
        "pow(2, 10)" => 1024.0;
        "pow(4, 0.5)" => 2.0;
        "pow(0, 0)" => 1.0;
        "pow(2, -1)" => 0.5;
        "number('12.50')" => 12.5;
    });
}

#[test]
fn dates_and_times() {
    let may1 = day(2024, 5, 1);
    let midnight_beijing = i64::from(may1) * DAY_MS - 8 * 3_600_000;
    check(cases! {
        "today()" => Value::Date(may1);
        "string(today())" => "2024-05-01";
        "now()" => Value::DateTime(NOW_MS);
        "string(now())" => "2024-05-01T10:30:00.000+08:00";
        "concat('on ', today())" => "on 2024-05-01";
        // Arithmetic on dates is in days.
        "today() - date('2024-01-01')" => 121.0;
        "today() - ${dob}", { "dob": date(1990, 4, 1) } => f64::from(may1 - day(1990, 4, 1));
        "today() - ${dob}", { "dob": "1990-04-01" } => f64::from(may1 - day(1990, 4, 1));
        "int((today() - ${dob}) div 365.25)", { "dob": "1990-05-02" } => 33.0;
        "int((today() - ${dob}) div 365.25)", { "dob": "1990-04-30" } => 34.0;
        "date('2024-05-01') + 1" => f64::from(may1 + 1);
        "now() - today()" => 0.4375;
        "round((now() - ${start}) * 24, 6)", { "start": Value::DateTime(NOW_MS - 3_600_000) } => 1.0;
        // A date string alone is not a date: no date on either side means numbers.
        "'2024-05-01' - 1" => NAN;
        // Comparisons with a date on one side compare dates; strings are read as dates.
        "${dob} < today()", { "dob": date(1990, 4, 1) } => true;
        "${dob} < today()", { "dob": "1990-04-01" } => true;
        "${dob} > today()", { "dob": "2030-01-01" } => true;
        "${dob} <= today()", { "dob": "2024-05-01" } => true;
        "${dob} < today()", { "dob": "" } => false;
        "${dob} > today()", { "dob": "" } => false;
        "${dob} < today()", { "dob": "yesterday" } => false;
        "today() = '2024-05-01'" => true;
        "today() = date('2024-05-01')" => true;
        "today() != '2024-05-02'" => true;
        "today() = ''" => false;
        "today() > 19000" => true;
        "now() > today()" => true;
        "${start} < now()", { "start": Value::DateTime(NOW_MS - 1000) } => true;
        "${start} < now()", { "start": "2024-05-01T10:29:59+08:00" } => true;
        "${start} < now()", { "start": "2024-05-01T02:30:01Z" } => false;
        "${d} = today()", { "d": nodes(&[date(2024, 4, 30), date(2024, 5, 1)]) } => true;
        // date(): day numbers (floored), date strings, date-times (their local date).
        "date(0)" => Value::Date(0);
        "date(1.9)" => Value::Date(1);
        "date(-0.5)" => Value::Date(-1);
        "string(date(19845))" => "2024-05-02";
        "date(date('2024-05-01') + 1)" => Value::Date(may1 + 1);
        "date('2024-05-01T23:30:00Z')" => Value::Date(may1 + 1);
        "date('2024-05-01T23:30:00')" => Value::Date(may1);
        "date(now())" => Value::Date(may1);
        "date('2024-02-29')" => date(2024, 2, 29);
        "date('2023-02-29')" => "";
        "date('2024-5-1')" => "";
        "date('not a date')" => "";
        "date('')" => "";
        "date(true())" => "";
        "date(0 div 0)" => "";
        // date-time(): strings without a zone are local; dates are local midnight.
        "date-time('2024-05-01T10:30:00+08:00')" => Value::DateTime(NOW_MS);
        "date-time('2024-05-01T10:30:00.000+0800')" => Value::DateTime(NOW_MS);
        "date-time('2024-05-01T10:30:00')" => Value::DateTime(NOW_MS);
        "date-time('2024-05-01 10:30')" => Value::DateTime(NOW_MS);
        "date-time('2024-05-01T02:30:00Z') = now()" => true;
        "date-time(date('2024-05-01'))" => Value::DateTime(midnight_beijing);
        "date-time(19844.4375) = now()" => true;
        "date-time('10:30')" => "";
        "decimal-date-time('2024-05-01T12:00:00+08:00')" => 19844.5;
        "decimal-date-time(now())" => 19844.4375;
        "decimal-date-time('')" => NAN;
        "decimal-date('2024-05-01')" => f64::from(may1);
        "decimal-date(now())" => f64::from(may1);
        // format-date ignores the time of day; format-date-time shows local time.
        "format-date(today(), '%Y-%m-%d')" => "2024-05-01";
        "format-date('2024-05-01', '%e/%n/%y')" => "1/5/24";
        "format-date('2024-05-01', '%a %d %b %Y')" => "Wed 01 May 2024";
        "format-date('2024-05-01T10:30:00', '%H:%M')" => "00:00";
        "format-date(${d}, '%Y年%n月%e日')", { "d": date(2024, 5, 1) } => "2024年5月1日";
        "format-date(${d}, '%Y')", { "d": "" } => "";
        "format-date('2024-05-01', concat('%', 'Q'))" => "%Q";
        "format-date-time(now(), '%Y-%m-%d %H:%M:%S.%3')" => "2024-05-01 10:30:00.000";
        "format-date-time('2024-05-01T09:05:07.25+08:00', '%h:%M:%S %3')" => "9:05:07 250";
        "format-date-time('2024-05-01T01:00:00Z', '%e %H')" => "1 09";
        "format-date-time(date('2024-12-31'), '%d %b %H:%M')" => "31 Dec 00:00";
    });
}

#[test]
fn chinese_names_and_text() {
    check(cases! {
        "${年龄} >= 18", { "年龄": 20.0 } => true;
        "${年龄} >= 18", { "年龄": "17" } => false;
        "concat('你好', ${名字})", { "名字": "王芳" } => "你好王芳";
        "${婚姻状况} = '已婚'", { "婚姻状况": "已婚" } => true;
        "selected(${交通工具}, '自行车')", { "交通工具": "公交 自行车" } => true;
        "string-length(${地址})", { "地址": "北京市海淀区中关村大街1号" } => 13.0;
        "if(${年龄} < 18, '未成年', '成年')", { "年龄": 16.0 } => "未成年";
        "${户主.姓名} != ''", { "户主.姓名": "李雷" } => true;
        "${_成员-2} + 1", { "_成员-2": 1.0 } => 2.0;
        "${नाम} = 'x'", { "नाम": "x" } => true;
        "${имя} = 'x'", { "имя": "x" } => true;
    });
}

#[test]
fn the_environment_supplies_context() {
    let mut e = env(&[("name", nodes(&["Wang", "Li"])), ("q", "1".into())]);
    e.labels.insert(
        "q".into(),
        HashMap::from([
            ("1".to_string(), "是".to_string()),
            ("2".to_string(), "否".to_string()),
        ]),
    );
    e.position = Some(3);
    let eval = |src: &str, e: &MapEnv| parse(src).unwrap().eval(e);
    assert_eq!(eval("position(..)", &e), Value::Number(3.0));
    assert_eq!(eval("position( .. ) = 3", &e), Value::Bool(true));
    assert_eq!(
        eval("indexed-repeat(${name}, ${members}, 2)", &e),
        Value::from("Li")
    );
    assert_eq!(
        eval("indexed-repeat(${name}, ${members}, 3)", &e),
        Value::from("")
    );
    assert_eq!(
        eval("indexed-repeat(${name}, ${members}, 0)", &e),
        Value::from("")
    );
    assert_eq!(
        eval("indexed-repeat(${name}, ${members}, 'x')", &e),
        Value::from("")
    );
    assert_eq!(eval("jr:choice-name(${q}, '${q}')", &e), Value::from("是"));
    assert_eq!(eval("jr:choice-name('2', \"${q}\")", &e), Value::from("否"));
    assert_eq!(eval("jr:choice-name(' 2 ', ${q})", &e), Value::from("否"));
    assert_eq!(eval("choice-name('2', '${q}')", &e), Value::from("否"));
    assert_eq!(eval("jr:choice-name('9', '${q}')", &e), Value::from(""));
    assert_eq!(eval("jr:choice-name('', '${q}')", &e), Value::from(""));
    assert_eq!(
        eval("uuid()", &e),
        Value::from("0190a6e4-8a2b-7c3d-9e4f-5a6b7c8d9e0f")
    );
    assert_eq!(eval("jr:uuid()", &e), eval("uuid()", &e));

    // Outside a repeat, position(..) is 1, as in JavaRosa.
    e.position = None;
    assert_eq!(eval("position(..)", &e), Value::Number(1.0));

    // once(): the stored value when there is one, else the expression.
    assert_eq!(eval("once(uuid())", &e), Value::from(e.uuid.as_str()));
    e.stored = Some(Value::from(""));
    assert_eq!(eval("once(uuid())", &e), Value::from(e.uuid.as_str()));
    e.stored = Some(Value::from("first-visit"));
    assert_eq!(eval("once(uuid())", &e), Value::from("first-visit"));

    // `.` is the value being checked.
    e.current = Value::from(130.0);
    assert_eq!(eval(". >= 0 and . <= 120", &e), Value::Bool(false));
    e.current = Value::from("");
    assert_eq!(eval(". = ''", &e), Value::Bool(true));
}

/// An environment that records which variables were asked for and how often the clock and UUIDs
/// were used.
#[derive(Default)]
struct Recorder {
    asked: RefCell<Vec<String>>,
    uuids: Cell<usize>,
    stored: Option<Value>,
}

impl Env for Recorder {
    fn var(&self, v: VarRef<'_>) -> Value {
        self.asked.borrow_mut().push(v.name.to_string());
        Value::from("1")
    }
    fn current(&self) -> Value {
        Value::default()
    }
    fn position(&self) -> Option<usize> {
        None
    }
    fn indexed_repeat(&self, _: VarRef<'_>, _: VarRef<'_>, _: usize) -> Value {
        Value::default()
    }
    fn now(&self) -> (i64, i32) {
        (NOW_MS, UTC_PLUS_8)
    }
    fn uuid(&self) -> String {
        self.uuids.set(self.uuids.get() + 1);
        "u".into()
    }
    fn choice_label(&self, _: VarRef<'_>, _: &str) -> Option<String> {
        None
    }
    fn stored(&self) -> Option<Value> {
        self.stored.clone()
    }
}

#[test]
fn only_what_is_needed_is_evaluated() {
    for (src, asked) in [
        ("if(true(), ${a}, ${b})", vec!["a"]),
        ("if(false(), ${a}, ${b})", vec!["b"]),
        ("false() and ${a}", vec![]),
        ("true() or ${a}", vec![]),
        ("${a} or ${b}", vec!["a"]),
        ("${a} and ${b}", vec!["a", "b"]),
        ("coalesce(${a}, ${b})", vec!["a"]),
    ] {
        let r = Recorder::default();
        parse(src).unwrap().eval(&r);
        assert_eq!(*r.asked.borrow(), asked, "{src}");
    }
    let r = Recorder {
        stored: Some(Value::from("kept")),
        ..Recorder::default()
    };
    assert_eq!(parse("once(uuid())").unwrap().eval(&r), Value::from("kept"));
    assert_eq!(r.uuids.get(), 0);
}

#[test]
fn syntax_errors_say_what_and_where() {
    let too_deep = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let too_deep_calls = format!(
        "{}1{}",
        "abs(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let deep_message =
        format!("the expression is nested too deeply (more than {MAX_DEPTH} levels)");
    let cases: Vec<(&str, usize, &str)> = vec![
        ("", 0, "the expression is empty"),
        ("   ", 0, "the expression is empty"),
        ("1 +", 3, "unexpected end of the expression"),
        (
            "concat('a' 'b')",
            11,
            "expected ')' after the arguments of concat",
        ),
        (
            "concat('a', 'b'",
            15,
            "expected ')' after the arguments of concat",
        ),
        ("foo(1)", 0, "unknown function foo()"),
        ("1 + bar:baz()", 4, "unknown function bar:baz()"),
        ("${a} = 'abc", 7, "unterminated string"),
        ("\"abc", 0, "unterminated string"),
        (
            "(1 + 2",
            6,
            "expected ')' to close the '(' at character 0, found the end",
        ),
        (
            "(1 + 2 3)",
            7,
            "expected ')' to close the '(' at character 0, found '3'",
        ),
        ("1 + 2)", 5, "unexpected ')' without a matching '('"),
        (
            "1 2",
            2,
            "expected an operator or the end of the expression, found '2'",
        ),
        (
            "${a} ${b}",
            5,
            "expected an operator or the end of the expression, found '${b}'",
        ),
        ("1 + * 2", 4, "expected a value before '*'"),
        ("1 = = 2", 4, "expected a value before '='"),
        ("and 1", 0, "expected a value before 'and'"),
        ("1 and or 2", 6, "expected a value before 'or'"),
        ("concat('a',)", 11, "expected a value before ')'"),
        ("concat(,'a')", 7, "expected a value before ','"),
        ("if(1, 2)", 0, "if() takes 3 arguments, found 2"),
        ("not()", 0, "not() takes 1 argument, found 0"),
        ("today(1)", 0, "today() takes no arguments, found 1"),
        ("round()", 0, "round() takes 1 or 2 arguments, found 0"),
        ("substr('a')", 0, "substr() takes 2 or 3 arguments, found 1"),
        ("join(',')", 0, "join() takes at least 2 arguments, found 1"),
        ("max()", 0, "max() takes at least 1 argument, found 0"),
        (
            "1 + coalesce(1)",
            4,
            "coalesce() takes 2 arguments, found 1",
        ),
        (
            "uuid(8)",
            0,
            "uuid() takes no arguments, found 1 (uuid(length) is not supported)",
        ),
        (
            "indexed-repeat(${a}, ${r1}, 1, ${r2}, 2)",
            0,
            "indexed-repeat() takes 3 arguments, found 5 (nested repeats are not supported)",
        ),
        ("${a", 0, "unterminated reference: '}' is missing after ${"),
        ("1 + ${}", 4, "empty reference ${}"),
        (
            "${a b}",
            3,
            "a space cannot appear in a question name inside ${}",
        ),
        (
            "${a+b}",
            3,
            "'+' cannot appear in a question name inside ${}",
        ),
        ("${1a}", 2, "a question name cannot start with '1'"),
        ("$a", 0, "'$' must start a reference like ${name}"),
        (
            "age > 18",
            0,
            "unexpected name 'age': refer to questions as ${age}",
        ),
        ("today > 1", 0, "today is a function: write today()"),
        (
            "${a} AND ${b}",
            5,
            "operators are lower-case: write 'and', not 'AND'",
        ),
        (
            "${a} Or ${b}",
            5,
            "operators are lower-case: write 'or', not 'Or'",
        ),
        (
            "/data/age > 1",
            0,
            "paths like /data/x are not supported: refer to questions as ${x}",
        ),
        (
            "${a}/b",
            4,
            "paths like /data/x are not supported: refer to questions as ${x}",
        ),
        ("${a}[1]", 4, "predicates [...] are not supported"),
        ("${a} | ${b}", 5, "unions (|) are not supported"),
        ("@id", 0, "attributes (@) are not supported"),
        ("../age", 0, "'..' is only allowed in position(..)"),
        (
            "position()",
            9,
            "position() takes '..' as its argument: write position(..)",
        ),
        (
            "position(${r})",
            9,
            "position() takes '..' as its argument: write position(..)",
        ),
        (
            "! ${a}",
            0,
            "'!' must be followed by '=' (write not(...) to negate)",
        ),
        ("${a} ＝ 1", 5, "full-width '＝': use '='"),
        ("concat（'a')", 6, "full-width '（': use '('"),
        ("if(${a}，1, 2)", 7, "full-width '，': use ','"),
        (
            "‘yes’",
            0,
            "curly quote ‘ cannot delimit a string: use ' or \"",
        ),
        (
            "年龄 > 1",
            0,
            "unexpected character '年': refer to questions as ${name}",
        ),
        ("1 # 2", 2, "unexpected character '#'"),
        (
            "1e3",
            1,
            "expected an operator or the end of the expression, found 'e3'",
        ),
        (
            "regex(., '(')",
            9,
            "invalid regular expression: unclosed group",
        ),
        (
            "format-date(today(), '%Y-%Q')",
            25,
            "unknown conversion %Q in the format of format-date (known: %Y %y %m %n %b %d %e %a %H %h %M %S %3)",
        ),
        (
            "jr:choice-name(${a}, 'a')",
            21,
            "the second argument of jr:choice-name must name a question, like '${q}'",
        ),
        (
            "jr:choice-name(${a}, concat('${', 'a}'))",
            21,
            "the second argument of jr:choice-name must name a question, like '${q}'",
        ),
        (
            "indexed-repeat('x', ${r}, 1)",
            15,
            "the first argument of indexed-repeat must be a ${} reference",
        ),
        (
            "indexed-repeat(${x}, 1, 1)",
            21,
            "the second argument of indexed-repeat must be a ${} reference",
        ),
        (
            "substring('abc', 1)",
            0,
            "unknown function substring(): use substr(text, start, end), which counts from 0",
        ),
        (
            "pulldata('a', 'b', 'c', 'd')",
            0,
            "unknown function pulldata() (not supported)",
        ),
        (&too_deep, MAX_DEPTH, &deep_message),
        (&too_deep_calls, MAX_DEPTH * 4 + 3, &deep_message),
    ];
    let mut failures = Vec::new();
    for (src, position, message) in &cases {
        match parse(src) {
            Ok(_) => failures.push(format!("{src:.60}\n    parses, expected an error")),
            Err(e) if e.position != *position || e.message != *message => failures.push(format!(
                "{src:.60}\n    expected at {position}: {message}\n         got at {}: {}",
                e.position, e.message
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_display_their_position() {
    let e = parse("${a} = 'abc").unwrap_err();
    assert_eq!(e.to_string(), "at character 7: unterminated string");
    // Positions count characters, not bytes.
    let e = parse("${年龄} > = 1").unwrap_err();
    assert_eq!(
        (e.position, e.message.as_str()),
        (8, "expected a value before '='")
    );
}

#[test]
fn nesting_up_to_the_limit_parses_and_evaluates() {
    let parens = format!("{}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse(&parens).unwrap().eval(&env(&[])), Value::Number(1.0));
    let calls = format!(
        "{}-1{}",
        "abs(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(parse(&calls).unwrap().eval(&env(&[])), Value::Number(1.0));
    // The minus is a level too: the outermost call is now one level too deep.
    let calls = format!("{}-1{}", "abs(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse(&calls).unwrap_err().position, 3);
    // Unary minus does not nest: any number of them is fine.
    let minus = format!("{}1", "-".repeat(10_001));
    assert_eq!(parse(&minus).unwrap().eval(&env(&[])), Value::Number(-1.0));
    // Long flat chains do not nest either.
    let sum = vec!["${a}"; 5_000].join(" + ");
    assert_eq!(
        parse(&sum).unwrap().eval(&env(&[("a", 1.0.into())])),
        Value::Number(5000.0)
    );
    let conjunction = vec!["${a} = 1"; 5_000].join(" and ");
    assert_eq!(
        parse(&conjunction)
            .unwrap()
            .eval(&env(&[("a", 1.0.into())])),
        Value::Bool(true)
    );
}

/// Parses and evaluates on a thread with the given stack, returning the value.
fn on_small_stack(src: String, stack: usize) -> Value {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let e = parse(&src).expect("parses");
            let copy = e.clone();
            assert_eq!(copy, e);
            drop(copy);
            e.eval(&env(&[]))
        })
        .expect("thread")
        .join()
        .expect("no stack overflow")
}

#[test]
fn the_deepest_expressions_fit_the_stack_of_a_phone_thread() {
    // 512 KiB: the stack of an iOS secondary thread, the smallest a phone app is likely to use.
    let stack = 512 << 10;
    // Function calls nest the most expensively for the parser.
    let calls = format!("{}1{}", "abs(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(on_small_stack(calls, stack), Value::Number(1.0));
    let ifs = format!(
        "{}'z'{}",
        "if(${x} = 1, 'a', ".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(on_small_stack(ifs, stack), Value::from("z"));
    // Every precedence level at every nesting level, eight levels each time, as deep as allowed.
    let level = "0 or 1 and 1 = 1 < 1 + 1 * -abs(";
    let n = MAX_DEPTH / 8;
    let deeper = format!("{}1{}", level.repeat(n + 1), ")".repeat(n + 1));
    assert!(parse(&deeper).is_err());
    let deepest = format!("{}1{}", level.repeat(n), ")".repeat(n));
    assert_eq!(on_small_stack(deepest, stack), Value::Bool(false));
}

#[test]
fn references_in_order_of_first_appearance() {
    let e = parse(
        "${b} + ${a} * ${b} + jr:choice-name(${c}, '${d}') + indexed-repeat(${e}, ${f}, ${a})",
    )
    .unwrap();
    assert_eq!(e.references(), ["b", "a", "c", "d", "e", "f"]);
    assert_eq!(parse("1 + 2").unwrap().references(), [] as [String; 0]);
    assert_eq!(parse("${年龄} > ${年龄}").unwrap().references(), ["年龄"]);
    // `${}` inside an ordinary string is text, not a reference.
    assert_eq!(parse("concat('${x}', ${y})").unwrap().references(), ["y"]);
    let src = " ${a} = 'x' ";
    assert_eq!(parse(src).unwrap().source(), src);
}

/// An engine-like environment: values in a vector indexed by the bound id.
struct ById(Vec<Value>);

impl Env for ById {
    fn var(&self, v: VarRef<'_>) -> Value {
        match v.id {
            Some(id) => self.0.get(id as usize).cloned().unwrap_or_default(),
            None => Value::from(format!("unbound {}", v.name)),
        }
    }
    fn current(&self) -> Value {
        Value::default()
    }
    fn position(&self) -> Option<usize> {
        None
    }
    fn indexed_repeat(&self, name: VarRef<'_>, repeat: VarRef<'_>, index: usize) -> Value {
        Value::from(format!("{:?}/{:?}/{index}", name.id, repeat.id))
    }
    fn now(&self) -> (i64, i32) {
        (0, 0)
    }
    fn uuid(&self) -> String {
        String::new()
    }
    fn choice_label(&self, question: VarRef<'_>, value: &str) -> Option<String> {
        Some(format!("{:?}:{value}", question.id))
    }
    fn stored(&self) -> Option<Value> {
        None
    }
}

#[test]
fn binding_hands_ids_to_the_environment() {
    let mut e = parse("${x} + ${y}").unwrap();
    let env = ById(vec![10.0.into(), 20.0.into()]);
    assert!(
        e.eval(&env).to_number().is_nan(),
        "unbound references reach the environment by name only"
    );
    let ids = HashMap::from([("x", 1), ("y", 0)]);
    assert!(e.bind(|n| ids.get(n).copied()).is_empty());
    assert_eq!(e.eval(&env), Value::Number(30.0));

    let mut e = parse("concat(${x}, ${ghost}, ${y}, ${phantom}, ${ghost})").unwrap();
    assert_eq!(e.bind(|n| ids.get(n).copied()), ["ghost", "phantom"]);
    assert_eq!(
        e.eval(&env),
        Value::from("20unbound ghost10unbound phantomunbound ghost")
    );
    // Binding again replaces the ids.
    assert!(e.bind(|_| Some(0)).is_empty());
    assert_eq!(e.eval(&env), Value::from("1010101010"));

    let mut e =
        parse("concat(indexed-repeat(${n}, ${r}, 2), jr:choice-name('v', '${q}'))").unwrap();
    let ids = HashMap::from([("n", 4), ("r", 5), ("q", 6)]);
    assert!(e.bind(|n| ids.get(n).copied()).is_empty());
    assert_eq!(e.eval(&env), Value::from("Some(4)/Some(5)/2Some(6):v"));
}

#[test]
fn parsed_expressions_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<sync_core::form::expr::Expr>();
    shareable::<Value>();
    shareable::<MapEnv>();
}

#[test]
fn value_coercions_are_public() {
    assert_eq!(Value::Number(3.0).to_string_value(), "3");
    assert_eq!(Value::Number(-0.0).to_string_value(), "0");
    assert_eq!(Value::Bool(true).to_string_value(), "true");
    assert_eq!(date(2024, 5, 1).to_string_value(), "2024-05-01");
    assert_eq!(
        Value::DateTime(NOW_MS).to_string_value(),
        "2024-05-01T02:30:00.000Z"
    );
    assert_eq!(
        Value::DateTime(NOW_MS).to_string_at(UTC_PLUS_8),
        "2024-05-01T10:30:00.000+08:00"
    );
    assert_eq!(nodes(&["a", "b"]).to_string_value(), "a");
    assert_eq!(Value::from(" 12 ").to_number(), 12.0);
    assert!(Value::from("").to_number().is_nan());
    assert_eq!(date(1970, 1, 11).to_number(), 10.0);
    assert_eq!(Value::DateTime(DAY_MS / 2).to_number(), 0.5);
    assert!(Value::from("false").to_bool());
    assert!(!Value::Number(f64::NAN).to_bool());
    assert!(!Value::Nodes(vec![]).to_bool());
    assert!(Value::from("").is_empty());
    assert!(Value::Nodes(vec![]).is_empty());
    assert!(!Value::Number(0.0).is_empty());
    assert_eq!(Value::default(), Value::from(""));
}

// ---------------------------------------------------------------------------------------------
// Never panics.

/// Syntactically valid expressions over every function, operator and literal kind.
fn arb_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("${a}".to_string()),
        Just("${b}".to_string()),
        Just("${年龄}".to_string()),
        Just(".".to_string()),
        prop_oneof![
            Just("0"),
            Just("1"),
            Just("2.5"),
            Just(".5"),
            Just("1000000")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("''"),
            Just("'x'"),
            Just("'12'"),
            Just("'a b c'"),
            Just("'2024-05-01'"),
            Just("'2024-05-01T10:00:00Z'"),
            Just("\"你好\""),
        ]
        .prop_map(str::to_string),
        prop_oneof![
            Just("today()"),
            Just("now()"),
            Just("uuid()"),
            Just("position(..)"),
            Just("true()"),
            Just("false()"),
        ]
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        let ops = prop_oneof![
            Just("or"),
            Just("and"),
            Just("="),
            Just("!="),
            Just("<"),
            Just("<="),
            Just(">"),
            Just(">="),
            Just("+"),
            Just("-"),
            Just("*"),
            Just("div"),
            Just("mod"),
        ];
        prop_oneof![
            (inner.clone(), ops, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                proptest::sample::select(FUNCTIONS),
                proptest::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|((name, min, max), args)| {
                    let mut args = args;
                    while args.len() < min {
                        args.push("'2024-05-01'".to_string());
                    }
                    args.truncate(max);
                    format!("{name}({})", args.join(", "))
                }),
            inner
                .clone()
                .prop_map(|a| format!("jr:choice-name({a}, '${{b}}')")),
            inner
                .clone()
                .prop_map(|a| format!("indexed-repeat(${{a}}, ${{b}}, {a})")),
        ]
    })
}

/// Functions whose arguments can be any expression, with their arities.
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("if", 3, 3),
    ("not", 1, 1),
    ("boolean", 1, 1),
    ("boolean-from-string", 1, 1),
    ("selected", 2, 2),
    ("count-selected", 1, 1),
    ("selected-at", 2, 2),
    ("string-length", 0, 1),
    ("concat", 0, 4),
    ("join", 2, 4),
    ("substr", 2, 3),
    ("substring-before", 2, 2),
    ("substring-after", 2, 2),
    ("translate", 3, 3),
    ("normalize-space", 0, 1),
    ("contains", 2, 2),
    ("starts-with", 2, 2),
    ("ends-with", 2, 2),
    ("regex", 2, 2),
    ("number", 0, 1),
    ("int", 1, 1),
    ("round", 1, 2),
    ("floor", 1, 1),
    ("ceiling", 1, 1),
    ("abs", 1, 1),
    ("pow", 2, 2),
    ("string", 0, 1),
    ("coalesce", 2, 2),
    ("date", 1, 1),
    ("date-time", 1, 1),
    ("format-date", 2, 2),
    ("format-date-time", 2, 2),
    ("decimal-date-time", 1, 1),
    ("decimal-date", 1, 1),
    ("count", 1, 1),
    ("count-non-empty", 1, 1),
    ("sum", 1, 1),
    ("max", 1, 4),
    ("min", 1, 4),
    ("once", 1, 1),
];

/// Any value, extremes included: NaN, infinities, dates far outside the calendar, nested
/// node-sets, strings that look like numbers, dates and lists.
fn arb_value() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<String>().prop_map(Value::String),
        prop_oneof![
            Just(""),
            Just("12"),
            Just(" 3.5 "),
            Just("-0"),
            Just("2024-05-01"),
            Just("2024-05-01T10:30:00+08:00"),
            Just("9999-12-31T23:59:59.999-23:59"),
            Just("a b c"),
            Just("(")
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::Date),
        any::<i64>().prop_map(Value::DateTime),
    ];
    scalar.prop_recursive(2, 12, 4, |inner| {
        proptest::collection::vec(inner, 0..4).prop_map(Value::Nodes)
    })
}

fn arb_env() -> impl Strategy<Value = MapEnv> {
    (
        proptest::collection::vec(arb_value(), 4),
        proptest::option::of(arb_value()),
        proptest::option::of(any::<usize>()),
        prop_oneof![Just(NOW_MS), any::<i64>()],
        prop_oneof![Just(UTC_PLUS_8), -900..900i32, any::<i32>()],
    )
        .prop_map(|(values, stored, position, now_ms, offset)| {
            let mut env = MapEnv {
                now_ms,
                utc_offset_minutes: offset,
                stored,
                position,
                ..MapEnv::default()
            };
            let mut values = values.into_iter();
            for name in ["a", "b", "年龄"] {
                env.set(name, values.next().unwrap_or_default());
            }
            env.current = values.next().unwrap_or_default();
            env.labels.insert(
                "b".into(),
                HashMap::from([("x".to_string(), "X".to_string())]),
            );
            env
        })
}

/// Arbitrary text made of expression fragments and arbitrary characters.
fn arb_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<char>().prop_map(String::from),
        prop_oneof![
            Just("("),
            Just(")"),
            Just(","),
            Just("'"),
            Just("\""),
            Just("${a}"),
            Just("${"),
            Just("}"),
            Just("."),
            Just(".."),
            Just(" and "),
            Just(" or "),
            Just(" div "),
            Just("-"),
            Just("="),
            Just("<="),
            Just("!="),
            Just("concat("),
            Just("if("),
            Just("regex("),
            Just("format-date("),
            Just("jr:choice-name("),
            Just("indexed-repeat("),
            Just("position("),
            Just("'%"),
            Just("'${b}'"),
            Just("1"),
            Just(".5"),
        ]
        .prop_map(str::to_string),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_unicode(src in any::<String>()) {
        if let Err(e) = parse(&src) {
            prop_assert!(e.position <= src.chars().count());
        }
    }

    #[test]
    fn parse_never_panics_on_near_expressions(src in arb_text(), env in arb_env()) {
        match parse(&src) {
            Ok(e) => {
                e.eval(&env);
            }
            Err(e) => prop_assert!(e.position <= src.chars().count(), "{e}"),
        }
    }

    #[test]
    fn nesting_is_limited_not_fatal(depth in 0usize..3 * MAX_DEPTH, open in prop_oneof![Just("("), Just("not("), Just("concat('x', ")]) {
        let src = format!("{}1{}", open.repeat(depth), ")".repeat(depth));
        let parsed = parse(&src);
        prop_assert_eq!(parsed.is_ok(), depth <= MAX_DEPTH, "{:?}", parsed.err());
        let unclosed = open.repeat(depth);
        prop_assert!(parse(&unclosed).is_err());
    }

    #[test]
    fn every_valid_expression_parses_and_evaluates(src in arb_expr(), env in arb_env()) {
        let e = parse(&src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
        let first = e.eval(&env);
        // Evaluation is a pure function of the expression and the environment.
        prop_assert!(same(&first, &e.eval(&env)), "{}", src);
        prop_assert!(same(&first, &e.clone().eval(&env)), "{}", src);
        // Coercions of any result never panic either.
        let _ = (first.to_string_value(), first.to_number(), first.to_bool(), first.is_empty());
    }
}
