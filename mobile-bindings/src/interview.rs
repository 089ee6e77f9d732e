//! Cases and interviews on the phone.
//!
//! A case is an `interview` entity whose `interviewer` field names the signed-in user. Its
//! answers are fields: `answers/<name>`, and inside roster instances
//! `answers/<roster>[<uuid>]/<name>` (instances added with `AddMember` on group
//! `answers/<roster>`, removed with `RemoveMember`). To show a question the form engine
//! (`sync_core::form::engine`) gets a [`Session`] rebuilt from those fields; what it says — the
//! label and hint in the chosen language, the choices left after filters, the constraint
//! message, what comes next, whether the interview can be submitted — is what the phone shows.
//! Where the interviewer stands (the current question, the language) is local state, kept in the
//! store so that the app can be killed mid-interview and resume on the same question.

use crate::error::FieldError;
use crate::listing::point_value;
use crate::records::{
    AnswerValue, CaseRecord, ChoiceRecord, InterviewView, IssueRecord, QuestionRecord,
    RespondentRecord, RespondentRule, RosterRecord, VisitInput,
};
use crate::store::{FieldStore, Inner, now_ms, parse_id, value_text};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;
use sync_core::aapor::Disposition;
use sync_core::fieldwork::field;
use sync_core::form::engine::{
    CompiledForm, IssueKind, ItemRef, ItemView, Session, View, ViewOptions, navigate,
};
use sync_core::form::model::{Form, QuestionKind, pick};
use sync_core::sampling::kish::{self, Adult, KishTable, Sex};
use sync_core::sync::{
    Entity, EntityKind, FieldKind, FieldValue, OpBody, Position, Target, field_kind,
};
use uuid::Uuid;

const ANSWERS: &str = "answers/";

/// The field holding an item's answer: `answers/<roster>[<id>]/…/<name>`.
pub(crate) fn field_path(form: &Form, item: &ItemRef) -> Option<String> {
    let q = form.index_of(&item.name)?;
    let reps = form.repeats_of(q);
    if reps.len() != item.instances.len() {
        return None;
    }
    let mut p = ANSWERS.to_string();
    for (r, id) in reps.iter().zip(&item.instances) {
        p.push_str(&format!("{}[{id}]/", form.questions[*r].name));
    }
    p.push_str(&item.name);
    Some(p)
}

/// The roster instances enclosing a field, outermost first: (roster name, instance id).
type Chain = Vec<(String, Uuid)>;

/// Splits `members[<uuid>]/age` (after `answers/`) into the instance chain and the last segment.
fn parse_chain(rest: &str) -> Option<(Chain, String)> {
    let mut segs: Vec<&str> = rest.split('/').collect();
    let last = segs.pop()?.to_string();
    let mut chain = Vec::with_capacity(segs.len());
    for s in segs {
        let open = s.find('[')?;
        let id = Uuid::parse_str(s.get(open + 1..s.len().checked_sub(1)?)?).ok()?;
        chain.push((s[..open].to_string(), id));
    }
    Some((chain, last))
}

/// A stored value as the form engine takes it: positions (geopoint answers in fields the merge
/// treats as positions) as ODK's `"lat lon alt acc"`.
fn to_json(v: &FieldValue) -> Json {
    match v {
        FieldValue::Position(p) => Json::String(format!(
            "{} {} 0 {}",
            p.lat,
            p.lon,
            p.accuracy_m.unwrap_or(0.0)
        )),
        v => serde_json::to_value(v).unwrap_or(Json::Null),
    }
}

/// An answer as stored: a geopoint in a position field (`…/location`, `…/position`) becomes a
/// position, so that it merges as one (last writer, flagged beyond 50 m).
fn stored_value(path: &str, json: &Json) -> Result<FieldValue, FieldError> {
    if let (FieldKind::Position, Json::String(s)) = (field_kind(&EntityKind::Interview, path), json)
    {
        let nums: Vec<f64> = s
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if nums.len() >= 2 {
            return Ok(FieldValue::Position(Position {
                lat: nums[0],
                lon: nums[1],
                accuracy_m: nums.get(3).copied().filter(|a| *a > 0.0),
            }));
        }
    }
    match json {
        Json::Null => Ok(FieldValue::Null),
        j => serde_json::from_value(j.clone())
            .map_err(|err| FieldError::validation("bad_value", path, err.to_string())),
    }
}

