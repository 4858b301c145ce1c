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
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // ---- Banners: one message on screen at a time -------------------------------------
  //
  // The page-wide #status and each form's .form-message are banners. Showing one hides
  // every other, so an old "Saved" never sits next to a new error.

  function hideBanners() {
    for (const banner of document.querySelectorAll('.banner')) {
      banner.hidden = true;
      banner.textContent = '';
    }
  }

  /** Show `message` in `banner` (an element with class "banner"), hiding all the others. */
  function showBanner(banner, message, kind) {
    hideBanners();
    if (!message) return;
    banner.textContent = message;
    banner.classList.toggle('notice-error', kind === 'error');
    banner.classList.toggle('notice-ok', kind !== 'error');
    banner.hidden = false;
  }

  function showStatus(message, kind) {
    showBanner($('#status'), message, kind);
  }

  // ---- Forms: field errors under their field, anything else in one banner ------------

  // Labels of API fields that are not inputs of the form at hand.
  const FIELD_LABELS = {
    username: 'Username',
    email: 'Email',
    fullName: 'Full name',
    avatarUrl: 'Avatar URL',
    password: 'Password',
    currentPassword: 'Current password',
    newPassword: 'New password',
  };

  function clearErrors(form) {
    for (const slot of form.querySelectorAll('[data-error-for]')) slot.textContent = '';
    for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  }

  function clearAllForms() {
    for (const form of document.forms) clearErrors(form);
  }

  /** The name a person reads for API field `field`: its input's label on this form. */
  function labelOf(form, field, aliases) {
    const input = form.elements.namedItem(aliases[field] || field);
    const label = input && input.labels && input.labels[0];
    if (label) return label.textContent.trim();
    return FIELD_LABELS[field] || 'The field “' + field + '”';
  }

  /** A sentence: "Full name" + "must be 1 to 100 characters" → "Full name must be …". */
  function sentence(label, message) {
    const text = `${label} ${String(message || 'is invalid').trim()}`;
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }

  /**
   * Show an error envelope on a form: each field error once, under its field; whatever has
   * no field on the form goes in the form's banner. `aliases` maps API fields to inputs.
   */
  function showErrors(form, result, aliases = {}) {
    clearErrors(form);
    const body = result.body || {};
    const errors = Array.isArray(body.errors) ? body.errors : [];
    const unplaced = [];
    let firstInvalid = null;
    for (const error of errors) {
      const field = String(error.field || '');
      const name = aliases[field] || field;
      const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
      const input = form.elements.namedItem(name);
      const text = sentence(labelOf(form, field, aliases), error.message);
      if (slot && input) {
        slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
        input.setAttribute('aria-invalid', 'true');
        firstInvalid = firstInvalid || input;
      } else {
        unplaced.push(text);
      }
    }
    let banner = '';
    if (unplaced.length) {
      banner = unplaced.join(' ');
    } else if (!errors.length) {
      // No field errors: the envelope's message is meant for people ("Invalid user credentials").
      banner = body.message || `Something went wrong (HTTP ${result.status}). Please try again.`;
      const retryAfter = result.headers && result.headers.get('Retry-After');
      if (result.status === 429 && retryAfter) banner += ` Try again in ${retryAfter} seconds.`;
    }
    showBanner($('.form-message', form), banner, 'error');
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
    clearAllForms();
    $('#loading').hidden = true;
    $('#logged-in-view').hidden = true;
    $('#logged-out-view').hidden = false;
    // Drop the sessions list so the next person to log in here never sees the last one's.
    $('#sessions-body').replaceChildren();
    $('#sessions-table').hidden = true;
    $('#sessions-message').textContent = '';
    hideUsers();
    showStatus(message, 'error');
  }

  function renderProfile(user) {
    for (const slot of document.querySelectorAll('[data-profile]')) {
      const key = slot.dataset.profile;
      const value = user[key];
      slot.textContent = '';
      if (key === 'createdAt') {
        slot.textContent = formatTime(value);
      } else if (key === 'emailVerified') {
        slot.textContent = value ? 'Yes' : 'Not yet';
        const button = $('#verify-request-button');
        if (button) button.hidden = Boolean(value);
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
    clearAllForms();
    renderProfile(user);
    $('#loading').hidden = true;
    $('#logged-out-view').hidden = true;
    $('#logged-in-view').hidden = false;
    loadSessions();
    if (Array.isArray(user.roles) && user.roles.includes('admin')) {
      $('#users-section').hidden = false;
      loadUsers();
    } else {
      hideUsers();
    }
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

  /** A table cell; `label` names its column when rows are stacked as cards (narrow screens). */
  function cell(label, text, className) {
    const node = element('td', text, className);
    node.dataset.label = label;
    return node;
  }

  /** The device cell: the readable name; a session from before lean sessions kept the raw
   * user agent, shown only as its tooltip. */
  function deviceCell(session) {
    const node = cell('Device', session.device || 'Unknown device', 'device');
    if (session.userAgent && session.userAgent !== session.device) node.title = session.userAgent;
    if (session.current) node.append(' ', element('span', 'This browser', 'badge'));
    return node;
  }

  function sessionRow(session) {
    const row = element('tr');
    if (session.current) row.className = 'current';
    row.append(
      deviceCell(session),
      cell('Started', formatTime(session.createdAt), 'time'),
      cell('Last used', formatTime(session.lastUsedAt), 'time'),
      cell('IP address', session.ip || '—', 'mono'),
    );
    const actions = cell('', undefined, 'session-actions');
    const revoke = element('button', session.current ? 'Log out' : 'Revoke', 'secondary small');
    revoke.type = 'button';
    revoke.setAttribute('aria-label', session.current
      ? 'Revoke this browser\'s session (log out)'
      : `Revoke the session of ${session.device || 'a device'} started ${formatTime(session.createdAt)}`);
    revoke.addEventListener('click', () => revokeSession(session, revoke));
    actions.append(revoke);
    row.append(actions);
    return row;
  }

  /** (Re)load the sessions list; `note` ("Session revoked.") goes before the count. */
  async function loadSessions(note = '') {
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
    tbody.replaceChildren(...sessions.map(sessionRow));
    table.hidden = sessions.length === 0;
    const count = sessions.length === 1 ? '1 active session.' : `${sessions.length} active sessions.`;
    message.textContent = note ? `${note} ${count}` : count;
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
        // Said next to the list, where the person is looking, not in a banner off screen.
        hideBanners();
        loadSessions(`Session on ${session.device || 'the other device'} revoked.`);
      }
    } else if (result.status !== 401) {
      $('#sessions-message').textContent = (result.body && result.body.message) || 'Could not revoke the session.';
      if (result.status === 404) loadSessions();
    }
  }

  // ---- Users (admins only) ------------------------------------------------------------

  const USERS_PAGE = 20;
  let usersNext = null; // the cursor of the next page, null at the end

  /** Hide and empty the users list (logged out, or not an admin). */
  function hideUsers() {
    usersNext = null;
    $('#users-section').hidden = true;
    $('#users-body').replaceChildren();
    $('#users-table').hidden = true;
    $('#users-more').hidden = true;
    $('#users-message').textContent = '';
  }

  function userRow(user) {
    const row = element('tr');
    const roles = Array.isArray(user.roles) && user.roles.length ? user.roles.join(', ') : '—';
    row.append(
      cell('Username', user.username, 'mono'),
      cell('Full name', user.fullName || '—'),
      cell('Email', user.email || '—'),
      cell('Roles', roles),
      cell('Member since', formatTime(user.createdAt), 'time'),
    );
    return row;
  }

  /** Load the first page of users, or (`more`) the page after the ones on screen. */
  async function loadUsers(more = false) {
    const message = $('#users-message');
    const table = $('#users-table');
    const tbody = $('#users-body');
    const moreButton = $('#users-more');
    let path = `/admin/users?limit=${USERS_PAGE}`;
    if (more && usersNext !== null) path += `&after=${encodeURIComponent(usersNext)}`;
    message.textContent = 'Loading users…';
    moreButton.disabled = true;
    const result = await api('GET', path);
    moreButton.disabled = false;
    const data = result.body && result.body.data;
    if (result.status !== 200 || !data || !Array.isArray(data.users)) {
      if (result.status === 401) return;
      if (result.status === 403) {
        hideUsers(); // the admin role was taken away
        return;
      }
      message.textContent = (result.body && result.body.message) || 'Could not load the users.';
      return;
    }
    const rows = data.users.map(userRow);
    if (more) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    usersNext = typeof data.next === 'string' ? data.next : null;
    moreButton.hidden = usersNext === null;
    const shown = tbody.children.length;
    table.hidden = shown === 0;
    const count = shown === 1 ? '1 user' : `${shown} users`;
    message.textContent = usersNext === null ? `${count}.` : `${count} so far.`;
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
      showBanner($('.form-message', login), `Registered as ${result.body.data.username}. You can log in now.`, 'ok');
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
      showBanner($('.form-message', form), result.body.message || 'Settings saved.', 'ok');
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

  // settled once the page knows whether someone is logged in: recovery.js waits for it
  // (a deferred script runs before DOMContentLoaded, and the profile may arrive before
  // the next script has even been downloaded, so neither file may count on the other's
  // timing)
  let markStarted;
  const started = new Promise((resolve) => { markStarted = resolve; });

  function start() {
    $('#register-form').addEventListener('submit', onRegister);
    $('#login-form').addEventListener('submit', onLogin);
    $('#settings-form').addEventListener('submit', onSaveSettings);
    const logout = $('#logout-button');
    logout.addEventListener('click', () => onLogout('/auth/logout', logout));
    const logoutAll = $('#logout-all-button');
    logoutAll.addEventListener('click', () => onLogout('/auth/logout-all', logoutAll));
    $('#sessions-reload').addEventListener('click', () => loadSessions());
    $('#users-reload').addEventListener('click', () => loadUsers());
    $('#users-more').addEventListener('click', () => loadUsers(true));
    markStarted(loadProfile());
  }

  // what recovery.js builds on
  window.AuthgatePage = {
    $, api, send, busy, showErrors, showBanner, showStatus, clearErrors, fieldValues,
    focusView, loadProfile, renderProfile, started,
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
