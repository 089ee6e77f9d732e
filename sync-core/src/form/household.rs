//! The flagship questionnaire: a household survey in Chinese and English with consent logic, a
//! member roster, the count of eligible adults that feeds respondent selection, cascading
//! selects and an `or_other` list. Used by the demo, the tests and the benchmark; written here as
//! the grids of its three sheets, exactly as an author would type them in a spreadsheet.

use super::xlsform::{Sheet, Workbook};

fn sheet(name: &str, rows: &[&[&str]]) -> Sheet {
    Sheet { name: name.to_string(), rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect() }
}

/// The household questionnaire as a workbook.
pub fn household_workbook() -> Workbook {
    let survey: &[&[&str]] = &[
        &["type", "name", "label::中文 (zh)", "label::English (en)", "hint::中文 (zh)", "hint::English (en)", "required", "relevant", "constraint", "constraint_message::中文 (zh)", "constraint_message::English (en)", "calculation", "choice_filter", "repeat_count", "appearance"],
        &["start", "start", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["end", "end", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["today", "today", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["deviceid", "deviceid", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["note", "intro", "您好！我们正在进行一项住户调查。", "Hello! We are conducting a household survey.", "", "", "", "", "", "", "", "", "", "", ""],
        &["select_one yes_no", "consent", "您是否同意接受访问？", "Do you agree to be interviewed?", "请完整念读知情同意书。", "Read the whole consent statement aloud.", "yes", "", "", "", "", "", "", "", ""],
        &["begin_group", "main", "住户信息", "Household", "", "", "", "${consent} = 'yes'", "", "", "", "", "", "", ""],
        &["integer", "hh_size", "户内常住人口有几人？", "How many people usually live in this household?", "", "", "yes", "", ". >= 1 and . <= 30", "人数应在1到30之间", "Must be between 1 and 30", "", "", "", ""],
        &["begin_repeat", "members", "家庭成员", "Household member", "", "", "", "", "", "", "", "", "", "${hh_size}", ""],
        &["text", "member_name", "成员姓名", "Member's name", "", "", "yes", "", "", "", "", "", "", "", ""],
        &["select_one sex", "sex", "${member_name}的性别", "Sex of ${member_name}", "", "", "yes", "", "", "", "", "", "", "", ""],
        &["integer", "age", "${member_name}的年龄（周岁）", "Age of ${member_name} (completed years)", "", "", "yes", "", ". >= 0 and . <= 120", "年龄应在0到120岁之间", "Age must be between 0 and 120", "", "", "", ""],
        &["select_one relation", "relation", "与户主的关系", "Relationship to the head", "", "", "yes", "", "(position(..) = 1 and . = 'head') or (position(..) > 1 and . != 'head')", "第一位成员应为户主，且只有一位户主", "The first member is the head, and there is only one", "", "", "", ""],
        &["select_one yes_no", "present", "${member_name}现在是否住在这里？", "Does ${member_name} live here now?", "", "", "yes", "${age} >= 18", "", "", "", "", "", "", ""],
        &["calculate", "eligible", "", "", "", "", "", "", "", "", "", "if(${age} >= 18 and ${present} = 'yes', 1, 0)", "", "", ""],
        &["end_repeat", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["calculate", "eligible_count", "", "", "", "", "", "", "", "", "", "sum(${eligible})", "", "", ""],
        &["note", "eligible_note", "本户共有 ${eligible_count} 名符合条件的成年人。", "This household has ${eligible_count} eligible adult(s).", "", "", "", "${eligible_count} > 0", "", "", "", "", "", "", ""],
        &["integer", "respondent", "按Kish表选中的成年人序号", "Number of the adult selected by the Kish table", "", "", "yes", "${eligible_count} > 0", ". >= 1 and . <= ${eligible_count}", "序号应在1到${eligible_count}之间", "Must be between 1 and ${eligible_count}", "", "", "", ""],
        &["select_one province", "province", "所在省份", "Province", "", "", "yes", "", "", "", "", "", "", "", ""],
        &["select_one city", "city", "所在城市", "City", "", "", "yes", "", "", "", "", "", "province = ${province}", "", ""],
        &["select_multiple income_source or_other", "income_sources", "家庭收入来源（可多选）", "Sources of household income (all that apply)", "", "", "yes", "", "", "", "", "", "", "", ""],
        &["decimal", "monthly_income", "家庭月收入（元）", "Monthly household income (yuan)", "", "", "", "", ". >= 0", "收入不能为负", "Income cannot be negative", "", "", "", ""],
        &["geopoint", "location", "住户位置", "Location of the dwelling", "", "", "", "", "", "", "", "", "", "", ""],
        &["text", "comments", "访员备注", "Interviewer's comments", "", "", "", "", "", "", "", "", "", "", "multiline"],
        &["end_group", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        &["note", "thanks_refused", "感谢您的时间。", "Thank you for your time.", "", "", "", "${consent} = 'no'", "", "", "", "", "", "", ""],
    ];
    let choices: &[&[&str]] = &[
        &["list_name", "name", "label::中文 (zh)", "label::English (en)", "province"],
        &["yes_no", "yes", "是", "Yes", ""],
        &["yes_no", "no", "否", "No", ""],
        &["sex", "1", "男", "Male", ""],
        &["sex", "2", "女", "Female", ""],
        &["relation", "head", "户主", "Head", ""],
        &["relation", "spouse", "配偶", "Spouse", ""],
        &["relation", "child", "子女", "Child", ""],
        &["relation", "parent", "父母", "Parent", ""],
        &["relation", "other", "其他", "Other", ""],
        &["province", "yunnan", "云南", "Yunnan", ""],
        &["province", "sichuan", "四川", "Sichuan", ""],
        &["city", "kunming", "昆明", "Kunming", "yunnan"],
        &["city", "dali", "大理", "Dali", "yunnan"],
        &["city", "chengdu", "成都", "Chengdu", "sichuan"],
        &["city", "mianyang", "绵阳", "Mianyang", "sichuan"],
        &["income_source", "wage", "工资", "Wages", ""],
        &["income_source", "farm", "农业经营", "Farming", ""],
        &["income_source", "business", "个体经营", "Own business", ""],
        &["income_source", "pension", "养老金", "Pension", ""],
        &["income_source", "transfer", "转移支付", "Transfers", ""],
    ];
    let settings: &[&[&str]] = &[
        &["form_id", "version", "form_title", "default_language", "instance_name"],
        &["household_2026", "2026112101", "住户调查问卷 Household questionnaire", "中文 (zh)", "concat(${province}, '-', ${city})"],
    ];
    Workbook { sheets: vec![sheet("survey", survey), sheet("choices", choices), sheet("settings", settings)] }
}
