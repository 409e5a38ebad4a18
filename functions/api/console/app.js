// The console's shell: sign-in, navigation, and the pages' routing
// (#/sync, #/rules/new, #/rules/{id}, #/users, #/users/{id}, #/activity,
// #/templates, #/templates/new, #/templates/{id}, #/attributes, #/domains).

import { api, clearToken, onUnauthorized, session, setToken, token } from './api.js';
import { me, setMe } from './access.js';
import {
  addressedOrg,
  completeSignIn,
  consoleAddress,
  endSessionUrl,
  isProviderAnswer,
  signInOptions,
  startSignIn,
  watchExpiry,
} from './sso.js';
import { field, fieldError, h, heading, show, toast } from './ui.js';
import { syncPage } from './sync.js';
import { ruleForm } from './rule-form.js';
import { userPage, usersPage } from './users.js';
import { activityPage } from './activity.js';
import { templateForm, templatesPage } from './templates.js';
import { attributesPage } from './attributes.js';
import { domainsPage } from './domains.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');
const who = document.getElementById('who');
let cleanup = null;
// the newest navigation: a page that finishes loading after the admin went
// elsewhere is dropped
let navigation = 0;

const domainWarnings = document.getElementById('domain-warnings');

function signedIn(yes) {
  nav.hidden = !yes;
  signOutButton.hidden = !yes;
  const m = yes ? me() : null;
  who.hidden = !m;
  who.textContent = m ? `${m.name} · ${m.role}` : '';
  document.body.dataset.role = m ? m.role : '';
  if (!yes) {
    domainWarnings.hidden = true;
    domainWarnings.replaceChildren();
  }
}

// A banner on every page while a domain's DNS record is missing (or after it
// lapsed): the admin API's domain listing gives each such domain a warning
// with the date the grace period ends and what happens then.
async function showDomainWarnings() {
  let list;
  try {
    list = await api('GET', 'domains');
  } catch {
    return;
  }
  if (!token()) return;
  const warned = (list.domains || []).filter((d) => d.warning);
  domainWarnings.replaceChildren(
    ...warned.map((d) =>
      h(
        'div',
        {
          class: 'banner',
          role: 'alert',
          id: `domain-warning-${d.domain.replace(/[^A-Za-z0-9_-]/g, '_')}`,
        },
        h('h2', { text: d.status === 'lapsed' ? `Domain ${d.domain} lapsed` : `DNS record missing for ${d.domain}` }),
        h('p', { class: 'message', text: d.warning }),
        h('p', {}, h('a', { href: '#/domains', text: 'Go to Domains' })),
      ),
    ),
  );
  domainWarnings.hidden = warned.length === 0;
}

function stopPage() {
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

// set before leaving for the provider's sign-out, read on the way back
const SIGNED_OUT = 'userSync.signedOut';

// The token form: a key (viewer, operator or admin) pasted in.
function tokenForm() {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    field('Admin token', input, "Your organization's admin token (it starts with us_admin_). It is kept in this tab only, until you sign out or close it."),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) {
      fieldError('token', 'Enter the admin token.');
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    setToken(value);
    try {
      setMe(await api('GET', 'me', { probe: true }));
      fieldError('token', '');
      toast('Signed in.');
      signedIn(true);
      if (!location.hash.startsWith('#/')) location.hash = '#/sync';
      else route();
    } catch (err) {
      clearToken();
      const why =
        err.status === 401
          ? err.detail && err.detail.startsWith('token sign-in is turned off')
            ? `${err.detail}.`
            : 'This token was not accepted. Check that you pasted the whole admin token and that it has not been revoked.'
          : err.status === 403
            ? 'This is the SCIM token. The console needs the admin token.'
            : err.detail;
      fieldError('token', why);
      input.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  return { form, focus: () => input.focus() };
}

// Without an organization in the address: where a person signing in with
// their company's identity provider names it.
function organizationForm() {
  const input = h('input', { id: 'org-id', name: 'org', type: 'text', autocomplete: 'organization', spellcheck: 'false', required: true });
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true },
    h('h2', { text: "Sign in with your company's identity provider" }),
    field('Organization ID', input, 'As in the console address your administrator gave you (…/console/?org=your-organization).'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', text: 'Continue' })),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const org = input.value.trim();
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(org)) {
      fieldError('org-id', 'Enter the organization ID: up to 40 letters, digits, hyphens or underscores.');
      input.focus();
      return;
    }
    location.assign(consoleAddress(org));
  });
  return form;
}

