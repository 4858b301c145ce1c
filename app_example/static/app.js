// The example page of authgate.
//
// Tokens live only in the HttpOnly cookies the server sets: this script never sees one,
// ignores the tokens in the login response body and stores nothing in the browser.
// Every request goes with credentials: 'same-origin' so the browser attaches the cookies.
'use strict';

(function () {
  const JSON_HEADERS = { Accept: 'application/json', 'Content-Type': 'application/json' };

  // ---- HTTP --------------------------------------------------------------------------

  /** Send one request; resolve to {status, body, headers} (body is the envelope or null). */
  async function send(method, path, payload) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (payload !== undefined) {
      init.headers = JSON_HEADERS;
      init.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      return { status: 0, body: { message: 'Cannot reach the server. Check your connection.', errors: [] } };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { status: response.status, body, headers: response.headers };
  }

  // One refresh at a time: parallel 401s share it, so the rotating refresh token is
  // presented once and not mistaken for a replay.
  let refreshing = null;

  /** POST /auth/refresh-token (the refresh cookie has Path=/auth); true when it worked. */
  function refreshTokens() {
    if (refreshing === null) {
      refreshing = send('POST', '/auth/refresh-token')
        .then((result) => result.status === 200)
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  }

  /**
   * An authenticated API call. On 401 it refreshes once and retries; if that fails too,
   * the logged-out view is shown and the 401 result is returned.
   */
  async function api(method, path, payload) {
    let result = await send(method, path, payload);
    if (result.status === 401) {
      if (await refreshTokens()) {
        result = await send(method, path, payload);
      }
      if (result.status === 401) {
        const wasLoggedIn = !$('#logged-in-view').hidden;
        showLoggedOut(wasLoggedIn ? 'Your session has ended. Please log in again.' : '');
      }
    }
    return result;
  }

  // ---- Small DOM helpers (textContent only: server data is never parsed as HTML) -----

  const $ = (selector, root = document) => root.querySelector(selector);

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function formatTime(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  function showStatus(message, kind) {
    const status = $('#status');
    if (!message) {
      status.hidden = true;
      status.textContent = '';
      return;
    }
    status.textContent = message;
    status.className = 'notice' + (kind === 'error' ? ' notice-error' : ' notice-ok');
    status.hidden = false;
  }

  // ---- Forms: the envelope's message and per-field errors next to the form ----------

  function clearErrors(form) {
    const message = $('.form-message', form);
    message.hidden = true;
    message.textContent = '';
    for (const slot of form.querySelectorAll('[data-error-for]')) slot.textContent = '';
    for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  }

  /** Show an error envelope on a form; `aliases` maps API field names to form fields. */
  function showErrors(form, result, aliases = {}) {
    clearErrors(form);
    const body = result.body || {};
    const unplaced = [];
    let firstInvalid = null;
    for (const error of Array.isArray(body.errors) ? body.errors : []) {
      const name = aliases[error.field] || error.field;
      const slot = form.querySelector(`[data-error-for="${CSS.escape(String(name))}"]`);
      const input = form.elements.namedItem(name);
      if (slot && input) {
        slot.textContent = slot.textContent ? `${slot.textContent}; ${error.message}` : error.message;
        input.setAttribute('aria-invalid', 'true');
        firstInvalid = firstInvalid || input;
      } else {
        unplaced.push(`${error.field} ${error.message}`);
      }
    }
    let text = body.message || `Request failed (HTTP ${result.status}).`;
    const retryAfter = result.headers && result.headers.get('Retry-After');
    if (result.status === 429 && retryAfter) text += ` Try again in ${retryAfter} seconds.`;
    if (unplaced.length) text += ` (${unplaced.join('; ')})`;
    const message = $('.form-message', form);
    message.textContent = text;
    message.hidden = false;
    if (firstInvalid) firstInvalid.focus();
  }

  /** Run `action` with the form marked busy and its submit button disabled. */
  async function busy(form, action) {
    const button = $('button[type="submit"]', form);
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      return await action();
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  // ---- Views ------------------------------------------------------------------------

  function showLoggedOut(message) {
    $('#loading').hidden = true;
    $('#logged-in-view').hidden = true;
    $('#logged-out-view').hidden = false;
    // Drop the sessions list so the next person to log in here never sees the last one's.
    $('#sessions-body').replaceChildren();
    $('#sessions-table').hidden = true;
    $('#sessions-message').textContent = '';
    if (message) showStatus(message, 'error');
  }

  function renderProfile(user) {
    for (const slot of document.querySelectorAll('[data-profile]')) {
      const key = slot.dataset.profile;
      const value = user[key];
      slot.textContent = '';
      if (key === 'createdAt') {
        slot.textContent = formatTime(value);
      } else if (key === 'avatarUrl' && value) {
        // A link, not an <img>: the page's CSP loads images from this origin only.
        const link = element('a', value);
        link.href = value;
        link.rel = 'noopener noreferrer nofollow';
        slot.append(link);
      } else {
        slot.textContent = value ? value : '—';
      }
    }
    const settings = $('#settings-form');
    settings.elements.namedItem('fullName').value = user.fullName || '';
    settings.elements.namedItem('avatarUrl').value = user.avatarUrl || '';
  }

  function showLoggedIn(user) {
    renderProfile(user);
    $('#loading').hidden = true;
    $('#logged-out-view').hidden = true;
    $('#logged-in-view').hidden = false;
    loadSessions();
  }

  /** Load the profile; show the logged-in view, or the logged-out one on 401. */
  async function loadProfile() {
    const result = await api('GET', '/api/profile');
    if (result.status === 200 && result.body) {
      showLoggedIn(result.body.data);
      return true;
    }
    if (result.status !== 401) {
      showLoggedOut((result.body && result.body.message) || 'Could not load your profile.');
    }
    return false;
  }

  // ---- Sessions ---------------------------------------------------------------------

  async function loadSessions() {
    const message = $('#sessions-message');
    const table = $('#sessions-table');
    const tbody = $('#sessions-body');
    message.textContent = 'Loading sessions…';
    const result = await api('GET', '/auth/sessions');
    if (result.status === 404 || result.status === 405) {
      table.hidden = true;
      message.textContent = 'Listing your sessions is not available yet on this server.';
      return;
    }
    if (result.status !== 200 || !result.body || !Array.isArray(result.body.data)) {
      table.hidden = true;
      if (result.status !== 401) {
        message.textContent = (result.body && result.body.message) || 'Could not load your sessions.';
      }
      return;
    }
    const sessions = result.body.data;
    tbody.replaceChildren();
    for (const session of sessions) {
      const row = element('tr');
      if (session.current) row.className = 'current';
      row.append(
        element('td', formatTime(session.createdAt)),
        element('td', formatTime(session.lastUsedAt)),
        element('td', session.ip || '—', 'mono'),
        element('td', session.userAgent || '—', 'user-agent'),
      );
      const actions = element('td');
      if (session.current) actions.append(element('span', 'This browser', 'badge'));
      const revoke = element('button', session.current ? 'Log out' : 'Revoke', 'secondary small');
      revoke.type = 'button';
      revoke.setAttribute('aria-label', session.current
        ? 'Revoke this browser\'s session (log out)'
        : `Revoke the session started ${formatTime(session.createdAt)}`);
      revoke.addEventListener('click', () => revokeSession(session, revoke));
      actions.append(revoke);
      row.append(actions);
      tbody.append(row);
    }
    table.hidden = sessions.length === 0;
    message.textContent = sessions.length === 1 ? '1 active session.' : `${sessions.length} active sessions.`;
  }

  async function revokeSession(session, button) {
    button.disabled = true;
    const result = await api('DELETE', `/auth/sessions/${encodeURIComponent(session.id)}`);
    button.disabled = false;
    if (result.status === 200) {
      if (session.current) {
        showLoggedOut();
        showStatus('This browser\'s session was revoked. You are logged out.', 'ok');
        focusView('#logged-out-heading');
      } else {
        showStatus('Session revoked.', 'ok');
        loadSessions();
      }
    } else if (result.status !== 401) {
      $('#sessions-message').textContent = (result.body && result.body.message) || 'Could not revoke the session.';
      if (result.status === 404) loadSessions();
    }
  }

  // ---- Actions ----------------------------------------------------------------------

  function focusView(selector) {
    const heading = $(selector);
    if (heading) heading.focus();
  }

  function fieldValues(form, names) {
    const values = {};
    for (const name of names) values[name] = form.elements.namedItem(name).value;
    return values;
  }

  async function onRegister(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const body = fieldValues(form, ['username', 'email', 'fullName', 'password']);
    const result = await busy(form, () => send('POST', '/auth/register', body));
    if (result.status === 201) {
      clearErrors(form);
      form.reset();
      const login = $('#login-form');
      login.elements.namedItem('login').value = result.body.data.username;
      showStatus(`Registered as ${result.body.data.username}. You can log in now.`, 'ok');
      login.elements.namedItem('password').focus();
    } else {
      showErrors(form, result);
    }
  }

  async function onLogin(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const { login, password } = fieldValues(form, ['login', 'password']);
    // The API takes either `username` or `email`; an @ means the person typed an email.
    const key = login.includes('@') ? 'email' : 'username';
    const result = await busy(form, () => send('POST', '/auth/login', { [key]: login, password }));
    if (result.status === 200) {
      // The body also carries the tokens (for non-browser clients); this page ignores
      // them: the HttpOnly cookies set by the same response are all it needs.
      clearErrors(form);
      form.reset();
      showStatus(result.body.message || 'Logged in.', 'ok');
      showLoggedIn(result.body.data.user);
      focusView('#profile-title');
    } else {
      showErrors(form, result, { username: 'login', email: 'login' });
    }
  }

  async function onSaveSettings(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const body = fieldValues(form, ['fullName', 'avatarUrl']);
    body.avatarUrl = body.avatarUrl.trim();
    const result = await busy(form, () => api('PATCH', '/api/settings', body));
    if (result.status === 200) {
      clearErrors(form);
      renderProfile(result.body.data);
      showStatus(result.body.message || 'Settings saved.', 'ok');
    } else if (result.status !== 401) {
      showErrors(form, result);
    }
  }

  async function onLogout(path, button) {
    button.disabled = true;
    const result = await api('POST', path);
    button.disabled = false;
    if (result.status === 200) {
      showLoggedOut();
      const revoked = result.body && result.body.data && result.body.data.revoked;
      const suffix = typeof revoked === 'number' ? ` (${revoked} session${revoked === 1 ? '' : 's'} ended)` : '';
      showStatus(`${result.body.message || 'Logged out'}${suffix}`, 'ok');
      focusView('#logged-out-heading');
    } else if (result.status !== 401) {
      showStatus((result.body && result.body.message) || 'Could not log out.', 'error');
    }
  }

  // ---- Start ------------------------------------------------------------------------

  function start() {
    $('#register-form').addEventListener('submit', onRegister);
    $('#login-form').addEventListener('submit', onLogin);
    $('#settings-form').addEventListener('submit', onSaveSettings);
    const logout = $('#logout-button');
    logout.addEventListener('click', () => onLogout('/auth/logout', logout));
    const logoutAll = $('#logout-all-button');
    logoutAll.addEventListener('click', () => onLogout('/auth/logout-all', logoutAll));
    $('#sessions-reload').addEventListener('click', loadSessions);
    loadProfile();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
