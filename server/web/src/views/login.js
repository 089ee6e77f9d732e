// Sign in: POST /api/v1/sessions, then keep the token for this tab.

import { api, session } from '../api.js';
import { h, notice } from '../dom.js';
import { t } from '../i18n.js';

export function render(el, { onSignedIn }) {
  const status = h('div', { class: 'form-status' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary' }, t('sign_in'));
  const form = h(
    'form',
    { class: 'card login', 'data-testid': 'login-form' },
    h('h1', {}, t('sign_in')),
    h('label', {}, t('username'), username),
    h('label', {}, t('password'), password),
    button,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    notice(status, t('signing_in'));
    try {
      const s = await api.signIn(username.value.trim(), password.value);
      session.save(s.token, s.user || { username: username.value.trim() });
      onSignedIn();
    } catch (err) {
      notice(status, err.status === 401 || err.status === 422 ? t('bad_login') : t('error_msg', { error: err.message }), 'error');
      button.disabled = false;
    }
  });
  el.append(form);
  username.focus();
}
