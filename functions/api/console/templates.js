// The Email templates page: list, create, edit, preview, delete.

import { api, ruleDraft, setRuleDraft } from './api.js';
import { may } from './access.js';
import { confirmAction, dialog, errorSlot, field, fieldError, h, heading, languageName, report, show, toast, when } from './ui.js';

async function preview(id, language) {
  try {
    const e = await api('POST', `templates/${encodeURIComponent(id)}/preview`, { body: { language: language || null } });
    await dialog(`Preview: ${e.subject}`, [h('p', { class: 'hint', text: `Language: ${e.language} (${languageName(e.language)}). Sample values.` }), h('pre', { class: 'email', text: e.text })], [{ label: 'Close', value: true, kind: 'primary' }]);
  } catch (err) {
    toast(err.detail, 'error');
  }
}

/**
 * Deletes the organization's template `t` after a confirmation; `done` runs
 * after it was deleted. A refusal (a rule still uses it) is shown as a
 * message.
 */
async function deleteTemplate(t, done) {
  if (!(await confirmAction('Delete this template?', `"${t.name}" will be deleted. Rules that use it must be given another template first.`, 'Delete template', true))) return;
  try {
    await api('DELETE', `templates/${encodeURIComponent(t.id)}`, { ifMatch: t.version });
    toast('Template deleted.');
    done();
  } catch (err) {
    toast(err.detail, 'error');
  }
}

