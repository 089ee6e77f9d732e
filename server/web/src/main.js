// The dashboard's shell: sign-in state, the header, the project's tabs and hash routing
// (`#/projects`, `#/p/<project>/<view>`). Hash routes keep every view a bookmark without the
// server having to know the views.

import { api, session, setUnauthorizedHandler } from './api.js';
import { h, fill, notice } from './dom.js';
import { t, language, setLanguage, LANGUAGES } from './i18n.js';
import * as login from './views/login.js';
import * as projects from './views/projects.js';
import * as overview from './views/overview.js';
import * as map from './views/map.js';
import * as interviewers from './views/interviewers.js';
import * as review from './views/review.js';
import * as conflicts from './views/conflicts.js';
import * as refusals from './views/refusals.js';
import * as reserve from './views/reserve.js';
import * as exports_ from './views/exports.js';

const VIEWS = {
  overview,
  map,
  interviewers,
  review,
  conflicts,
  refusals,
  reserve,
  exports: exports_,
};

const root = document.getElementById('app');
let cleanup = null;
let config = {};
let projectList = null;
let flash = null;

/** The current route: {name, project?, view?}. */
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'p' && parts[1]) return { name: 'project', project: parts[1], view: parts[2] || 'overview' };
  if (parts[0] === 'login') return { name: 'login' };
  return { name: 'projects' };
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function header(r) {
  const user = session.user;
  const project = r.project && projectList && projectList.find((p) => p.id === r.project || p.code === r.project);
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/projects' }, 'mapframe'),
    project ? h('span', { class: 'project-name', 'data-testid': 'project-name' }, project.name) : null,
    h('span', { class: 'spacer' }),
    h(
      'label',
      { class: 'lang' },
      h('span', { class: 'sr-only' }, t('language')),
      h(
        'select',
        {
          'data-testid': 'language',
          'aria-label': t('language'),
          onchange: (e) => {
            setLanguage(e.target.value);
            render();
          },
        },
        LANGUAGES.map(([code, name]) => h('option', { value: code, selected: code === language() }, name)),
      ),
    ),
    user
      ? h(
          'button',
          { class: 'quiet', 'data-testid': 'sign-out', onclick: signOut },
          `${user.display_name || user.username || ''} · ${t('sign_out')}`,
        )
      : null,
  );
}

function tabs(r) {
  return h(
    'nav',
    { class: 'tabs', 'aria-label': t('projects') },
    Object.keys(VIEWS).map((v) =>
      h(
        'a',
        {
          href: `#/p/${encodeURIComponent(r.project)}/${v}`,
          class: v === r.view ? 'active' : '',
          'aria-current': v === r.view ? 'page' : null,
          'data-testid': `tab-${v}`,
        },
        t(`nav_${v}`),
      ),
    ),
  );
}

async function signOut() {
  try {
    await api.signOut();
  } catch {
    // Signed out locally either way.
  }
  session.clear();
  projectList = null;
  go('#/login');
}

async function render() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // A view that failed to clean up must not block the next one.
    }
    cleanup = null;
  }
  document.title = t('app_title');
  let r = route();
  if (!session.token && r.name !== 'login') {
    location.hash = '#/login';
    return;
  }
  const main = h('main', { id: 'view', tabindex: '-1' });
  const message = flash;
  flash = null;
  if (r.name === 'login') {
    fill(root, header(r), main);
    if (message) main.append(h('p', { class: 'notice info' }, message));
    cleanup = login.render(main, { onSignedIn: () => go('#/projects') });
    return;
  }
  if (!projectList) {
    try {
      projectList = await api.projects();
    } catch (e) {
      fill(root, header(r), main);
      notice(main, t('failed', { error: e.message }), 'error');
      return;
    }
  }
  if (r.name === 'projects') {
    fill(root, header(r), main);
    cleanup = projects.render(main, { projects: projectList });
    return;
  }
  if (!VIEWS[r.view]) r = { ...r, view: 'overview' };
  const project = projectList.find((p) => p.id === r.project || p.code === r.project);
  fill(root, header(r), tabs(r), main);
  if (!project) {
    notice(main, t('failed', { error: r.project }), 'error');
    return;
  }
  cleanup = VIEWS[r.view].render(main, { project: project.id, config, refresh: render }) || null;
}

setUnauthorizedHandler(() => {
  session.clear();
  projectList = null;
  flash = t('session_over');
  if (route().name !== 'login') location.hash = '#/login';
});

setLanguage(language());
window.addEventListener('hashchange', render);
api.config().then((c) => {
  config = c || {};
  render();
});
