// The Domains page: the organization's email domains, the DNS record that
// proves each, verifying and removing them. Users are provisioned only in
// verified (or grandfathered) domains.

import { api } from './api.js';
import { may, offered } from './access.js';
import { confirmAction, field, fieldError, h, heading, pill, report, toast, when } from './ui.js';

const STATUS = {
  pending: ['Pending verification', 'pending'],
  verified: ['Verified', 'in_sync'],
  record_missing: ['Record missing', 'failed'],
  lapsed: ['Lapsed', 'failed'],
  grandfathered: ['Unverified (grandfathered)', 'pending'],
};

function statusText(d) {
  if (d.status === 'verified') return `Verified by ${d.verifiedBy}, ${when(d.verifiedAt)}`;
  if (d.status === 'record_missing') return `Record missing since ${when(d.missingSince)}; allowed until ${when(d.lapsesAt)}`;
  return '';
}

export async function domainsPage(main) {
  const list = h('div', { id: 'domains' });
  const result = h('p', { id: 'verify-result', role: 'status', 'aria-live': 'polite', class: 'notice', hidden: true });

  async function load() {
    const { domains } = await api('GET', 'domains');
    if (domains.length === 0) {
      list.replaceChildren(h('p', { class: 'hint', text: 'No domain yet: add the domain of your users\u2019 email addresses.' }));
      return;
    }
    list.replaceChildren(...domains.map(card));
  }

  function card(d) {
    const [label, kind] = STATUS[d.status] || [d.status, ''];
    const record = `${d.record.name} TXT "${d.record.value}"`;
    const copy = h('button', { type: 'button', class: 'secondary', text: 'Copy record', 'aria-label': `Copy record of ${d.domain}` });
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(d.record.value);
        toast('The record\u2019s value was copied.');
      } catch {
        toast('Copying failed: select the value and copy it.', 'error');
      }
    });
    const verify = h('button', { type: 'button', class: 'primary', text: 'Verify', 'aria-label': `Verify ${d.domain}` });
    verify.addEventListener('click', async () => {
      verify.disabled = true;
      try {
        await api('POST', `domains/${encodeURIComponent(d.domain)}/verify`);
        result.className = 'notice ok';
        result.textContent = `${d.domain} is verified.`;
        result.hidden = false;
        await load();
      } catch (err) {
        result.className = 'notice error';
        result.textContent = `${d.domain} is not verified: ${err.detail || err}`;
        result.hidden = false;
      } finally {
        verify.disabled = false;
      }
    });
    const remove = h('button', { type: 'button', class: 'secondary', text: 'Remove', 'aria-label': `Remove ${d.domain}` });
    remove.addEventListener('click', async () => {
      const yes = await confirmAction('Remove the domain?', `Users in ${d.domain} will no longer be provisioned.`, 'Remove', true);
      if (!yes) return;
      try {
        await api('DELETE', `domains/${encodeURIComponent(d.domain)}`);
        toast(`${d.domain} removed.`);
        await load();
      } catch (err) {
        toast(err.detail || String(err), 'error');
      }
    });
    return h(
      'section',
      { class: 'card', 'aria-label': d.domain },
      h('h2', { text: d.domain }),
      h('p', {}, pill(label, kind), ' ', statusText(d), d.includeSubdomains ? ' (subdomains included)' : ''),
      d.status === 'verified' || d.status === 'grandfathered'
        ? null
        : h('p', { class: 'hint', text: 'Publish this DNS record at your DNS host, then verify:' }),
      h('pre', { class: 'record' }, h('code', { text: record })),
      h('div', { class: 'actions' }, offered('admin', verify), copy, offered('admin', remove)),
    );
  }

  const input = h('input', { id: 'domain', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const subdomains = h('input', { id: 'subdomains', type: 'checkbox' });
  const add = h('button', { type: 'submit', class: 'primary', text: 'Add domain' });
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    field('Domain', input, 'The part after the @ of your users\u2019 addresses, such as example.com. No wildcards.'),
    h('div', { class: 'field' }, h('label', {}, subdomains, ' Include its subdomains')),
    h('div', { class: 'actions' }, add),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fieldError('domain', '');
    add.disabled = true;
    try {
      const d = await api('POST', 'domains', { body: { domain: input.value.trim(), includeSubdomains: subdomains.checked } });
      input.value = '';
      toast(`${d.domain} added: publish its record, then verify.`);
      await load();
    } catch (err) {
      report(err, { domain: 'domain' }, 'domain');
    } finally {
      add.disabled = false;
    }
  });
  await load();
  main.replaceChildren(
    heading('Domains'),
    h('p', { class: 'hint', text: 'User Sync provisions and emails only addresses in domains your organization has verified with a DNS TXT record.' }),
    ...(may('admin') ? [form] : []),
    result,
    list,
  );
  return null;
}