// The sign-in page. With an organization in the address (`?org=`), what
// that organization offers: its identity provider, and the token form unless
// it turned token sign-in off.
async function signInPage(message) {
  stopPage();
  signedIn(false);
  const mine = ++navigation;
  const org = addressedOrg();
  let options = null;
  let problem = null;
  if (org) {
    try {
      options = await signInOptions(org);
      if (!options) problem = `There is no organization "${org}". Check the console address you were given.`;
    } catch (err) {
      problem = err.message;
    }
  }
  if (mine !== navigation) return;
  const parts = [heading(options ? `Sign in to ${options.organization}` : 'Sign in to User Sync')];
  for (const text of [message, problem]) {
    if (text) parts.push(h('p', { class: 'notice', role: 'alert', text }));
  }
  let focus = null;
  if (options?.sso) {
    const sso = options.sso;
    const button = h('button', { type: 'button', class: 'primary', id: 'sso-sign-in', text: `Sign in with ${sso.name}` });
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = `Signing in with ${sso.name}…`;
      try {
        await startSignIn(org, sso);
      } catch (err) {
        button.disabled = false;
        button.textContent = `Sign in with ${sso.name}`;
        toast(`The sign-in could not start: ${err.message}`, 'error');
      }
    });
    parts.push(h('div', { class: 'card narrow' }, h('p', { class: 'hint', text: `Your company signs you in (${sso.name}). You stay signed in in this tab until you sign out or your sign-in expires.` }), h('div', { class: 'actions' }, button)));
    focus = () => button.focus();
  }
  if (!options || options.tokenSignIn) {
    const t = tokenForm();
    if (options?.sso) parts.push(h('h2', { text: 'Or sign in with a key' }));
    parts.push(t.form);
    focus = focus || t.focus;
  }
  if (!org) parts.push(organizationForm());
  show(main, ...parts);
  if (focus) focus();
}

// The single sign-on session expired: the person signs in again.
function expired() {
  const s = session();
  // a timer of an earlier session: nothing to do
  if (!s || s.expiresAt > Date.now()) return;
  clearToken();
  signInPage('Your sign-in expired. Sign in again.');
}

function signOut() {
  const end = endSessionUrl(token());
  clearToken();
  if (end) {
    // the provider signs the person out too, then sends them back here
    sessionStorage.setItem(SIGNED_OUT, '1');
    location.assign(end);
    return;
  }
  toast('Signed out.');
  signInPage();
}

// The provider's answer to a sign-in: the ID token redeemed and the person
// read (`GET /me`), or the sign-in page saying why not.
async function finishSignIn() {
  let next;
  try {
    next = await completeSignIn();
    setMe(await api('GET', 'me', { probe: true }));
  } catch (err) {
    clearToken();
    const why = err.status === 401 ? `User Sync did not accept the sign-in: ${err.detail}` : err.detail || err.message;
    signInPage(why);
    return false;
  }
  toast('Signed in.');
  watchExpiry(expired);
  location.hash = next;
  return true;
}

async function route() {
  if (isProviderAnswer()) {
    // setting the hash after it calls route again
    await finishSignIn();
    return;
  }
  if (!token()) {
    signInPage();
    return;
  }
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'sync';
  const [page, id] = hash.split('/').map(decodeURIComponent);
  stopPage();
  // after a reload (the role is kept in memory only): read it again
  if (!me()) {
    try {
      setMe(await api('GET', 'me'));
    } catch (err) {
      if (err.status === 401) return;
    }
  }
  signedIn(true);
  showDomainWarnings();
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === (page === 'rules' ? 'sync' : page)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren(h('p', { class: 'loading', text: 'Loading…' }));
  const pages = {
    sync: (view) => syncPage(view),
    rules: (view) => ruleForm(view, id && id !== 'new' ? id : null),
    users: (view) => (id ? userPage(view, id) : usersPage(view)),
    activity: (view) => activityPage(view),
    templates: (view) => (id ? templateForm(view, id === 'new' ? null : id) : templatesPage(view)),
    attributes: (view) => attributesPage(view),
    domains: (view) => domainsPage(view),
  };
  const render = pages[page] || pages.sync;
  const mine = ++navigation;
  // each page is built apart and shown once it is complete
  const view = h('div', { class: 'view' });
  let stop = null;
  try {
    stop = await render(view);
  } catch (err) {
    if (err.status === 401) return;
    view.replaceChildren(heading('Something went wrong'), h('p', { class: 'notice error', role: 'alert', text: err.detail || String(err) }));
  }
  if (mine !== navigation) {
    if (typeof stop === 'function') stop();
    return;
  }
  cleanup = stop;
  main.replaceChildren(view);
  const title = document.getElementById('page-title');
  if (title) {
    document.title = `${title.textContent} · User Sync`;
    title.focus();
  }
}

onUnauthorized(() => {
  const person = session() !== null;
  clearToken();
  signInPage(person ? 'Your sign-in is no longer accepted. Sign in again.' : 'Your session ended: the admin token is no longer accepted. Sign in again.');
});
signOutButton.addEventListener('click', signOut);
document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
if (sessionStorage.getItem(SIGNED_OUT)) {
  sessionStorage.removeItem(SIGNED_OUT);
  toast('Signed out.');
}
watchExpiry(expired);
route();
