//! A contract server for the phone library's tests: the HTTP routes a phone uses (sign-in, sync
//! push and pull, forms, areas) over sync-core's reference log (`MemoryLog`), on loopback, with
//! faults on demand. It speaks the same contract as `mapframe serve`, so the library's sync is
//! tested here without the real server; the Python field-day scenario runs against the real one
//! where it has these endpoints.
//!
//! Test-only routes: `POST /test/fault` (`{"kind": "down" | "drop_after_push" | "error_503",
//! "count": n}`), `GET /test/entity/<id>` (the server's state of an entity),
//! `GET /test/stats` (operations received and stored).
#![allow(dead_code)]

use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use sync_core::fieldwork::{self, CaseFields, field};
use sync_core::form::household::household_workbook;
use sync_core::form::xlsform::read_form;
use sync_core::listing::Listing;
use sync_core::sync::log::{MemoryLog, Principal, Scope};
use sync_core::sync::wire::Message;
use sync_core::sync::{
    DeviceId, EntityKind, FieldValue, Hlc, MergeContext, OpBody, OpId, Operation, PullRequest,
    PushRequest, Role, Target, UserId, decode_binary, decode_json, encode_binary, encode_json,
    pull, push,
};
use uuid::Uuid;

/// A user of the contract server.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub id: Uuid,
    pub role: Role,
}

/// What the server holds.
#[derive(Debug, Default)]
pub struct State {
    pub log: MemoryLog,
    pub users: Vec<User>,
    /// Areas and cases per interviewer.
    pub scopes: BTreeMap<Uuid, BTreeSet<Uuid>>,
    pub form: Json,
    pub areas_geojson: String,
    /// Faults to inject: (kind, remaining count).
    pub fault: Option<(String, u32)>,
    pub ops_received: u64,
    pub requests: u64,
    seq: u64,
}

/// A running contract server (stops when dropped: the listener thread is detached and idle).
#[derive(Debug)]
pub struct ContractServer {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    /// The project's id in URLs.
    pub project: String,
    pub area: Uuid,
    pub area_code: String,
    pub cases: Vec<Uuid>,
}

const SERVER_DEVICE: Uuid = Uuid::from_u128(0x5e);
const ADMIN: Uuid = Uuid::from_u128(0xad);

impl State {
    /// The server's own operation (imports, sample draws).
    fn seed(
        &mut self,
        kind: EntityKind,
        id: Uuid,
        scope: Uuid,
        fields: BTreeMap<String, FieldValue>,
    ) {
        self.seq += 1;
        let op = Operation {
            op_id: OpId::from_uuid(Uuid::from_u128(0x1_0000_0000 + u128::from(self.seq))),
            device_id: DeviceId::from_uuid(SERVER_DEVICE),
            device_seq: self.seq,
            author: UserId::from_uuid(ADMIN),
            role: Role::Admin,
            hlc: Hlc::at(1_700_000_000_000 + self.seq),
            target: Target::new(kind, id),
            base_version: 0,
            body: OpBody::Create { scope, fields },
            extra: Default::default(),
        };
        let who = Principal {
            user: UserId::from_uuid(ADMIN),
            device: DeviceId::from_uuid(SERVER_DEVICE),
            role: Role::Admin,
            scope: Scope::All,
        };
        let req = PushRequest {
            version: 1,
            device_id: who.device,
            ops: vec![op],
            extra: Default::default(),
        };
        push(&mut self.log, &who, &req, &MergeContext::default()).expect("seed");
    }
}