/// Rebuilds the engine's session from a case's fields: instances first (outer before inner, in
/// id order, which is creation order for v7 ids), then answers. Anything the form does not know
/// (an answer of a newer form version) is left out of the session, never lost from the entity.
pub(crate) fn session_of<'f>(form: &'f CompiledForm, e: &Entity) -> Session<'f> {
    let mut s = Session::new(form);
    // (depth, chain, name and id): outer levels first, then by id — UUIDv7 minted in increasing
    // order on each device (see `Inner::new_id`), so members keep the order they were added in.
    let mut instances: Vec<(usize, Chain, String)> = Vec::new();
    let mut answers: Vec<(ItemRef, Json)> = Vec::new();
    for (k, v) in e.fields.range(ANSWERS.to_string()..) {
        let Some(rest) = k.strip_prefix(ANSWERS) else {
            break;
        };
        if let Some(inst) = rest.strip_suffix("/_present") {
            let removed =
                e.fields.get(&format!("{ANSWERS}{inst}/_removed")) == Some(&FieldValue::Bool(true));
            if !removed
                && let Some((mut chain, _)) = parse_chain(&format!("{inst}/x"))
                && let Some((name, id)) = chain.pop()
            {
                instances.push((chain.len(), chain, format!("{name}\u{0}{id}")));
            }
            continue;
        }
        let Some((chain, name)) = parse_chain(rest) else {
            continue;
        };
        if name.starts_with('_') || chain.iter().any(|(n, _)| n.starts_with('_')) {
            continue;
        }
        answers.push((
            ItemRef {
                name,
                instances: chain.into_iter().map(|(_, id)| id).collect(),
            },
            to_json(v),
        ));
    }
    instances.sort_by(|a, b| (a.0, &a.2).cmp(&(b.0, &b.2)));
    for (_, chain, key) in instances {
        let Some((name, id)) = key.split_once('\u{0}') else {
            continue;
        };
        let Ok(id) = Uuid::parse_str(id) else {
            continue;
        };
        let enclosing: Vec<Uuid> = chain.iter().map(|(_, i)| *i).collect();
        let _ = s.add_instance(name, &enclosing, id);
    }
    for (item, v) in answers {
        let _ = s.set(&item, &v);
    }
    s
}

fn answer_json(v: &AnswerValue) -> Json {
    match v {
        AnswerValue::Text { value } | AnswerValue::Date { value } => Json::String(value.clone()),
        AnswerValue::Integer { value } => Json::from(*value),
        AnswerValue::Decimal { value } => Json::from(*value),
        AnswerValue::Choice { name } => Json::String(name.clone()),
        AnswerValue::Choices { names } => Json::String(names.join(" ")),
        AnswerValue::Location { point } => Json::String(format!(
            "{} {} 0 {}",
            point.lat,
            point.lon,
            point.accuracy_m.unwrap_or(0.0)
        )),
        AnswerValue::Clear => Json::Null,
    }
}

fn issue_kind(k: &IssueKind) -> &'static str {
    match k {
        IssueKind::Required => "required",
        IssueKind::Constraint => "constraint",
        IssueKind::Type => "type",
        IssueKind::RepeatCount => "repeat_count",
    }
}

fn issue_record(i: &sync_core::form::engine::Issue, path: &str) -> IssueRecord {
    IssueRecord {
        path: path.to_string(),
        name: i.item.name.clone(),
        kind: issue_kind(&i.kind).to_string(),
        message: i.message.clone(),
    }
}

/// The cursor stored per case: the item, or `null` past the end.
type Cursor = Option<ItemRef>;

struct Opened {
    form: Arc<CompiledForm>,
    language: Option<String>,
    cursor: Option<Cursor>,
}

impl Inner {
    fn case(&self, case_id: &str) -> Result<(Uuid, &Entity), FieldError> {
        let id = parse_id("case_id", case_id)?;
        let e = self.entity(id)?;
        if e.kind != EntityKind::Interview {
            return Err(FieldError::not_found(
                "no_such_case",
                format!("{id} is not a case"),
            ));
        }
        Ok((id, e))
    }