export async function templatesPage(main) {
  const list = await api('GET', 'templates');
  // the shipped default can only be previewed; the organization's own
  // templates can be edited and deleted too
  const rows = list.items.map((t) =>
    h(
      'tr',
      {},
      h('td', {}, t.readOnly ? t.name : h('a', { href: `#/templates/${encodeURIComponent(t.id)}`, text: t.name })),
      h('td', { text: t.languages.map((l) => `${languageName(l)} (${l})`).join(', ') }),
      h('td', { text: t.readOnly ? 'Shipped (read-only)' : `${when(t.updatedAt)}${t.updatedBy ? ` by ${t.updatedBy}` : ''}` }),
      h(
        'td',
        { class: 'row-actions' },
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Preview ${t.name}`, text: 'Preview', onclick: () => preview(t.id) }),
        t.readOnly || !may('admin') ? null : h('a', { class: 'button secondary', href: `#/templates/${encodeURIComponent(t.id)}`, 'aria-label': `Edit ${t.name}`, text: 'Edit' }),
        t.readOnly || !may('admin') ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${t.name}`, text: 'Delete', onclick: () => deleteTemplate(t, () => templatesPage(main)) }),
      ),
    ),
  );
  main.replaceChildren(
    heading('Email templates'),
    h('p', { class: 'hint', text: 'The welcome email new users get. Placeholders: {{firstName}}, {{products}}, {{loginUrl}}, {{companyName}}.' }),
    h(
      'div',
      { class: 'table-wrap' },
      h('table', { id: 'templates-table' }, h('thead', {}, h('tr', {}, ['Name', 'Languages', 'Updated', 'Actions'].map((x) => h('th', { scope: 'col', text: x })))), h('tbody', {}, rows)),
    ),
    ...(may('admin') ? [h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/templates/new', text: 'Create template' }))] : []),
  );
  return null;
}

export async function templateForm(main, id) {
  const t = id ? await api('GET', `templates/${encodeURIComponent(id)}`) : { name: '', variants: { en: { subject: 'Welcome to {{companyName}}, {{firstName}}', body: 'Hi {{firstName}},\n\nYou now have {{products}} at {{companyName}}.\n\nSign in: {{loginUrl}}' } }, readOnly: false };
  // shipped templates are read-only, and every template is for a role below admin
  const readOnly = t.readOnly || !may('admin');
  const name = h('input', { id: 'template-name', type: 'text', maxlength: '100', value: t.name, readonly: readOnly });
  const variantsBox = h('div', { id: 'variants' });
  let n = 0;
  const addVariant = (lang, v) => {
    const k = n++;
    const langInput = h('input', { id: `v${k}-lang`, type: 'text', class: 'lang', value: lang, readonly: readOnly, 'data-variant': String(k) });
    const subject = h('input', { id: `v${k}-subject`, type: 'text', value: v.subject, readonly: readOnly });
    const body = h('textarea', { id: `v${k}-body`, rows: '8', readonly: readOnly });
    body.value = v.body;
    const box = h(
      'fieldset',
      { class: 'variant', 'data-variant': String(k) },
      h('legend', { text: `Language variant ${k + 1}` }),
      field('Language tag (en, de, pt-BR…)', langInput),
      field('Subject', subject),
      field('Body', body),
      readOnly
        ? null
        : h('button', {
            type: 'button',
            class: 'secondary',
            text: 'Remove this language',
            onclick: () => {
              box.remove();
              toast('Language removed (save to keep the change).', 'info');
            },
          }),
    );
    variantsBox.append(box);
    return langInput;
  };
  for (const [lang, v] of Object.entries(t.variants || {})) addVariant(lang, v);

  const collect = () => {
    const variants = {};
    for (const box of variantsBox.querySelectorAll('fieldset.variant')) {
      const k = box.dataset.variant;
      const lang = document.getElementById(`v${k}-lang`).value.trim();
      variants[lang] = { subject: document.getElementById(`v${k}-subject`).value, body: document.getElementById(`v${k}-body`).value };
    }
    return { name: name.value.trim(), variants };
  };
  const fieldFor = (detail) => {
    // "variants.de.body: …" → that variant's body
    const m = /^variants\.([^.:]+)\.(subject|body)/.exec(detail || '');
    if (!m) return null;
    for (const box of variantsBox.querySelectorAll('fieldset.variant')) {
      const k = box.dataset.variant;
      if (document.getElementById(`v${k}-lang`).value.trim().toLowerCase() === m[1].toLowerCase()) return `v${k}-${m[2]}`;
    }
    return null;
  };

  const previewLang = h('select', { id: 'preview-lang' }, Object.keys(t.variants || {}).map((l) => h('option', { value: l, text: l })));
  const formError = errorSlot('template-form');
  formError.setAttribute('role', 'alert');
  const form = h(
    'form',
    { class: 'card', id: 'template-form', novalidate: true },
    field('Name', name),
    variantsBox,
    readOnly ? null : h('button', { type: 'button', class: 'secondary', text: 'Add a language', onclick: () => addVariant('', { subject: '', body: '' }).focus() }),
    formError,
    h(
      'div',
      { class: 'actions' },
      readOnly ? null : h('button', { type: 'submit', class: 'primary', text: 'Save' }),
      id ? h('label', { for: 'preview-lang', text: 'Preview in' }) : null,
      id ? previewLang : null,
      id ? h('button', { type: 'button', class: 'secondary', text: 'Preview', onclick: () => preview(id, previewLang.value) }) : null,
      id && !readOnly ? h('button', { type: 'button', class: 'danger', id: 'delete-this-template', text: 'Delete', onclick: () => deleteTemplate(t, () => (location.hash = '#/templates')) }) : null,
      h('a', { class: 'button secondary', href: '#/templates', text: readOnly ? 'Back' : 'Cancel' }),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll('.field-error')) {
      el.hidden = true;
      el.textContent = '';
    }
    try {
      const saved = id ? await api('PUT', `templates/${encodeURIComponent(id)}`, { body: collect(), ifMatch: t.version }) : await api('POST', 'templates', { body: collect() });
      const draft = ruleDraft();
      if (!id && draft && draft.pick) {
        // created from the rule form's "Create new": the rule gets it
        setRuleDraft({ ...draft, rule: { ...draft.rule, emailTemplate: saved.id }, pick: false });
        toast('Template created. "Back to the rule" uses it for the rule.');
      } else toast(id ? 'Template saved.' : 'Template created.');
      location.hash = `#/templates/${encodeURIComponent(saved.id)}`;
      if (id) templateForm(main, id);
    } catch (err) {
      const target = fieldFor(err.detail);
      if (target) {
        fieldError(target, err.detail);
        document.getElementById(target)?.focus();
        toast('Please correct the field marked below.', 'error');
      } else report(err, { name: 'template-name' }, 'template-form');
    }
  });
  const draft = ruleDraft();
  const back = draft && typeof draft.back === 'string' && draft.back.startsWith('#/rules/') ? draft.back : null;
  show(
    main,
    h('p', {}, h('a', { href: '#/templates', text: '← All templates' }), back ? ' · ' : null, back ? h('a', { href: back, id: 'back-to-rule', text: 'Back to the rule' }) : null),
    heading(readOnly ? `${t.name} (read-only)` : id ? `Edit template: ${t.name}` : 'New template'),
    readOnly ? h('p', { class: 'notice', text: 'The shipped default cannot be changed; create a template of your own instead.' }) : null,
    form,
  );
  return null;
}