impl ContractServer {
    /// A project with one area of a synthetic city (its buildings and dwellings listed), two
    /// sampled dwellings as cases for `int1`, and the household form. Users: `int1` and `int2`
    /// (interviewers, password `pw`), `sup` (supervisor).
    pub fn start() -> ContractServer {
        let city: Listing = sync_core::synthetic::city(&sync_core::synthetic::CityOptions {
            areas: 1,
            buildings_per_area: 6,
            dwellings_per_building: 4,
            ..Default::default()
        });
        let area = city.areas[0].clone();
        let mut st = State::default();
        let int1 = Uuid::from_u128(0x1001);
        let int2 = Uuid::from_u128(0x1002);
        st.users = vec![
            User {
                name: "int1".into(),
                password: "pw".into(),
                id: int1,
                role: Role::Interviewer,
            },
            User {
                name: "int2".into(),
                password: "pw".into(),
                id: int2,
                role: Role::Interviewer,
            },
            User {
                name: "sup".into(),
                password: "pw".into(),
                id: Uuid::from_u128(0x2001),
                role: Role::Supervisor,
            },
        ];
        let code = area.code.clone();
        for b in &city.buildings {
            st.seed(
                EntityKind::Building,
                b.id.uuid(),
                area.id.uuid(),
                fieldwork::building(b, &code),
            );
        }
        for d in &city.dwellings {
            st.seed(
                EntityKind::Dwelling,
                d.id.uuid(),
                area.id.uuid(),
                fieldwork::dwelling(d, &code),
            );
        }
        let mut cases = Vec::new();
        let occupied: Vec<_> = city
            .dwellings
            .iter()
            .filter(|d| d.occupancy == sync_core::listing::Occupancy::Occupied)
            .take(2)
            .collect();
        for (k, d) in occupied.iter().enumerate() {
            let case = Uuid::from_u128(0xca5e_0000 + k as u128);
            let mut fields = CaseFields {
                area: area.id.uuid().to_string(),
                area_code: code.clone(),
                dwelling: d.id.uuid().to_string(),
                form: Some("household_2026".into()),
                stratum: "urban".into(),
                psu: code.clone(),
                stage_probs: vec![0.1, 0.2],
                base_weight: 50.0,
                listing_number: d.listing_number,
                ..Default::default()
            }
            .fields();
            fields.insert(
                field::INTERVIEWER.into(),
                FieldValue::text(int1.to_string()),
            );
            st.seed(EntityKind::Interview, case, case, fields);
            cases.push(case);
        }
        let assignment = Uuid::from_u128(0xa551);
        let mut af = BTreeMap::new();
        af.insert(
            field::INTERVIEWER.to_string(),
            FieldValue::text(int1.to_string()),
        );
        af.insert(
            field::AREA.to_string(),
            FieldValue::text(area.id.uuid().to_string()),
        );
        af.insert(field::AREA_CODE.to_string(), FieldValue::text(code.clone()));
        af.insert(field::TASK.to_string(), FieldValue::text("interviewing"));
        st.seed(EntityKind::Assignment, assignment, area.id.uuid(), af);
        let mut scope: BTreeSet<Uuid> = cases.iter().copied().collect();
        scope.insert(area.id.uuid());
        st.scopes.insert(int1, scope.clone());
        st.scopes.insert(int2, scope);
        let form = read_form(&household_workbook()).expect("household form");
        st.form = json!({
            "form_id": form.settings.form_id,
            "version": form.settings.version,
            "form": serde_json::to_value(&form).unwrap(),
        });
        st.areas_geojson = json!({
            "type": "FeatureCollection",
            "features": [{
                "type": "Feature",
                "properties": {"layer": "area", "code": code, "name": "Test community"},
                "geometry": area.boundary.as_ref().map(|b| serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(b))).unwrap()),
            }]
        })
        .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(st));
        let s2 = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = s2.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &s);
                });
            }
        });
        ContractServer {
            url,
            state,
            project: "demo".into(),
            area: area.id.uuid(),
            area_code: code,
            cases,
        }
    }

    /// Injects a fault for the next `count` requests of its kind.
    pub fn fault(&self, kind: &str, count: u32) {
        self.state.lock().unwrap().fault = Some((kind.into(), count));
    }

    /// The server's state of a field.
    pub fn field(&self, id: Uuid, field: &str) -> Option<FieldValue> {
        self.state
            .lock()
            .unwrap()
            .log
            .get(id)
            .and_then(|e| e.get(field).cloned())
    }
}

struct Request {
    method: String,
    path: String,
    content_type: String,
    auth: String,
    body: Vec<u8>,
}

fn read_request(conn: &mut TcpStream) -> std::io::Result<Request> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut len = 0usize;
    let mut content_type = String::new();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let v = v.trim().to_string();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "content-type" => content_type = v,
                "authorization" => auth = v,
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        content_type,
        auth,
        body,
    })
}

fn respond(
    conn: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(body)?;
    conn.flush()
}

fn problem(conn: &mut TcpStream, status: u16, code: &str) -> std::io::Result<()> {
    let body = json!({"code": code, "title": code, "detail": code}).to_string();
    respond(conn, status, "application/problem+json", body.as_bytes())
}

fn decode<M: Message>(req: &Request) -> Option<M> {
    if req.content_type.contains("cbor") {
        decode_binary(&req.body).ok()
    } else {
        decode_json(&req.body).ok()
    }
}

fn encode<M: Message>(req: &Request, m: &M) -> (String, Vec<u8>) {
    if req.content_type.contains("cbor") {
        (
            "application/vnd.mapframe.sync+cbor".into(),
            encode_binary(m).unwrap(),
        )
    } else {
        (
            "application/json".into(),
            encode_json(m).unwrap().into_bytes(),
        )
    }
}

