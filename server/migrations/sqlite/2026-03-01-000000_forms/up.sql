-- Questionnaires uploaded to a project: every version kept, the compiled model as JSON.
CREATE TABLE forms (
    project_id TEXT NOT NULL REFERENCES projects (id),
    form_id TEXT NOT NULL,
    version TEXT NOT NULL,
    title TEXT NOT NULL,
    definition TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source_name TEXT NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, form_id, version)
);
