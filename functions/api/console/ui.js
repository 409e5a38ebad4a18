// Small DOM helpers: elements, messages, dialogs, field errors.

/**
 * Builds an element. `attrs`: `class`, `text`, `on<event>` handlers,
 * booleans (set when true), anything else as an attribute. Children:
 * nodes, strings, arrays; null and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected') el[k] = Boolean(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** Replaces `el`'s children, skipping null and false as `h` does (the DOM's own `replaceChildren` would show them as text). */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let toastTimer;
/** Says what an action did, in the live region (`kind`: ok, error, info). */
export function toast(message, kind = 'ok') {
  const t = document.getElementById('toast');
  t.className = `toast show ${kind}`;
  t.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.className = 'toast';
    t.textContent = '';
  }, kind === 'error' ? 12000 : 6000);
}

/**
 * A modal dialog: `body` nodes, `buttons` [{label, value, kind}]. Resolves
 * with the value of the button pressed (Escape: null).
 */
export function dialog(title, body, buttons) {
  const d = document.getElementById('dialog');
  const opener = document.activeElement;
  d.replaceChildren(
    h('h2', { id: 'dialog-title', text: title }),
    // focusable, so that a keyboard can scroll a long preview
    h('div', { class: 'dialog-body', id: 'dialog-body', tabindex: '0', role: 'region', 'aria-labelledby': 'dialog-title' }, body),
    h(
      'div',
      { class: 'actions' },
      buttons.map((b) =>
        h('button', { type: 'button', class: b.kind || 'secondary', 'data-value': String(b.value), text: b.label }),
      ),
    ),
  );
  return new Promise((resolve) => {
    const done = (value) => {
      d.removeEventListener('cancel', onCancel);
      d.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(value);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(null);
    };
    d.addEventListener('cancel', onCancel);
    d.querySelectorAll('.actions button').forEach((b, i) => b.addEventListener('click', () => done(buttons[i].value)));
    d.showModal();
    const first = d.querySelector('.actions button');
    if (first) first.focus();
  });
}

/** Asks to confirm; resolves true or false. */
export async function confirmAction(title, message, confirmLabel, danger = false) {
  const v = await dialog(title, [].concat(message).map((m) => (m instanceof Node ? m : h('p', { text: m }))), [
    { label: confirmLabel, value: true, kind: danger ? 'danger' : 'primary' },
    { label: 'Cancel', value: false },
  ]);
  return v === true;
}

/** Shows `message` next to the control `id` (its `-error` element), or clears it. */
export function fieldError(id, message) {
  const control = document.getElementById(id);
  const slot = document.getElementById(`${id}-error`);
  if (!slot) return false;
  slot.textContent = message || '';
  slot.hidden = !message;
  if (control) {
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
  return true;
}

/** The element that holds a control's error: referenced by aria-describedby. */
export function errorSlot(id) {
  return h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
}

/** A labelled field: label, control, hint, error slot. */
export function field(label, control, hint) {
  const id = control.id;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, `${id}-error`].filter(Boolean).join(' '));
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, text: label }),
    hint ? h('p', { id: hintId, class: 'hint', text: hint }) : null,
    control,
    errorSlot(id),
  );
}

/** A hidden "Load more" button that runs `loadNext`, one page at a time. */
export function loadMoreButton(id, loadNext) {
  const more = h('button', { type: 'button', class: 'secondary', id, text: 'Load more', hidden: true });
  more.addEventListener('click', async () => {
    if (more.disabled) return;
    more.disabled = true;
    try {
      await loadNext();
    } finally {
      more.disabled = false;
    }
  });
  return more;
}

/** Appends a page's rows; after "Load more" (not `reset`) the first new row takes the focus, as the button may go. */
export function appendRows(body, rows, reset) {
  body.append(...rows);
  if (!reset && rows[0]) {
    rows[0].tabIndex = -1;
    rows[0].focus();
  }
}

/** A time as the admin's browser shows it. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export const FAILURE_TITLES = {
  out_of_licenses: 'Out of licenses',
  existing_account: 'Account exists elsewhere',
  invalid_user_data: 'Invalid user data',
  product_api_unavailable: 'Product service unavailable',
  email_failed: 'Welcome email not sent',
  unverified_domain: 'Email domain not verified',
};

/** A user's sync status in words: the same in the counts, the users list and the user's page. */
export const SYNC_STATUS = {
  in_sync: 'In sync',
  pending: 'Pending',
  failed: 'Failed',
  suspended: 'Suspended',
  no_rule: 'No rule — no account',
  inactive: 'Inactive — no account',
  not_synced: 'Not synced',
};

/** Why an assignment suspends the user's account. */
export const SUSPEND_REASONS = {
  inactive: 'inactive in the directory',
  deleted: 'deleted in the directory',
  no_matching_rule: 'no rule matches the user',
};

/** A status pill. */
export function pill(text, kind) {
  return h('span', { class: `pill ${kind || ''}`, text });
}

/** The admin role as words. */
export function roleText(role) {
  if (!role) return 'Not set';
  if (role.type === 'full_admin') return 'Full access';
  if (role.type === 'manager') return 'Manager';
  return 'No admin rights';
}

/** A page's heading, focused for screen readers and keyboards. */
export function heading(text) {
  return h('h1', { tabindex: '-1', id: 'page-title', text });
}

/** Reports an error of a call: as a field error when it names a field, else as a message. */
export function report(err, fields = {}, fallbackId) {
  const detail = err.detail || String(err);
  const m = /^([A-Za-z]+)(?:[.\[][^:]*)?:\s/.exec(detail);
  if (m && fields[m[1]] && fieldError(fields[m[1]], detail)) {
    document.getElementById(fields[m[1]])?.focus();
    toast('Please correct the field marked below.', 'error');
    return;
  }
  if (fallbackId && fieldError(fallbackId, detail)) {
    toast(detail, 'error');
    return;
  }
  toast(detail, 'error');
}

/** A role as the product API names it (`none`, `full_admin`, `manager`) in words. */
export function roleName(name) {
  return name ? roleText({ type: name }) : 'Not set';
}

let languageNames = null;
/** A language tag in words ("de" → "German"), in the console's language; the tag when the browser does not know it. */
export function languageName(tag) {
  if (!tag) return '';
  try {
    languageNames ||= new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });
    return languageNames.of(tag) || tag;
  } catch {
    return tag;
  }
}
