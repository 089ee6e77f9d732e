//! `mapframe form inspect | run`: read an XLSForm as mapframe understands it, and run the
//! interview engine on a set of answers.

use super::{CliError, Outcome};
use crate::files::{read_text, write_atomic};
use crate::formfile::read_workbook;
use clap::{Args, Subcommand};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use sync_core::form::Form;
use sync_core::form::engine::{CompiledForm, Session, ViewOptions};
use sync_core::form::model::QuestionKind;
use sync_core::form::xlsform::read_form;

#[derive(Debug, Subcommand)]
pub enum FormCommand {
    /// Read an XLSForm (.xlsx, .xls, or a folder of CSV sheets) and describe it. Exit 0 when it is
    /// valid, 1 listing every authoring error (sheet, row, column), 2 when the file cannot be read.
    Inspect(InspectArgs),
    /// Run the interview engine on answers: relevant questions, calculations, errors, the next
    /// question, and whether the interview can be submitted.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(value_name = "FORM.xlsx|FORM.xls|DIR")]
    form: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[arg(value_name = "FORM.xlsx|FORM.xls|DIR")]
    form: PathBuf,
    /// Answers as JSON: {"question": value, "roster": [{"_id": "<uuid>", "question": value}]}.
    #[arg(long, value_name = "ANSWERS.json")]
    answers: PathBuf,
    /// The language of labels and messages, as in the form's columns (`中文 (zh)`, `English (en)`).
    #[arg(long)]
    lang: Option<String>,
    #[arg(long)]
    json: bool,
    /// The time to evaluate today() and now() at (RFC 3339); the current time by default.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub fn run(cmd: FormCommand) -> Result<Outcome, CliError> {
    match cmd {
        FormCommand::Inspect(a) => inspect(a),
        FormCommand::Run(a) => run_form(a),
    }
}

/// Reads and validates a form; authoring errors come back as `Err(Ok(json))` for the caller to print.
fn load(path: &Path, json_errors: bool) -> Result<Result<Form, String>, CliError> {
    let wb = read_workbook(path).map_err(|e| CliError::Input(e.to_string()))?;
    match read_form(&wb) {
        Ok(f) => Ok(Ok(f)),
        Err(errors) => {
            let text = if json_errors {
                let mut s = serde_json::to_string_pretty(&json!({ "errors": errors.0 }))
                    .unwrap_or_default();
                s.push('\n');
                s
            } else {
                let mut s = format!(
                    "{}: {} authoring error(s):\n",
                    path.display(),
                    errors.0.len()
                );
                for e in &errors.0 {
                    s.push_str(&format!("  {e}\n"));
                }
                s
            };
            Ok(Err(text))
        }
    }
}

fn null_or<T: serde::Serialize>(v: &Option<T>) -> Json {
    v.as_ref().map(|x| json!(x)).unwrap_or(Json::Null)
}

/// The JSON description of a form (`mapframe form inspect --json`).
pub fn describe(form: &Form) -> Json {
    let questions: Vec<Json> = form
        .questions
        .iter()
        .map(|q| {
            json!({
                "name": q.name,
                "type": q.type_word,
                "path": q.path,
                "list": null_or(&q.list),
                "labels": q.labels,
                "required": null_or(&q.required),
                "relevant": null_or(&q.relevant),
                "constraint": null_or(&q.constraint),
                "calculation": null_or(&q.calculation),
                "choice_filter": null_or(&q.choice_filter),
                "repeat_count": null_or(&q.repeat_count),
            })
        })
        .collect();
    let lists: serde_json::Map<String, Json> = form
        .choices
        .iter()
        .map(|(name, cs)| {
            (
                name.clone(),
                Json::Array(
                    cs.iter()
                        .map(|c| json!({"name": c.name, "labels": c.labels}))
                        .collect(),
                ),
            )
        })
        .collect();
    json!({
        "form_id": form.settings.form_id,
        "version": form.settings.version,
        "title": form.settings.form_title,
        "default_language": null_or(&form.settings.default_language),
        "languages": form.languages,
        "questions": questions,
        "choice_lists": lists,
    })
}

