// The rule form's fields that need more than a control: the products (from
// the product API, with their seats), the admin role, the lists ops sets up
// (a sentence saying who sets one up when it is empty, never a text box),
// device groups (only for products that take them) and the account's
// language (warning when the welcome email's template lacks it).

import { notSetUp, seatsText } from './catalogue.js';
import { errorSlot, h, languageName } from './ui.js';

/**
 * Checkboxes `name` in a fieldset `${name}-set`; `entries` [{id, name,
 * detail}]. With no entries, the sentence saying who sets `list` up.
 */
export function checkboxes(name, legend, entries, selected, { hint, list } = {}) {
  const id = `${name}-set`;
  return h(
    'fieldset',
    { id, class: 'checks', 'aria-describedby': `${id}-error` },
    h('legend', { text: legend }),
    hint && entries.length ? h('p', { class: 'hint', text: hint }) : null,
    entries.length
      ? entries.map((e) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, value: e.id, checked: selected.includes(e.id) }), ` ${e.name}${e.detail ? ` (${e.detail})` : ''}`))
      : h('p', { class: 'hint empty-list', text: list ? notSetUp(list) : 'None.' }),
    errorSlot(id),
  );
}

/** The ids ticked among the checkboxes `name` inside `root`. */
export function ticked(root, name) {
  return [...root.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
}

/**
 * A choice of one entry of the ops list `list` (`id`, `label`; `emptyLabel`
 * for none). With an empty list: the sentence saying who sets it up, and
 * the rule's value, if any, is dropped on saving (said so). `value()`: the
 * id chosen or null.
 */
export function opsSelect(id, label, list, cat, current, emptyLabel) {
  const entries = cat[list] || [];
  if (!entries.length) {
    const node = h(
      'fieldset',
      { id, class: 'checks', 'aria-describedby': `${id}-error` },
      h('legend', { text: label }),
      h('p', { class: 'hint empty-list', text: notSetUp(list) }),
      current ? h('p', { class: 'hint', text: `This rule names "${current}", which is not in the list: saving removes it.` }) : null,
      errorSlot(id),
    );
    return { node, value: () => null };
  }
  const select = h(
    'select',
    { id, name: id, 'aria-describedby': `${id}-error` },
    h('option', { value: '', text: emptyLabel, selected: !current }),
    entries.map((e) => h('option', { value: e.id, text: e.name, selected: e.id === current })),
    current && !entries.some((e) => e.id === current) ? h('option', { value: current, text: `${current} (not in the list)`, selected: true }) : null,
  );
  const node = h('div', { class: 'field' }, h('label', { for: id, text: label }), select, errorSlot(id));
  return { node, value: () => select.value || null };
}

/**
 * The products: checkboxes with their seats, from the product API. When it
 * could not be read, a message and **Try again** (`retry`) instead.
 * `onChange` runs when a product is ticked or unticked.
 */
export function productsField(cat, selected, { retry, onChange }) {
  const box = h('div', { id: 'products-box' });
  const render = (c) => {
    if (!c.productsAvailable) {
      const again = h('button', { type: 'button', class: 'secondary', id: 'products-retry', text: 'Try again' });
      again.addEventListener('click', async () => {
        again.disabled = true;
        try {
          await retry();
        } finally {
          again.disabled = false;
        }
      });
      box.replaceChildren(
        h(
          'fieldset',
          { id: 'products-set', class: 'checks', 'aria-describedby': 'products-set-error' },
          h('legend', { text: 'Products' }),
          h('p', { class: 'notice error', id: 'products-unavailable', text: 'The product list could not be read from the product API, so products cannot be chosen and the rule cannot be saved now. Try again in a moment.' }),
          again,
          errorSlot('products-set'),
        ),
      );
      return;
    }
    const offered = c.products || [];
    // a product the rule names that the product API no longer offers stays visible, to untick
    const gone = selected.filter((p) => !offered.some((o) => o.id === p)).map((p) => ({ id: p, name: p, detail: 'not offered by the product API' }));
    const entries = offered.map((p) => ({ id: p.id, name: p.name, detail: seatsText(p) })).concat(gone);
    box.replaceChildren(checkboxes('products', 'Products', entries, selected, { hint: 'Members get every product ticked here, plus those of the other rules that match them.' }));
  };
  render(cat);
  box.addEventListener('change', onChange);
  return {
    node: box,
    render,
    value: () => ticked(box, 'products'),
  };
}

/**
 * Device groups, shown only while a ticked product takes them (the
 * catalogue says which). `value()`: none while hidden.
 */
export function deviceGroupsField(cat, selected) {
  const box = h('div', { id: 'device-groups-box' }, checkboxes('deviceGroups', 'Device groups', cat.deviceGroups || [], selected, { list: 'deviceGroups', hint: 'For the ticked products that take device groups.' }));
  const update = (c, products) => {
    const takes = new Set((c.products || []).filter((p) => p.deviceGroups).map((p) => p.id));
    box.hidden = !products.some((p) => takes.has(p));
  };
  return { node: box, update, value: () => (box.hidden ? [] : ticked(box, 'deviceGroups')) };
}

/**
 * The admin role, in plain words. "Administrator for this account" ticked:
 * Full access or Manager (privileges, managed user groups). Unticked: the
 * rule leaves the role to lower rules (unset), or takes admin rights away
 * even when a lower rule gives them (`none`). `value()`: the rule's
 * `adminRole`.
 */
export function roleField(cat, role) {
  const type = role ? role.type : null;
  const managed = type === 'manager' ? role : { privileges: [], managedGroups: [] };
  const isAdmin = h('input', { type: 'checkbox', id: 'is-admin', checked: type === 'full_admin' || type === 'manager' });
  const radio = (name, value, label, checked, hint) =>
    h('label', { class: 'check' }, h('input', { type: 'radio', name, value, checked }), ` ${label}`, hint ? h('span', { class: 'hint', text: ` — ${hint}` }) : null);
  const managerBox = h(
    'div',
    { id: 'manager-options', class: 'nested', hidden: type !== 'manager' },
    checkboxes('privileges', 'Privileges', cat.privileges || [], managed.privileges || [], { list: 'privileges' }),
    checkboxes('managedGroups', 'Managed user groups', cat.userGroups || [], managed.managedGroups || [], { list: 'userGroups' }),
  );
  const adminChoices = h(
    'div',
    { id: 'admin-kind', class: 'nested', role: 'radiogroup', 'aria-label': 'Kind of administrator', hidden: !isAdmin.checked },
    radio('admin-kind', 'full_admin', 'Full access', type !== 'manager', 'every admin right in the product'),
    radio('admin-kind', 'manager', 'Manager', type === 'manager', 'the privileges and user groups ticked below'),
    managerBox,
  );
  const otherChoices = h(
    'div',
    { id: 'not-admin-kind', class: 'nested', role: 'radiogroup', 'aria-label': 'When this rule does not make members administrators', hidden: isAdmin.checked },
    radio('not-admin', 'unset', 'Leave it to lower rules', type !== 'none', 'a member is an administrator only if a lower rule that matches them says so'),
    radio('not-admin', 'none', 'Also remove admin rights that a lower rule gives', type === 'none', 'members are never administrators, whatever a lower rule says'),
  );
  const node = h(
    'fieldset',
    { id: 'role-set', class: 'radios', 'aria-describedby': 'role-set-hint role-set-error' },
    h('legend', { text: 'Administrator' }),
    h('p', { id: 'role-set-hint', class: 'hint', text: 'When several rules match a member, the highest-priority one that decides about admin rights wins.' }),
    h('label', { class: 'check' }, isAdmin, ' Administrator for this account'),
    adminChoices,
    otherChoices,
    errorSlot('role-set'),
  );
  const chosen = (name) => node.querySelector(`input[name=${name}]:checked`)?.value;
  node.addEventListener('change', () => {
    adminChoices.hidden = !isAdmin.checked;
    otherChoices.hidden = isAdmin.checked;
    managerBox.hidden = !isAdmin.checked || chosen('admin-kind') !== 'manager';
  });
  const value = () => {
    if (!isAdmin.checked) return chosen('not-admin') === 'none' ? { type: 'none' } : null;
    if (chosen('admin-kind') === 'manager') return { type: 'manager', privileges: ticked(managerBox, 'privileges'), managedGroups: ticked(managerBox, 'managedGroups') };
    return { type: 'full_admin' };
  };
  return { node, value };
}

/** The language tags `template` has a text in. */
const hasLanguage = (template, tag) => {
  const primary = (t) => t.split('-')[0].toLowerCase();
  return template.languages.some((l) => l.toLowerCase() === tag.toLowerCase() || primary(l) === primary(tag));
};

/**
 * The account's default language: a drop-down of language names (those of
 * the organization's templates, and the rule's own), with a warning when
 * the chosen welcome email template has no text in it, naming what the
 * email uses instead (as the mailer chooses: docs/emails.md).
 * `templateOf()`: the template chosen now.
 */
export function languageField(templates, current, templateOf) {
  const tags = [...new Set(templates.flatMap((t) => t.languages).concat(current ? [current] : []))];
  const entries = tags.map((t) => ({ id: t, name: languageName(t) })).sort((a, b) => a.name.localeCompare(b.name));
  const select = h(
    'select',
    { id: 'language', name: 'language', 'aria-describedby': 'language-hint language-warning language-error' },
    h('option', { value: '', text: 'From the directory (or the organization’s default)', selected: !current }),
    entries.map((e) => h('option', { value: e.id, text: e.name, selected: e.id === current })),
  );
  const warning = h('p', { id: 'language-warning', class: 'notice', 'aria-live': 'polite', hidden: true });
  const check = () => {
    const tag = select.value;
    const t = templateOf();
    if (!tag || !t || hasLanguage(t, tag)) {
      warning.hidden = true;
      warning.textContent = '';
      return;
    }
    const fallback = t.languages.some((l) => l.toLowerCase() === 'en') ? 'English' : languageName(t.languages[0]);
    warning.textContent = `"${t.name}" has no ${languageName(tag)} text: the welcome email is sent in the user's language from the directory or the organization's default language if the template has it, else in ${fallback}. The account's language is still ${languageName(tag)}.`;
    warning.hidden = false;
  };
  select.addEventListener('change', check);
  const node = h(
    'div',
    { class: 'field' },
    h('label', { for: 'language', text: 'Account’s default language' }),
    h('p', { id: 'language-hint', class: 'hint', text: 'The language of the member’s product account and welcome email. Not set: the user’s language from the directory, else the organization’s default.' }),
    select,
    warning,
    errorSlot('language'),
  );
  return { node, check, value: () => select.value || null };
}