    fn open_case(&mut self, case_id: &str) -> Result<Opened, FieldError> {
        let (_, e) = self.case(case_id)?;
        let form_id = e.text(field::FORM).map(str::to_string).ok_or_else(|| {
            FieldError::not_found("form_missing", format!("case {case_id} names no form"))
        })?;
        let version = e.text(field::FORM_VERSION).map(str::to_string);
        let form = self.compiled_form(&form_id, version.as_deref())?;
        let (cursor, language) = match self.db().cursor(case_id)? {
            Some((item, lang)) => (serde_json::from_str::<Cursor>(&item).ok(), lang),
            None => (None, None),
        };
        Ok(Opened {
            form,
            language,
            cursor,
        })
    }

    fn save_cursor(
        &self,
        case_id: &str,
        cursor: &Cursor,
        language: Option<&str>,
    ) -> Result<(), FieldError> {
        let text = serde_json::to_string(cursor).unwrap_or_else(|_| "null".into());
        self.db().set_cursor(case_id, &text, language)?;
        Ok(())
    }

    fn view_of(
        &self,
        form: &CompiledForm,
        case: Uuid,
        language: Option<&str>,
    ) -> Result<View, FieldError> {
        let e = self.entity(case)?;
        let mut s = session_of(form, e);
        Ok(s.view(&opts(language)))
    }

    /// Builds the record of where the interview stands.
    fn interview_view(
        &self,
        case: Uuid,
        form: &CompiledForm,
        view: &View,
        cursor: &Cursor,
        language: Option<&str>,
    ) -> Result<InterviewView, FieldError> {
        let e = self.entity(case)?;
        let f = form.form();
        let paths: std::collections::HashMap<&ItemRef, &str> = view
            .items
            .iter()
            .map(|i| (&i.item, i.path.as_str()))
            .collect();
        let question = cursor
            .as_ref()
            .and_then(|c| view.items.iter().find(|i| &i.item == c))
            .map(|iv| question_record(f, iv, language));
        let relevant: Vec<&ItemView> = view
            .items
            .iter()
            .filter(|i| i.relevant && answerable(f, &i.item.name))
            .collect();
        let answered = relevant
            .iter()
            .filter(|i| !(i.value.is_null() || i.value == Json::String(String::new())))
            .count();
        Ok(InterviewView {
            case_id: case.to_string(),
            status: e.status().unwrap_or("assigned").to_string(),
            language: language.map(str::to_string),
            at_end: cursor.is_none(),
            question,
            submittable: view.submittable,
            issues: view
                .issues
                .iter()
                .map(|i| issue_record(i, paths.get(&i.item).copied().unwrap_or_default()))
                .collect(),
            rosters: view
                .repeats
                .iter()
                .map(|r| RosterRecord {
                    name: r.item.name.clone(),
                    instances: r.instances.iter().map(Uuid::to_string).collect(),
                    expected: r.expected,
                })
                .collect(),
            answered: u32::try_from(answered).unwrap_or(u32::MAX),
            relevant: u32::try_from(relevant.len()).unwrap_or(u32::MAX),
        })
    }

    /// Opens a case and shows where it stands.
    fn show(&mut self, case_id: &str) -> Result<InterviewView, FieldError> {
        let (case, _) = self.case(case_id)?;
        let o = self.open_case(case_id)?;
        let view = self.view_of(&o.form, case, o.language.as_deref())?;
        let cursor = o.cursor.unwrap_or_else(|| first(&view));
        let cursor = valid_cursor(&view, cursor);
        self.interview_view(case, &o.form, &view, &cursor, o.language.as_deref())
    }
}

/// The form's name for a language the app asks for: the name itself (`English (en)`), its code
/// (`en`), or its name without the code (`English`); unknown languages are kept as asked (the
/// engine then falls back to the form's default language).
fn resolve_language(form: &Form, asked: Option<String>) -> Option<String> {
    let asked = asked?;
    let a = asked.trim();
    form.languages
        .iter()
        .find(|l| l.as_str() == a)
        .or_else(|| {
            form.languages.iter().find(|l| {
                let code = l
                    .rsplit_once('(')
                    .map(|(_, c)| c.trim_end_matches(')').trim());
                code == Some(a) || l.split(" (").next() == Some(a)
            })
        })
        .cloned()
        .or(Some(asked))
}

fn answerable(form: &Form, name: &str) -> bool {
    form.index_of(name).is_some_and(|q| {
        let k = form.questions[q].kind;
        k.has_value() && k != QuestionKind::Calculate
    })
}