fn inspect(a: InspectArgs) -> Result<Outcome, CliError> {
    let form = match load(&a.form, a.json)? {
        Ok(f) => f,
        Err(text) => {
            write_atomic(Path::new("-"), text.as_bytes())?;
            return Ok(Outcome::Found);
        }
    };
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&describe(&form)).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let lang = form.settings.default_language.clone();
        let mut s = format!(
            "{} ({} version {})\nlanguages: {}\n{} question(s), {} choice list(s)\n\n",
            form.settings.form_title,
            form.settings.form_id,
            form.settings.version,
            form.languages.join(", "),
            form.questions
                .iter()
                .filter(|q| !matches!(q.kind, QuestionKind::BeginGroup | QuestionKind::BeginRepeat))
                .count(),
            form.choices.len()
        );
        for q in &form.questions {
            let depth = q.path.matches('/').count();
            let label = sync_core::form::model::pick(&q.labels, lang.as_deref(), lang.as_deref())
                .unwrap_or("");
            let mut line = format!("{}{} [{}", "  ".repeat(depth), q.name, q.type_word);
            if let Some(l) = &q.list {
                line.push_str(&format!(" {l}"));
            }
            line.push(']');
            if !label.is_empty() {
                line.push_str(&format!(" {label}"));
            }
            if let Some(r) = &q.relevant {
                line.push_str(&format!("  (if {r})"));
            }
            s.push_str(&line);
            s.push('\n');
        }
        s
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(Outcome::Ok)
}

fn run_form(a: RunArgs) -> Result<Outcome, CliError> {
    let form = match load(&a.form, a.json)? {
        Ok(f) => f,
        Err(text) => {
            write_atomic(Path::new("-"), text.as_bytes())?;
            return Ok(Outcome::Found);
        }
    };
    if let Some(l) = &a.lang
        && !form.languages.contains(l)
    {
        return Err(CliError::Input(format!(
            "the form has no language {l:?}; it has: {}",
            form.languages.join(", ")
        )));
    }
    let compiled = CompiledForm::compile(form).map_err(|errors| {
        CliError::Input(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let text = read_text(&a.answers)?;
    let answers: Json = serde_json::from_str(&text).map_err(|e| {
        CliError::Input(format!(
            "{}: line {}, column {}: not valid JSON: {e}",
            a.answers.display(),
            e.line(),
            e.column()
        ))
    })?;
    let mut session = Session::from_json(&compiled, &answers).map_err(|errors| {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("  {}: {e}", a.answers.display()))
            .collect();
        CliError::Input(format!(
            "the answers do not fit the form:\n{}",
            list.join("\n")
        ))
    })?;
    let (now_ms, offset) = match &a.now {
        Some(t) => {
            let dt = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| CliError::Input(format!("--now {t:?}: {e}")))?;
            (dt.timestamp_millis(), dt.offset().local_minus_utc() / 60)
        }
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            (now, 0)
        }
    };
    let view = session.view(&ViewOptions {
        language: a.lang.clone(),
        now_ms,
        utc_offset_min: offset,
    });
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&view).unwrap_or_default();
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for item in view.items.iter().filter(|i| i.relevant) {
            let value = if item.value.is_null() {
                "—".to_string()
            } else {
                item.value.to_string()
            };
            s.push_str(&format!("{:<40} {}\n", item.path, value));
            if let Some(l) = &item.label {
                s.push_str(&format!("    {l}\n"));
            }
            if let Some(i) = &item.issue {
                s.push_str(&format!("    ! {:?}: {}\n", i.kind, i.message));
            }
        }
        if !view.calculates.is_empty() {
            s.push_str("\ncalculations:\n");
            for (k, v) in &view.calculates {
                s.push_str(&format!("  {k} = {v}\n"));
            }
        }
        for r in &view.repeats {
            if let Some(e) = r.expected {
                s.push_str(&format!(
                    "repeat {}: {} of {e} instance(s)\n",
                    r.item.name,
                    r.instances.len()
                ));
            }
        }
        s.push_str(&format!(
            "\n{} issue(s); next: {}; submittable: {}\n",
            view.issues.len(),
            view.next
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
            if view.submittable { "yes" } else { "no" }
        ));
        s
    };
    write_atomic(Path::new("-"), text.as_bytes())?;
    Ok(Outcome::Ok)
}
