// Account recovery on the example page: forgot password, the reset form, the e-mail
// verification landing, asking for another verification link and changing the address.
//
// The links the server mails carry their one-time token in the URL fragment
// (#reset=…, #verify-email=…, #confirm-email=…): browsers never send a fragment to a
// server nor in a Referer. This script reads it once and removes it from the address bar
// (and from history) before anything else happens, then posts it back to the API.
'use strict';

(function () {
  const ACTIONS = ['reset', 'verify-email', 'confirm-email'];
  const INVALID_LINK = 'This link is invalid, has expired or was already used. Ask for a new one.';

  /** The {action, token} of the fragment, if it carries one; the fragment is cleared. */
  function takeFragment() {
    const match = /^#([a-z-]+)=([A-Za-z0-9._~-]{1,200})$/.exec(window.location.hash);
    if (!match || !ACTIONS.includes(match[1])) return null;
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return { action: match[1], token: match[2] };
  }

  const fromLink = takeFragment();

  function page() {
    return window.AuthgatePage;
  }

  function tokenRefused(result) {
    const errors = (result.body && result.body.errors) || [];
    return result.status === 400 && errors.some((error) => error.field === 'token');
  }

  async function onForgot(event) {
    event.preventDefault();
    const { busy, send, showErrors, showBanner, clearErrors, fieldValues, $ } = page();
    const form = event.currentTarget;
    const result = await busy(form, () => send('POST', '/auth/forgot-password', fieldValues(form, ['email'])));
    if (result.status === 202) {
      clearErrors(form);
      form.reset();
      showBanner($('.form-message', form), `${result.body.message}. Check your mailbox (and its spam folder).`, 'ok');
    } else {
      showErrors(form, result);
    }
  }

  async function onReset(event) {
    event.preventDefault();
    const { busy, send, showErrors, showStatus, loadProfile, focusView, $ } = page();
    const form = event.currentTarget;
    const body = { token: form.dataset.token || '', newPassword: form.elements.namedItem('newPassword').value };
    const result = await busy(form, () => send('POST', '/auth/reset-password', body));
    if (result.status === 200) {
      form.reset();
      delete form.dataset.token;
      $('#reset-view').hidden = true;
      await loadProfile(); // every session has ended: this shows the login form
      showStatus('Your password has been changed and every device logged out. Log in with the new password.', 'ok');
      focusView('#logged-out-heading');
    } else if (tokenRefused(result)) {
      $('#reset-view').hidden = true;
      showStatus(INVALID_LINK, 'error');
    } else {
      showErrors(form, result);
    }
  }

  async function land(action, token) {
    const { send, showStatus, loadProfile, $ } = page();
    if (action === 'reset') {
      showStatus(''); // whatever the page said before is not about this link
      const form = $('#reset-form');
      form.dataset.token = token;
      $('#reset-view').hidden = false;
      $('#reset-title').focus();
      return;
    }
    const path = action === 'verify-email' ? '/auth/verify-email' : '/auth/change-email/confirm';
    const result = await send('POST', path, { token });
    if (result.status === 200) {
      await loadProfile();
      showStatus(action === 'verify-email'
        ? 'Thank you: your email address is verified.'
        : `Your email address is now ${result.body.data.email}.`, 'ok');
    } else if (tokenRefused(result)) {
      showStatus(INVALID_LINK, 'error');
    } else {
      showStatus((result.body && result.body.message) || 'Something went wrong. Please try again.', 'error');
    }
  }

  async function onRequestVerification(event) {
    const { api, showStatus } = page();
    const button = event.currentTarget;
    button.disabled = true;
    const result = await api('POST', '/auth/verify-email/request');
    button.disabled = false;
    if (result.status === 202 || result.status === 200) {
      showStatus(result.body.message, 'ok');
    } else if (result.status !== 401) {
      let message = (result.body && result.body.message) || 'Could not send the link.';
      const retryAfter = result.headers && result.headers.get('Retry-After');
      if (result.status === 429 && retryAfter) message += ` Try again in ${retryAfter} seconds.`;
      showStatus(message, 'error');
    }
  }

  async function onChangeEmail(event) {
    event.preventDefault();
    const { api, busy, showErrors, showBanner, clearErrors, fieldValues, $ } = page();
    const form = event.currentTarget;
    const body = fieldValues(form, ['newEmail', 'currentPassword']);
    const result = await busy(form, () => api('POST', '/auth/change-email', body));
    if (result.status === 202) {
      clearErrors(form);
      form.reset();
      showBanner($('.form-message', form), `${result.body.message}. Open it to finish the change.`, 'ok');
    } else if (result.status !== 401) {
      showErrors(form, result);
    }
  }

  /** Runs once app.js knows whether someone is logged in. */
  function start() {
    const { $ } = page();
    $('#forgot-form').addEventListener('submit', onForgot);
    $('#reset-form').addEventListener('submit', onReset);
    $('#verify-request-button').addEventListener('click', onRequestVerification);
    $('#change-email-form').addEventListener('submit', onChangeEmail);
    if (fromLink) land(fromLink.action, fromLink.token);
    // a link opened in this same tab only changes the fragment: no new page load
    window.addEventListener('hashchange', () => {
      const again = takeFragment();
      if (again) land(again.action, again.token);
    });
  }

  // app.js is loaded (deferred) before this file, so its page object is already here
  page().started.then(start);
})();