fn opts(language: Option<&str>) -> ViewOptions {
    ViewOptions {
        language: language.map(str::to_string),
        now_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
        utc_offset_min: 0,
    }
}

/// The first question shown.
fn first(view: &View) -> Cursor {
    view.items
        .iter()
        .find(|i| i.relevant)
        .map(|i| i.item.clone())
}

/// A cursor on an item no longer shown (its roster member removed, a skip changed) moves to the
/// next question to answer.
fn valid_cursor(view: &View, cursor: Cursor) -> Cursor {
    match cursor {
        Some(c) if view.items.iter().any(|i| i.item == c && i.relevant) => Some(c),
        Some(_) => view.next.clone().or_else(|| first(view)),
        None => None,
    }
}

fn question_record(form: &Form, iv: &ItemView, language: Option<&str>) -> QuestionRecord {
    let q = form.index_of(&iv.item.name).map(|q| &form.questions[q]);
    let default_language = form.settings.default_language.as_deref();
    QuestionRecord {
        name: iv.item.name.clone(),
        path: iv.path.clone(),
        instances: iv.item.instances.iter().map(Uuid::to_string).collect(),
        type_word: iv.type_word.clone(),
        label: iv.label.clone(),
        hint: iv.hint.clone(),
        required: iv.required,
        read_only: iv.read_only,
        value: match &iv.value {
            Json::Null => None,
            Json::String(s) if s.is_empty() => None,
            v => Some(v.to_string()),
        },
        choices: iv
            .choices
            .as_ref()
            .map(|cs| {
                cs.iter()
                    .map(|c| ChoiceRecord {
                        name: c.name.clone(),
                        label: c.label.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        issue: iv.issue.as_ref().map(|i| issue_record(i, &iv.path)),
        constraint_message: q
            .and_then(|q| pick(&q.constraint_message, language, default_language))
            .map(str::to_string),
    }
}

fn sex_of(v: &Json) -> Sex {
    match v.as_str().unwrap_or_default().to_ascii_lowercase().as_str() {
        "1" | "m" | "male" => Sex::Male,
        "2" | "f" | "female" => Sex::Female,
        _ => Sex::Unknown,
    }
}

#[uniffi::export]
impl FieldStore {
    /// The cases assigned to the signed-in interviewer (every case, for a supervisor), by area
    /// and listing number.
    pub fn cases(&self) -> Result<Vec<CaseRecord>, FieldError> {
        let inner = self.lock();
        let r = inner.replica()?;
        let me = inner.me()?.to_string();
        let all = r.identity().role.supervises();
        let entities = r.entities();
        let mut out: Vec<(String, i64, CaseRecord)> = Vec::new();
        for e in entities.values() {
            if e.kind != EntityKind::Interview || e.deleted {
                continue;
            }
            if !all && e.text(field::INTERVIEWER) != Some(me.as_str()) {
                continue;
            }
            let dwelling_id = e.text(field::DWELLING).unwrap_or_default().to_string();
            let address = Uuid::parse_str(&dwelling_id)
                .ok()
                .and_then(|d| entities.get(&d))
                .map(|d| {
                    let parts: Vec<&str> = [
                        field::ADDRESS_UNIT,
                        field::ADDRESS_FLOOR,
                        field::ADDRESS_ROOM,
                    ]
                    .iter()
                    .filter_map(|k| d.text(k))
                    .collect();
                    let mut a = parts.join("-");
                    if let Some(door) = d.text(field::DOOR_NUMBER) {
                        if !a.is_empty() {
                            a.push(' ');
                        }
                        a.push_str(door);
                    }
                    a
                })
                .unwrap_or_default();
            let visits = e
                .get(sync_core::sync::entity::VISITS_COUNTER)
                .and_then(FieldValue::as_int)
                .unwrap_or(0);
            let area_code = e.text(field::AREA_CODE).unwrap_or_default().to_string();
            let number = e
                .get(field::LISTING_NUMBER)
                .and_then(FieldValue::as_int)
                .unwrap_or(i64::MAX);
            out.push((
                area_code.clone(),
                number,
                CaseRecord {
                    id: e.id.to_string(),
                    area_id: e.text(field::AREA).unwrap_or_default().to_string(),
                    area_code,
                    dwelling_id,
                    household_id: e.text(field::HOUSEHOLD).map(str::to_string),
                    address,
                    status: e.status().unwrap_or("assigned").to_string(),
                    disposition: e.text(field::DISPOSITION).map(str::to_string),
                    form_id: e.text(field::FORM).map(str::to_string),
                    visits: u32::try_from(visits).unwrap_or(0),
                    respondent: e.text(field::RESPONDENT).map(str::to_string),
                    open_conflicts: u32::try_from(e.open_conflicts().count()).unwrap_or(u32::MAX),
                },
            ));
        }
        out.sort_by(|a, b| (&a.0, a.1, &a.2.id).cmp(&(&b.0, b.1, &b.2.id)));
        Ok(out.into_iter().map(|(_, _, c)| c).collect())
    }

    /// One case.
    pub fn case(&self, case_id: String) -> Result<CaseRecord, FieldError> {
        self.cases()?
            .into_iter()
            .find(|c| c.id == case_id.trim())
            .ok_or_else(|| FieldError::not_found("no_such_case", format!("no case {case_id}")))
    }

    /// Starts (or resumes) an interview in a language (`None`: the form's default): records the
    /// start time the first time, and shows the current question — the first one, or where the
    /// interviewer left off.
    pub fn start_interview(
        &self,
        case_id: String,
        language: Option<String>,
    ) -> Result<InterviewView, FieldError> {
        let mut inner = self.lock();
        let (case, e) = inner.case(&case_id)?;
        if e.get(field::STARTED_AT).is_none() {
            let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
            inner.edit(
                Target::new(EntityKind::Interview, case),
                vec![(field::STARTED_AT.into(), FieldValue::Int(now))],
            )?;
        }
        let o = inner.open_case(&case_id)?;
        let language = resolve_language(o.form.form(), language.or(o.language));
        let view = inner.view_of(&o.form, case, language.as_deref())?;
        let cursor = valid_cursor(&view, o.cursor.unwrap_or_else(|| first(&view)));
        inner.save_cursor(&case_id, &cursor, language.as_deref())?;
        inner.interview_view(case, &o.form, &view, &cursor, language.as_deref())
    }

    /// Where an interview stands (the current question, in the interview's language).
    pub fn current(&self, case_id: String) -> Result<InterviewView, FieldError> {
        self.lock().show(&case_id)
    }

    /// Answers the current question. The answer is checked by the form engine first: a value of
    /// the wrong type or one that breaks the question's constraint is refused
    /// (`Validation` with the question's path and the form's message) and nothing is stored.
    pub fn answer(&self, case_id: String, value: AnswerValue) -> Result<InterviewView, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let lang = o.language.as_deref();
        let Some(Some(item)) = o.cursor else {
            return Err(FieldError::validation(
                "no_question",
                "",
                "no current question: start the interview first, or go back",
            ));
        };
        let f = o.form.form();
        let path = field_path(f, &item).ok_or_else(|| {
            FieldError::not_found(
                "no_such_question",
                format!("{} is not in the form", item.name),
            )
        })?;
        let json = answer_json(&value);
        let view = {
            let e = inner.entity(case)?;
            let mut s = session_of(&o.form, e);
            if let Err(err) = s.set(&item, &json) {
                return Err(FieldError::validation(err.code(), &path, err.to_string()));
            }
            s.view(&opts(lang))
        };
        // A value of the wrong type (kept by the engine as a type issue) or one that breaks the
        // constraint is refused, named by the question's path in the form.
        if let Some(iv) = view.items.iter().find(|i| i.item == item)
            && let Some(issue) = &iv.issue
            && matches!(issue.kind, IssueKind::Constraint | IssueKind::Type)
        {
            return Err(FieldError::validation(
                issue_kind(&issue.kind),
                &iv.path,
                issue.message.clone(),
            ));
        }
        let stored = stored_value(&path, &json)?;
        inner.edit(
            Target::new(EntityKind::Interview, case),
            vec![(path, stored)],
        )?;
        let cursor = Some(item);
        inner.interview_view(case, &o.form, &view, &cursor, lang)
    }

    /// Moves to the next relevant question. Refused (`Validation`) while the current one is
    /// required and unanswered or breaks its constraint. Past the last question `at_end` is true.
    pub fn next(&self, case_id: String) -> Result<InterviewView, FieldError> {
        self.step(&case_id, true)
    }

    /// Moves to the previous relevant question (from the end: the last one).
    pub fn previous(&self, case_id: String) -> Result<InterviewView, FieldError> {
        self.step(&case_id, false)
    }

    /// Jumps to a question (`instances`: the roster instances it is in, outermost first).
    pub fn go_to(
        &self,
        case_id: String,
        name: String,
        instances: Vec<String>,
    ) -> Result<InterviewView, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let item = ItemRef {
            name,
            instances: instances
                .iter()
                .map(|i| parse_id("instances", i))
                .collect::<Result<_, _>>()?,
        };
        let view = inner.view_of(&o.form, case, o.language.as_deref())?;
        if !view.items.iter().any(|i| i.item == item && i.relevant) {
            return Err(FieldError::not_found(
                "no_such_question",
                format!("{item} is not shown in this interview"),
            ));
        }
        let cursor = Some(item);
        inner.save_cursor(&case_id, &cursor, o.language.as_deref())?;
        inner.interview_view(case, &o.form, &view, &cursor, o.language.as_deref())
    }

    /// Adds a member to a roster (inside the given enclosing instances, outermost first; empty for
    /// a top-level roster) and moves to its first question. Returns the instance id.
    pub fn add_member(
        &self,
        case_id: String,
        roster: String,
        enclosing: Vec<String>,
    ) -> Result<String, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let f = o.form.form();
        let q = f
            .index_of(&roster)
            .filter(|q| f.questions[*q].kind == QuestionKind::BeginRepeat)
            .ok_or_else(|| {
                FieldError::validation("not_a_roster", &roster, format!("{roster} is not a roster"))
            })?;
        let enclosing: Vec<Uuid> = enclosing
            .iter()
            .map(|i| parse_id("enclosing", i))
            .collect::<Result<_, _>>()?;
        let reps = f.repeats_of(q);
        if reps.len() != enclosing.len() {
            return Err(FieldError::validation(
                "wrong_instances",
                &roster,
                format!(
                    "{roster} is inside {} roster(s), {} given",
                    reps.len(),
                    enclosing.len()
                ),
            ));
        }
        let mut group = ANSWERS.to_string();
        for (r, id) in reps.iter().zip(&enclosing) {
            group.push_str(&format!("{}[{id}]/", f.questions[*r].name));
        }
        group.push_str(&roster);
        let instance = inner.new_id();
        inner.act(
            Target::new(EntityKind::Interview, case),
            OpBody::AddMember {
                group,
                instance,
                fields: BTreeMap::new(),
            },
        )?;
        let view = inner.view_of(&o.form, case, o.language.as_deref())?;
        let mut inside = enclosing.clone();
        inside.push(instance);
        let cursor = view
            .items
            .iter()
            .find(|i| i.relevant && i.item.instances == inside)
            .map(|i| i.item.clone())
            .or_else(|| view.next.clone());
        inner.save_cursor(&case_id, &cursor, o.language.as_deref())?;
        Ok(instance.to_string())
    }

    /// Removes a roster member (and its answers) from the interview.
    pub fn remove_member(
        &self,
        case_id: String,
        roster: String,
        instance: String,
    ) -> Result<(), FieldError> {
        let mut inner = self.lock();
        let (case, e) = inner.case(&case_id)?;
        let instance = parse_id("instance", &instance)?;
        let needle = format!("{roster}[{instance}]/_present");
        let group = e
            .fields
            .keys()
            .find_map(|k| {
                k.strip_suffix(&needle)
                    .filter(|p| p.starts_with(ANSWERS))
                    .map(|p| format!("{p}{roster}"))
            })
            .ok_or_else(|| {
                FieldError::not_found(
                    "no_such_member",
                    format!("no member {instance} in roster {roster}"),
                )
            })?;
        inner.act(
            Target::new(EntityKind::Interview, case),
            OpBody::RemoveMember { group, instance },
        )?;
        Ok(())
    }

    /// Selects the respondent among the roster's eligible adults (the form's `eligible`
    /// calculation where it has one, else aged 18 or more) by a Kish table or a seeded uniform
    /// draw, and records it on the case (`respondent`, `respondent_method`).
    pub fn select_respondent(
        &self,
        case_id: String,
        roster: String,
        rule: RespondentRule,
    ) -> Result<RespondentRecord, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let view = inner.view_of(&o.form, case, None)?;
        let instances = view
            .repeats
            .iter()
            .find(|r| r.item.name == roster && r.item.instances.is_empty())
            .map(|r| r.instances.clone())
            .unwrap_or_default();
        let value_in = |name: &str, id: Uuid| -> Json {
            view.items
                .iter()
                .find(|i| i.item.name == name && i.item.instances == [id])
                .map(|i| i.value.clone())
                .or_else(|| {
                    view.calculates
                        .iter()
                        .find(|(p, _)| {
                            p.contains(&format!("[{id}]/")) && p.ends_with(&format!("/{name}"))
                        })
                        .map(|(_, v)| v.clone())
                })
                .unwrap_or(Json::Null)
        };
        let mut eligible: Vec<(Uuid, Adult)> = Vec::new();
        for id in instances {
            let age = value_in("age", id).as_f64().map(|a| a as u32);
            let flag = value_in("eligible", id);
            let is_eligible = match flag {
                Json::Null => age.is_some_and(|a| a >= 18),
                Json::String(ref s) if s.is_empty() => age.is_some_and(|a| a >= 18),
                v => v.as_f64() == Some(1.0) || v.as_str() == Some("1") || v == Json::Bool(true),
            };
            if is_eligible {
                eligible.push((
                    id,
                    Adult {
                        sex: sex_of(&value_in("sex", id)),
                        age,
                    },
                ));
            }
        }
        if eligible.is_empty() {
            return Err(FieldError::validation(
                "no_eligible_adult",
                &roster,
                "no eligible adult on the roster",
            ));
        }
        let adults: Vec<Adult> = eligible.iter().map(|(_, a)| *a).collect();
        let k = u32::try_from(adults.len()).unwrap_or(u32::MAX);
        let (index, probability, method) = match &rule {
            RespondentRule::Kish { table } => {
                let t: KishTable = table.parse().map_err(|e: kish::KishError| {
                    FieldError::validation(e.code(), "table", e.to_string())
                })?;
                let index = kish::respondent(t, &adults).unwrap_or(0);
                let number = kish::select(t, k).unwrap_or(1);
                let p = kish::probability(number, k).map_or(0.0, |p| p.as_f64());
                (index, p, format!("kish:{}", t.as_str()))
            }
            RespondentRule::Uniform { seed } => {
                let (index, p) = kish::uniform_select(adults.len(), *seed, &case_id)
                    .unwrap_or((0, kish::Probability::new(1, 1).expect("1/1")));
                (index, p.as_f64(), format!("uniform:{seed}"))
            }
        };
        let chosen = eligible[index].0;
        inner.edit(
            Target::new(EntityKind::Interview, case),
            vec![
                (
                    field::RESPONDENT.into(),
                    FieldValue::text(chosen.to_string()),
                ),
                ("respondent_method".into(), FieldValue::text(method.clone())),
            ],
        )?;
        Ok(RespondentRecord {
            instance_id: chosen.to_string(),
            eligible: k,
            probability,
            method,
        })
    }

    /// Records a visit and its outcome (an AAPOR code); returns the visit's id. Visits count
    /// (`counts/visits`) and never conflict.
    pub fn record_visit(&self, case_id: String, visit: VisitInput) -> Result<String, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let code: Disposition =
            visit
                .result
                .parse()
                .map_err(|e: sync_core::aapor::AaporError| {
                    FieldError::validation(e.code(), "result", e.to_string())
                })?;
        let mut fields = BTreeMap::new();
        fields.insert(
            field::VISIT_AT.to_string(),
            FieldValue::Int(i64::try_from(now_ms()).unwrap_or(i64::MAX)),
        );
        fields.insert(
            field::VISIT_RESULT.to_string(),
            FieldValue::text(code.code()),
        );
        if !visit.note.trim().is_empty() {
            fields.insert(
                field::VISIT_NOTE.to_string(),
                FieldValue::text(visit.note.trim()),
            );
        }
        if let Some(p) = visit.position {
            fields.insert(field::POSITION.to_string(), point_value(p)?);
        }
        let id = inner.new_id();
        inner.act(
            Target::new(EntityKind::Interview, case),
            OpBody::RecordVisit { visit: id, fields },
        )?;
        Ok(id.to_string())
    }

    /// Sets the case's disposition (an AAPOR code such as `1.1`, `2.11`, `3.11`).
    pub fn set_disposition(&self, case_id: String, code: String) -> Result<(), FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let d: Disposition = code.parse().map_err(|e: sync_core::aapor::AaporError| {
            FieldError::validation(e.code(), field::DISPOSITION, e.to_string())
        })?;
        inner.edit(
            Target::new(EntityKind::Interview, case),
            vec![(field::DISPOSITION.into(), FieldValue::text(d.code()))],
        )?;
        Ok(())
    }

    /// Hands the interview in. Refused (`Validation`, naming the first problem) while the form
    /// engine says it cannot be submitted: a required answer missing, a constraint broken, a
    /// roster of the wrong size.
    pub fn submit(&self, case_id: String) -> Result<InterviewView, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let view = inner.view_of(&o.form, case, o.language.as_deref())?;
        if !view.submittable {
            let (path, message) = view
                .issues
                .first()
                .map(|i| {
                    let path = view
                        .items
                        .iter()
                        .find(|x| x.item == i.item)
                        .map_or_else(|| i.item.to_string(), |x| x.path.clone());
                    (path, i.message.clone())
                })
                .unwrap_or_default();
            return Err(FieldError::validation("not_submittable", path, message));
        }
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        inner.edit(
            Target::new(EntityKind::Interview, case),
            vec![(field::ENDED_AT.into(), FieldValue::Int(now))],
        )?;
        inner.act(Target::new(EntityKind::Interview, case), OpBody::Submit)?;
        inner.save_cursor(&case_id, &None, o.language.as_deref())?;
        inner.interview_view(case, &o.form, &view, &None, o.language.as_deref())
    }

    /// The answers of a case as JSON (`{"name": value, "roster": [{"_id": …, …}]}`), for review
    /// screens and tests.
    pub fn answers_json(&self, case_id: String) -> Result<String, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(&case_id)?;
        let o = inner.open_case(&case_id)?;
        let e = inner.entity(case)?;
        Ok(session_of(&o.form, e).to_json().to_string())
    }

    /// A field of a case or listing entity as JSON text (`null` when unset), as shown.
    pub fn field(&self, id: String, field: String) -> Result<String, FieldError> {
        let inner = self.lock();
        let e = inner.entity(parse_id("id", &id)?)?;
        Ok(e.get(&field).map_or_else(|| "null".into(), value_text))
    }
}

