// Every call the dashboard makes to the server, in one place: when an endpoint changes, this is
// the only file to adjust. Responses are read defensively (a list may come bare or as
// {"items": [...]}), because some endpoints are still settling.

const TOKEN_KEY = 'mapframe.token';
const USER_KEY = 'mapframe.user';

/** An HTTP error, with the problem+json body when there is one. */
export class ApiError extends Error {
  constructor(status, problem, path) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || `http_${status}`;
    this.problem = problem || null;
    this.path = path;
  }
}

// Session storage, not local storage: the token goes away with the tab, which suits a shared
// office tablet.
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    try {
      return JSON.parse(sessionStorage.getItem(USER_KEY) || 'null');
    } catch {
      return null;
    }
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user || null));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

/** Called when the server says the token is no longer good (set by main.js). */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) {
  onUnauthorized = f;
}

/** A list from either a bare array or {"items": [...]}. */
export function items(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  return [];
}

const enc = encodeURIComponent;
const project = (p) => `/api/v1/projects/${enc(p)}`;

async function request(method, path, { body, accept = 'application/json', raw = false } = {}) {
  const headers = { Accept: accept };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      // Not JSON: the status says enough.
    }
    const error = new ApiError(res.status, problem, path);
    if (res.status === 401 && path !== '/api/v1/sessions') onUnauthorized(error);
    throw error;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  /** → {token, expires_at, user?} */
  signIn: (username, password) =>
    request('POST', '/api/v1/sessions', { body: { username, password } }),
  signOut: () => request('DELETE', '/api/v1/sessions/current'),
  me: () => request('GET', '/api/v1/me'),
  /** Page configuration: {tiles, tiles_attribution}. Needs no token. */
  config: () => request('GET', '/app/config.json').catch(() => ({})),

  /** → [{id, username, display_name, role, …}] (what this account may see) */
  users: async () => items(await request('GET', '/api/v1/users')),
  /** → {id, username, display_name, …}: one's own, one's team's, or any for administrators */
  user: (id) => request('GET', `/api/v1/users/${enc(id)}`),
  /** → [{id, code, name, …}] */
  projects: async () => items(await request('GET', '/api/v1/projects')),
  /** → CoverageReport {total, areas, interviewers, strata, flags, durations, thresholds} */
  coverage: (p) => request('GET', `${project(p)}/coverage`),
  /** → FeatureCollection; properties.layer = area | dwelling */
  coverageGeojson: (p) =>
    request('GET', `${project(p)}/coverage.geojson`, { accept: 'application/geo+json' }),
  /** → FeatureCollection; properties.layer = area | building | dwelling | … */
  listing: (p) => request('GET', `${project(p)}/listing`, { accept: 'application/geo+json' }),
  /** → [{form_id, version, title, languages, …}] */
  forms: async (p) => items(await request('GET', `${project(p)}/forms`)),
  /** → the form model {questions: [{kind, name, …}], …} */
  form: async (p, formId) => {
    const view = await request('GET', `${project(p)}/forms/${enc(formId)}`);
    return (view && view.form) || view;
  },

  /** → [{id, status, interviewer, area, version, open_conflicts}] (and the total when paged) */
  interviews: async (p, { status, area, limit = 1000 } = {}) => {
    const q = new URLSearchParams();
    if (status) q.set('status', status);
    if (area) q.set('area', area);
    q.set('limit', String(limit));
    return items(await request('GET', `${project(p)}/interviews?${q}`));
  },
  /** → the interview entity {id, version, fields, conflicts, …} */
  interview: (p, id) => request('GET', `${project(p)}/interviews/${enc(id)}`),
  approve: (p, id) => request('POST', `${project(p)}/interviews/${enc(id)}/approve`, { body: {} }),
  returnInterview: (p, id, note) =>
    request('POST', `${project(p)}/interviews/${enc(id)}/return`, { body: { note } }),
  reopen: (p, id, note) =>
    request('POST', `${project(p)}/interviews/${enc(id)}/reopen`, { body: { note } }),

  /** → [{entity_kind, entity_id, conflict, kind, key, provisional, entries: [{…, value}]}] */
  conflicts: async (p) => items(await request('GET', `${project(p)}/conflicts`)),
  /** decision: {value: v} or "keep_current" */
  resolve: (p, conflict, entity, decision) =>
    request('POST', `${project(p)}/conflicts/${enc(conflict)}/resolve`, {
      body: { entity, decision },
    }),
  /** → [{seq, device, author, scope, reason: {code, message}, op}] */
  refusals: async (p) => items(await request('GET', `${project(p)}/refusals`)),

  /** → {sample, strata: [{stratum, replicates, released, held}], releases: [{stratum, replicate, note}]} */
  reserve: (p) => request('GET', `${project(p)}/reserve`),
  /** Releases the next replicate of `stratum` (of every stratum with one left when empty). */
  releaseReserve: (p, stratum, note) =>
    request('POST', `${project(p)}/reserve/release`, { body: stratum ? { stratum, note } : { note } }),

  /** Export addresses (downloaded with the token by `download`). */
  exportInterviewsUrl: (p, formId, labels) =>
    `${project(p)}/exports/${enc(formId)}/interviews.csv` +
    (labels ? `?labels=${enc(labels)}` : ''),
  exportRepeatUrl: (p, formId, group, labels) =>
    `${project(p)}/exports/${enc(formId)}/repeats/${enc(group)}.csv` +
    (labels ? `?labels=${enc(labels)}` : ''),
  coverageGeojsonUrl: (p) => `${project(p)}/coverage.geojson`,

  /** Fetches `path` with the token and hands it to the browser as a file named `name`. */
  download: async (path, name) => {
    const res = await request('GET', path, { accept: '*/*', raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return blob.size;
  },
};
