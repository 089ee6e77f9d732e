//! The tables, as diesel sees them. Written by hand to match both migration folders
//! (`server/migrations/sqlite/`, `server/migrations/postgres/`); only types every backend
//! supports: ids are UUIDs as `Text`, times are milliseconds since the Unix epoch as `BigInt`,
//! JSON documents are `Text`.

diesel::table! {
    /// Teams of field staff; a supervisor leads one, interviewers belong to one.
    teams (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Accounts. `role` is `admin`, `supervisor` or `interviewer`; `password_hash` a PHC string
    /// (Argon2id).
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        team_id -> Nullable<Text>,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Phones and other clients, registered to the user who last signed in on them.
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        registered_at -> BigInt,
        last_seen -> BigInt,
    }
}

diesel::table! {
    /// Bearer tokens, by the hex SHA-256 of the token (the token itself is never stored).
    tokens (hash) {
        hash -> Text,
        user_id -> Text,
        device_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Surveys. `settings` is a JSON object.
    projects (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        settings -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(users -> teams (team_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(tokens -> devices (device_id));

diesel::allow_tables_to_appear_in_same_query!(teams, users, devices, tokens, projects);

diesel::table! {
    /// Every processed sync operation of a project, numbered without gaps (`seq`). `device_id`
    /// and `device_seq` are set only when the operation took its device's sequence number.
    sync_log (project_id, seq) {
        project_id -> Text,
        seq -> BigInt,
        op_id -> Text,
        device_id -> Nullable<Text>,
        device_seq -> Nullable<BigInt>,
        op -> Text,
        ack -> Text,
    }
}

diesel::table! {
    /// The current state of every synced entity (`body`: the `Entity` as JSON), with the columns
    /// queries need copied out of it.
    sync_entities (project_id, id) {
        project_id -> Text,
        id -> Text,
        kind -> Text,
        scope -> Text,
        version -> BigInt,
        last_seq -> BigInt,
        ord -> Integer,
        deleted -> Bool,
        interviewer -> Nullable<Text>,
        status -> Nullable<Text>,
        area -> Nullable<Text>,
        open_conflicts -> Integer,
        body -> Text,
        /// The body's current values alone (`fields`), for coverage and exports.
        fields -> Nullable<Text>,
    }
}

diesel::table! {
    /// Refused sync operations with their reason (JSON).
    sync_refusals (project_id, seq) {
        project_id -> Text,
        seq -> BigInt,
        device_id -> Text,
        author -> Text,
        scope -> Nullable<Text>,
        op -> Text,
        reason -> Text,
    }
}

diesel::table! {
    /// The last `device_seq` processed per device and project.
    sync_devices (project_id, device_id) {
        project_id -> Text,
        device_id -> Text,
        last_seq -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sync_log, sync_entities, sync_refusals, sync_devices);

diesel::table! {
    /// Questionnaires: every uploaded version; `definition` is the form model as JSON.
    forms (project_id, form_id, version) {
        project_id -> Text,
        form_id -> Text,
        version -> Text,
        title -> Text,
        definition -> Text,
        sha256 -> Text,
        source_name -> Text,
        uploaded_by -> Text,
        uploaded_at -> BigInt,
    }
}

diesel::table! {
    /// Areas (PSUs) of a project; `body` is the listing `Area` as JSON (boundary, size, segments).
    areas (project_id, id) {
        project_id -> Text,
        id -> Text,
        code -> Text,
        name -> Text,
        stratum -> Nullable<Text>,
        body -> Text,
    }
}

diesel::table! {
    /// Frozen frames: the numbered listing as JSON and its frame hash.
    frames (project_id, id) {
        project_id -> Text,
        id -> Text,
        hash -> Text,
        dwellings -> BigInt,
        listing -> Text,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Drawn samples: the multi-stage draw as JSON.
    samples (project_id, id) {
        project_id -> Text,
        id -> Text,
        frame_id -> Text,
        form_id -> Nullable<Text>,
        draw -> Text,
        created_by -> Text,
        created_at -> BigInt,
    }
}