impl FieldStore {
    fn step(&self, case_id: &str, forward: bool) -> Result<InterviewView, FieldError> {
        let mut inner = self.lock();
        let (case, _) = inner.case(case_id)?;
        let o = inner.open_case(case_id)?;
        let lang = o.language.as_deref();
        let view = inner.view_of(&o.form, case, lang)?;
        let cursor = valid_cursor(&view, o.cursor.unwrap_or_else(|| first(&view)));
        let next = match (&cursor, forward) {
            (Some(item), true) => {
                if let Some(iv) = view.items.iter().find(|i| &i.item == item)
                    && let Some(issue) = &iv.issue
                {
                    return Err(FieldError::validation(
                        issue_kind(&issue.kind),
                        &iv.path,
                        issue.message.clone(),
                    ));
                }
                navigate(&view, item, true)
            }
            (Some(item), false) => navigate(&view, item, false).or(Some(item.clone())),
            (None, true) => None,
            (None, false) => view
                .items
                .iter()
                .rev()
                .find(|i| i.relevant)
                .map(|i| i.item.clone()),
        };
        inner.save_cursor(case_id, &next, lang)?;
        inner.interview_view(case, &o.form, &view, &next, lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_paths_round_trip() {
        let form =
            sync_core::form::xlsform::read_form(&sync_core::form::household::household_workbook())
                .unwrap();
        let id = Uuid::from_u128(7);
        let cases = [
            (ItemRef::top("consent"), Some("answers/consent".to_string())),
            (
                ItemRef {
                    name: "age".into(),
                    instances: vec![id],
                },
                Some(format!("answers/members[{id}]/age")),
            ),
            // The wrong number of instances is no path.
            (ItemRef::top("age"), None),
            (ItemRef::top("no_such_question"), None),
        ];
        for (item, expected) in cases {
            let path = field_path(&form, &item);
            assert_eq!(path, expected, "{item}");
            if let Some(p) = path {
                let (chain, name) = parse_chain(p.strip_prefix(ANSWERS).unwrap()).unwrap();
                assert_eq!(name, item.name);
                assert_eq!(
                    chain.iter().map(|c| c.1).collect::<Vec<_>>(),
                    item.instances
                );
            }
        }
    }
}
