//! `mapframe demo`: one command builds a realistic project and serves it — accounts printed, a
//! listing, a sample, the questionnaire, and fieldwork in every state, with a conflict and a
//! refused operation.

use mapframe_e2e::server::ServerProcess;
use serde_json::Value;
use std::collections::BTreeMap;

fn logins(log: &str) -> BTreeMap<String, (String, String)> {
    log.lines()
        .filter_map(|l| l.strip_prefix("[stdout] login: "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let user = w.next()?.to_string();
            let _ = w.next(); // password:
            let password = w.next()?.to_string();
            let _ = w.next(); // role:
            let role = w.next()?.to_string();
            Some((user, (password, role)))
        })
        .collect()
}

#[test]
fn demo_builds_a_project_with_fieldwork_in_every_state_and_serves_it() {
    let server =
        ServerProcess::spawn(&["demo", "--bind", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
    let accounts = logins(&server.log());
    let roles: Vec<&str> = accounts.values().map(|(_, r)| r.as_str()).collect();
    assert_eq!(accounts.len(), 6, "{}", server.log());
    assert_eq!(roles.iter().filter(|r| **r == "interviewer").count(), 4);
    assert!(roles.contains(&"supervisor") && roles.contains(&"admin"));
    for (user, (password, _)) in &accounts {
        server
            .client()
            .sign_in(user, password)
            .unwrap_or_else(|r| panic!("{user} cannot sign in: {r}"));
    }
    let (password, _) = &accounts["supervisor"];
    let sup = server.client().sign_in("supervisor", password).unwrap();
    let projects = sup.get("/api/v1/projects").json();
    let p = projects[0]["id"].as_str().unwrap().to_string();

    // A neighbourhood of about 2,000 dwellings in several areas.
    let listing = sup.get(&format!("/api/v1/projects/{p}/listing"));
    assert_eq!(listing.status, 200, "{listing}");
    let listing: Value = serde_json::from_str(&listing.text()).unwrap();
    let features = listing["features"].as_array().unwrap();
    let count = |layer: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["layer"] == layer)
            .count()
    };
    assert!(
        (1_500..=2_500).contains(&count("dwelling")),
        "{}",
        count("dwelling")
    );
    assert!(count("area") >= 4, "{}", count("area"));

    // Interviews in every state.
    let interviews = sup.get(&format!("/api/v1/projects/{p}/interviews?limit=1000"));
    assert_eq!(interviews.status, 200, "{interviews}");
    let interviews = interviews.json();
    let items = interviews["items"]
        .as_array()
        .or_else(|| interviews.as_array())
        .unwrap_or_else(|| panic!("{interviews:#}"));
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        *statuses
            .entry(i["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    for s in [
        "assigned",
        "in_progress",
        "submitted",
        "approved",
        "returned",
    ] {
        assert!(statuses.contains_key(s), "no {s} interview: {statuses:?}");
    }
    // A conflict and a refused operation.
    let conflicts = sup.get(&format!("/api/v1/projects/{p}/conflicts")).json();
    let conflicts = conflicts["items"]
        .as_array()
        .or_else(|| conflicts.as_array())
        .unwrap()
        .len();
    assert!(conflicts >= 1, "no conflict");
    let refusals = sup.get(&format!("/api/v1/projects/{p}/refusals")).json();
    let refusals = refusals["items"]
        .as_array()
        .or_else(|| refusals.as_array())
        .unwrap()
        .len();
    assert!(refusals >= 1, "no refused operation");
}