fn take_fault(st: &mut State, kind: &str) -> bool {
    match &mut st.fault {
        Some((k, n)) if k == kind && *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

fn serve(mut conn: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let req = read_request(&mut conn)?;
    let mut st = state.lock().unwrap();
    st.requests += 1;
    if req.path.starts_with("/test/") {
        return test_route(&mut conn, &mut st, &req);
    }
    if take_fault(&mut st, "down") {
        // As if nobody listened: close without a word.
        return Ok(());
    }
    if take_fault(&mut st, "error_503") {
        return problem(&mut conn, 503, "unavailable");
    }
    if req.method == "POST" && req.path == "/api/v1/sessions" {
        let v: Json = serde_json::from_slice(&req.body).unwrap_or_default();
        let u = st.users.iter().find(|u| {
            Some(u.name.as_str()) == v["username"].as_str()
                && Some(u.password.as_str()) == v["password"].as_str()
        });
        return match u {
            Some(u) => {
                let body = json!({
                    "token": format!("tok-{}", u.name),
                    "token_type": "Bearer",
                    "expires_at": "2099-01-01T00:00:00Z",
                    "user": {"id": u.id.to_string(), "username": u.name, "role": u.role.as_str()},
                });
                respond(
                    &mut conn,
                    201,
                    "application/json",
                    body.to_string().as_bytes(),
                )
            }
            None => problem(&mut conn, 401, "bad_credentials"),
        };
    }
    let Some(user) = st
        .users
        .iter()
        .find(|u| req.auth == format!("Bearer tok-{}", u.name))
        .cloned()
    else {
        return problem(&mut conn, 401, "unauthenticated");
    };
    let sync_path = |what: &str| format!("/api/v1/projects/demo/sync/{what}");
    if req.method == "POST" && req.path == sync_path("push") {
        let Some(p) = decode::<PushRequest>(&req) else {
            return problem(&mut conn, 400, "malformed");
        };
        st.ops_received += p.ops.len() as u64;
        let who = principal(&st, &user, p.device_id);
        let ack = push(&mut st.log, &who, &p, &MergeContext::default()).expect("push");
        if take_fault(&mut st, "drop_after_push") {
            // Stored, then the process "died" before answering.
            return Ok(());
        }
        let (ct, body) = encode(&req, &ack);
        return respond(&mut conn, 200, &ct, &body);
    }
    if req.method == "POST" && req.path == sync_path("pull") {
        let Some(p) = decode::<PullRequest>(&req) else {
            return problem(&mut conn, 400, "malformed");
        };
        let who = principal(&st, &user, p.device_id);
        let resp = pull(&st.log, &who, &p).expect("pull");
        let (ct, body) = encode(&req, &resp);
        return respond(&mut conn, 200, &ct, &body);
    }
    if req.method == "GET"
        && req
            .path
            .starts_with("/api/v1/projects/demo/forms/household_2026")
    {
        let body = st.form.to_string();
        return respond(&mut conn, 200, "application/json", body.as_bytes());
    }
    if req.method == "GET" && req.path == "/api/v1/projects/demo/areas" {
        let body = st.areas_geojson.clone();
        return respond(&mut conn, 200, "application/geo+json", body.as_bytes());
    }
    problem(&mut conn, 404, "not_found")
}

fn principal(st: &State, user: &User, device: DeviceId) -> Principal {
    Principal {
        user: UserId::from_uuid(user.id),
        device,
        role: user.role.clone(),
        scope: if user.role.supervises() {
            Scope::All
        } else {
            Scope::Keys(st.scopes.get(&user.id).cloned().unwrap_or_default())
        },
    }
}

fn test_route(conn: &mut TcpStream, st: &mut State, req: &Request) -> std::io::Result<()> {
    if req.path == "/test/fault" {
        let v: Json = serde_json::from_slice(&req.body).unwrap_or_default();
        st.fault = Some((
            v["kind"].as_str().unwrap_or_default().to_string(),
            v["count"].as_u64().unwrap_or(1) as u32,
        ));
        return respond(conn, 200, "application/json", b"{}");
    }
    if req.path == "/test/stats" {
        let ops = st.log.log().len();
        let distinct: BTreeSet<_> = st.log.log().iter().map(|(_, o)| o.op_id).collect();
        let body = json!({
            "ops_received": st.ops_received,
            "ops_stored": ops,
            "distinct_ops": distinct.len(),
            "requests": st.requests,
        });
        return respond(conn, 200, "application/json", body.to_string().as_bytes());
    }
    if let Some(id) = req.path.strip_prefix("/test/entity/") {
        let e = Uuid::parse_str(id).ok().and_then(|id| st.log.get(id));
        let body = serde_json::to_string(&e).unwrap();
        return respond(conn, 200, "application/json", body.as_bytes());
    }
    problem(conn, 404, "not_found")
}
