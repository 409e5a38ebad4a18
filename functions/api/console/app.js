// The console's shell: sign-in, navigation, and the pages' routing
// (#/sync, #/rules/new, #/rules/{id}, #/users, #/users/{id}, #/activity,
// #/templates, #/templates/new, #/templates/{id}, #/attributes, #/domains).

import { api, clearToken, onUnauthorized, setToken, token } from './api.js';
import { me, setMe } from './access.js';
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

function signInPage(message) {
  stopPage();
  signedIn(false);
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
          ? 'This token was not accepted. Check that you pasted the whole admin token and that it has not been revoked.'
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
  show(
    main,
    heading('Sign in to User Sync'),
    message ? h('p', { class: 'notice', role: 'alert', text: message }) : null,
    form,
  );
  input.focus();
}

function signOut() {
  clearToken();
  toast('Signed out.');
  signInPage();
}

async function route() {
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
  clearToken();
  signInPage('Your session ended: the admin token is no longer accepted. Sign in again.');
});
signOutButton.addEventListener('click', signOut);
document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();
