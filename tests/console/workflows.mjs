// Clicks through the admin console's workflows in Debian's chromium,
// against a running stack. Run by tests/tests/e2e/console.rs, which
// prepares the organization (catalogue, users, two directory groups) and
// passes:
//   CONSOLE_URL     the console page ({base}/console/index.html)
//   ADMIN_TOKEN     the organization's admin token
//   ORG_ID          the organization
//   SIMULATOR_URL   the product API simulator (its /control endpoints)
//   SCIM_URL        the SCIM endpoint ({base}/scim/v2)
//   SCIM_TOKEN      the organization's SCIM token (to push more users, as
//                   an identity provider would, for "Load more")
//   SCREENSHOT_DIR  where to save a screenshot of each screen
//   NEW_DOMAIN      a domain to add on the Domains page (no record published)
//   PUBLISHED_DOMAIN a domain added through the API whose record the tests'
//                   DNS server serves
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { axeAuditor, env, expectEqual, fail, launch, openPage, request, simulatorControl, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const ORG = env('ORG_ID');
const SIM = env('SIMULATOR_URL');
const SCIM = env('SCIM_URL');
const SCIM_TOKEN = env('SCIM_TOKEN');
const API = CONSOLE_URL.replace(/\/console$/, '/api/v1');
const SHOTS = env('SCREENSHOT_DIR');
const NEW_DOMAIN = env('NEW_DOMAIN');
const PUBLISHED_DOMAIN = env('PUBLISHED_DOMAIN');
const PIPELINE = 120_000;

mkdirSync(SHOTS, { recursive: true });

// never hang the test command: the whole run ends within 8 minutes
const { step, current } = steps('console test', 8 * 60_000);

const log = (m) => console.log(`[console test] ${m}`);

const control = simulatorControl(SIM);
/** A request as the identity provider (SCIM) or as the admin (API) makes it. */
const call = (base, token, method, path, body, headers = {}) => request(base, token, method, path, body, { headers, scim: base === SCIM });

/** Waits until each of `users` has an activity entry of `action`. */
async function untilEveryUserHas(action, users) {
  const deadline = Date.now() + PIPELINE;
  for (;;) {
    const entries = await call(API, TOKEN, 'GET', `/activity?action=${action}&limit=200`);
    const done = new Set(entries.items.map((e) => e.subject.id));
    if (users.every((id) => done.has(id))) return;
    if (Date.now() > deadline) fail(`${action}: ${users.filter((id) => done.has(id)).length} of ${users.length} users`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const browser = await launch();
const { page, problems } = await openPage(browser);
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.origin !== new URL(CONSOLE_URL).origin && !u.protocol.startsWith('blob') && !u.protocol.startsWith('data')) problems.push(`request to another origin: ${r.url()}`);
});

// every screen that gets a screenshot is checked against WCAG 2.1 A and AA
const { audit, violations } = axeAuditor(page);

let shot = 0;
async function screenshot(name, fullPage = false) {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  log(`screenshot ${file}`);
  await audit(name);
}

const toast = page.locator('#toast');
async function expectToast(text) {
  await page.waitForFunction((t) => document.getElementById('toast').textContent.includes(t), text, { timeout: 30_000 });
}
const rulesRows = page.locator('#rules-table tbody tr');
async function ruleGroups() {
  return (await rulesRows.locator('td:nth-child(2) a').allTextContents()).map((s) => s.trim());
}
const count = (label) => page.locator('#sync-status .count', { hasText: label }).locator('.n');

try {
  step('the page is served with its security headers');
  const res = await page.goto(CONSOLE_URL);
  expectEqual(res.status(), 200, 'status of the page');
  const headers = res.headers();
  if (!headers['content-security-policy']?.includes("script-src 'self'")) fail(`CSP: ${headers['content-security-policy']}`);
  expectEqual(headers['x-content-type-options'], 'nosniff', 'X-Content-Type-Options');

  step('a wrong token is refused with a clear message');
  await page.getByRole('heading', { name: 'Sign in to User Sync' }).waitFor();
  await page.getByLabel('Admin token').fill('us_admin_not-a-real-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-error').getByText('This token was not accepted').waitFor();
  expectEqual(await page.getByLabel('Admin token').getAttribute('aria-invalid'), 'true', 'the token field is marked invalid');
  await screenshot('sign-in-wrong-token');

  step('sign in with the keyboard');
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByLabel('Admin token').press('Enter');
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await expectToast('Signed in');
  if (!(await page.evaluate(() => sessionStorage.length === 1))) fail('the token is not in session storage');

  step('no rules yet: "Create your first rule"');
  const first = page.getByRole('link', { name: 'Create your first rule' });
  await first.waitFor();
  await page.locator('#sync-status .count').first().waitFor();
  await screenshot('user-sync-empty');

  step('seats are set low in the product before');
  await control('PUT', `/orgs/${ORG}/seats`, { G2W: 3 });

  step('create the first rule (searchable group, products, no admin role), then "Save & add another"');
  await first.click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await page.getByLabel('Search directory groups').fill('sales');
  // the search narrows the list to the one matching group
  await page.waitForFunction(() => [...document.querySelectorAll('#group option')].map((o) => o.textContent).join('|') === 'Sales Team (4 members)');
  await page.getByLabel('Directory group', { exact: true }).selectOption({ label: 'Sales Team (4 members)' });
  await page.getByLabel('Description').fill('Sales get Webinar');
  await page.getByRole('checkbox', { name: 'GoTo Webinar' }).check();
  await page.getByRole('radio', { name: 'Also remove admin rights that a lower rule gives' }).check();
  await page.getByLabel('User group', { exact: true }).selectOption({ label: 'Sales' });
  await page.getByRole('checkbox', { name: 'Laptops' }).check();
  await page.getByLabel('Settings template').selectOption({ label: 'Standard' });
  await page.getByLabel('Account’s default language').selectOption('de');
  await screenshot('rule-form', true);
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await page.locator('dialog[open]').getByText('Language: de').waitFor();
  await page.locator('dialog[open]').getByRole('button', { name: 'Close' }).click();
  await page.getByRole('button', { name: 'Save & add another' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByRole('heading', { name: 'Create this rule?' }).waitFor();
  // sync is off: the preview names what saving would do, and the seats
  await dialog.getByText('User Sync is off').waitFor();
  await dialog.locator('table', { hasText: 'Seats needed' }).getByText('GoTo Webinar').waitFor();
  await screenshot('rule-preview');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule created');
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  // a new, empty form for the next rule
  await page.waitForFunction(() => document.getElementById('description')?.value === '' && !document.querySelector('input[name=products]:checked'));

  step('a field error is shown next to its field');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.locator('#group-error').getByText('Choose the directory group').waitFor();
  await audit('rule-form-error');

  step('add a second rule: a manager with privileges and managed user groups');
  await page.getByLabel('Search directory groups').fill('IT');
  await page.waitForFunction(() => [...document.querySelectorAll('#group option')].map((o) => o.textContent).join('|') === 'IT Admins (1 member)');
  await page.getByLabel('Directory group', { exact: true }).selectOption({ label: 'IT Admins (1 member)' });
  await page.getByLabel('Description').fill('IT admins get Meeting');
  await page.getByRole('checkbox', { name: 'GoTo Meeting' }).check();
  await page.getByRole('checkbox', { name: 'Administrator for this account' }).check();
  await page.getByRole('radio', { name: 'Manager' }).check();
  await page.locator('#privileges-set').getByRole('checkbox', { name: 'Manage users' }).check();
  await page.locator('#managedGroups-set').getByRole('checkbox', { name: 'Sales' }).check();
  // a welcome email of its own, created on the way: the form keeps its input
  await page.getByRole('link', { name: 'Create new' }).click();
  await page.getByRole('heading', { name: 'New template' }).waitFor();
  await page.getByLabel('Name').fill('IT welcome');
  await page.getByRole('button', { name: 'Save' }).click();
  await expectToast('Back to the rule');
  await page.getByRole('link', { name: 'Back to the rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await expectToast('unsaved changes to this rule are back');
  expectEqual(await page.getByLabel('Description').inputValue(), 'IT admins get Meeting', 'the description after the template');
  if (!(await page.getByRole('radio', { name: 'Manager' }).isChecked())) fail('the manager role was lost on the way to the template');
  if (!(await page.locator('#privileges-set').getByRole('checkbox', { name: 'Manage users' }).isChecked())) fail('the privilege was lost on the way to the template');
  if (!(await page.locator('#managedGroups-set').getByRole('checkbox', { name: 'Sales' }).isChecked())) fail('the managed user group was lost on the way to the template');
  expectEqual(await page.locator('#emailTemplate option:checked').textContent(), 'IT welcome', 'the welcome email template');
  expectEqual(await page.locator('#group option:checked').textContent(), 'IT Admins (1 member)', 'the directory group after the template');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule created');
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await rulesRows.nth(1).waitFor();
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['Sales Team', 'IT Admins']), 'rules in priority order');
  // a manager with its privileges and the groups it manages
  await rulesRows.nth(1).getByText('Manager: Manage users; manages Sales').waitFor();

  step('reorder with the arrows');
  await page.getByRole('button', { name: 'Move rule 2 (IT Admins) up' }).click();
  await expectToast('Rule moved up');
  await page.waitForFunction(() => document.querySelector('#rules-table tbody tr td:nth-child(2) a')?.textContent === 'IT Admins');
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['IT Admins', 'Sales Team']), 'rules after moving up');
  await page.getByRole('button', { name: 'Move rule 2 (Sales Team) up' }).click();
  await page.waitForFunction(() => document.querySelector('#rules-table tbody tr td:nth-child(2) a')?.textContent === 'Sales Team');
  await page.getByRole('button', { name: 'Move rule 1 (Sales Team) down' }).click();
  await page.waitForFunction(() => document.querySelector('#rules-table tbody tr td:nth-child(2) a')?.textContent === 'IT Admins');
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['IT Admins', 'Sales Team']), 'rules after moving down');
  await screenshot('rules');

  step('enabling sync without a Full Admin rule is refused, with the reason');
  const sw = page.getByRole('switch', { name: 'User Sync is on' });
  await sw.click();
  await page.locator('#sync-switch-error').getByText('at least one rule grants Full Admin').waitFor();
  if (await sw.isChecked()) fail('the switch shows on after a refusal');
  await screenshot('sync-refused');

  step('give the IT Admins rule Full access (click the rule to edit it)');
  await rulesRows.first().locator('td').first().click();
  await page.getByRole('heading', { name: 'Edit rule 1' }).waitFor();
  expectEqual(await page.getByLabel('Description').inputValue(), 'IT admins get Meeting', 'the rule read back');
  if (!(await page.getByRole('radio', { name: 'Manager' }).isChecked())) fail('the manager role was not read back');
  if (!(await page.locator('#privileges-set').getByRole('checkbox', { name: 'Manage users' }).isChecked())) fail('the privilege was not read back');
  if (!(await page.locator('#managedGroups-set').getByRole('checkbox', { name: 'Sales' }).isChecked())) fail('the managed user group was not read back');
  await page.getByRole('radio', { name: 'Full access' }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByRole('heading', { name: 'Save the changes to this rule?' }).waitFor();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule saved');
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await rulesRows.first().getByText('Full access').waitFor();

  step('turn User Sync on: the preview asks to confirm');
  await sw.click();
  await dialog.getByRole('heading', { name: 'Turn User Sync on?' }).waitFor();
  await dialog.getByText('4 of 4 users would change').waitFor();
  await screenshot('sync-on-preview');
  await dialog.getByRole('button', { name: 'Turn on', exact: true }).click();
  await expectToast('User Sync is on');
  if (!(await sw.isChecked())) fail('the switch is not on');

  step('watch users reach "in sync" while one runs out of seats');
  await page.waitForFunction(
    () => {
      const n = (label) => [...document.querySelectorAll('#sync-status .count')].find((c) => c.textContent.includes(label))?.querySelector('.n').textContent;
      return n('In sync') === '3' && n('Failed') === '1' && n('Pending') === '0';
    },
    null,
    { timeout: PIPELINE },
  );
  const banner = page.locator('.banner', { hasText: 'Out of licenses' });
  await banner.waitFor({ timeout: PIPELINE });
  await banner.getByRole('heading', { name: 'Out of licenses: GoTo Webinar' }).waitFor();
  await screenshot('out-of-seats-banner');

  step('the banner\'s Details list the user');
  await banner.getByRole('button', { name: 'Details' }).click();
  await banner.locator('.details tbody tr').first().waitFor();
  expectEqual(await banner.locator('.details tbody tr').count(), 1, 'users in the details');
  await screenshot('banner-details');

  step('Retry sync before the fix: progress while it runs, then the answer says the seats are still short, as an error');
  // the retry's request held back a moment, so that its progress can be seen
  await page.route('**/api/v1/sync/retry', async (route) => {
    await new Promise((r) => setTimeout(r, 2_500));
    await route.continue();
  });
  await banner.getByRole('button', { name: 'Retry sync' }).click();
  await banner.getByRole('status').getByText('Retry sync is sending the failed users again…').waitFor();
  await banner.getByRole('button', { name: 'Retrying…' }).waitFor();
  if (!(await banner.getByRole('button', { name: 'Retrying…' }).isDisabled())) fail('the retry button can be clicked while a retry runs');
  await expectToast('still out of G2W licenses');
  await page.unroute('**/api/v1/sync/retry');
  if (await banner.getByRole('status').isVisible()) fail('the retry progress stayed after the answer');
  expectEqual(await banner.getByRole('button', { name: 'Retry sync' }).isEnabled(), true, 'the retry button after the answer');
  if (!(await page.locator('#toast.error').count())) fail('"still out of licenses" is not shown as an error');

  step('raise the seats, then Retry sync until the banner goes away');
  await control('PUT', `/orgs/${ORG}/seats`, { G2W: 10 });
  const deadline = Date.now() + PIPELINE;
  for (;;) {
    await banner.getByRole('button', { name: 'Retry sync' }).click();
    await expectToast('Retry sync:');
    try {
      await banner.waitFor({ state: 'detached', timeout: 8_000 });
      break;
    } catch (e) {
      // a user sent again less than a minute ago is not sent again yet
      if (Date.now() > deadline) fail('the banner stayed after Retry sync');
    }
  }
  await page.waitForFunction(() => [...document.querySelectorAll('#sync-status .count')].find((c) => c.textContent.includes('In sync'))?.querySelector('.n').textContent === '4', null, { timeout: PIPELINE });
  expectEqual(await count('Failed').textContent(), '0', 'failed users after the retry');
  await screenshot('all-in-sync');

  step('deleting a rule asks to confirm, with the guardrail\'s verdict; cancelled, the rule stays');
  await page.getByRole('button', { name: 'Delete rule 2 (Sales Team)' }).click();
  await dialog.getByRole('heading', { name: 'Delete this rule?' }).waitFor();
  await dialog.getByText('This would suspend 3 of 4 directory users').waitFor();
  await screenshot('delete-guardrail');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' }).catch(() => {});
  if (await page.locator('dialog[open]').count()) fail('the dialog stayed open');
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['IT Admins', 'Sales Team']), 'rules after a cancelled delete');

  step('find the entries in Activity History (passing through Users on the way)');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('link', { name: 'Activity history' }).click();
  await page.getByRole('heading', { name: 'Activity history' }).waitFor();
  const table = page.locator('#activity-table tbody');
  await table.locator('tr').first().waitFor();
  await page.waitForLoadState('networkidle');
  if (await page.locator('#users-table').count()) fail('the Users page, left while loading, replaced the Activity history');
  for (const action of ['Sync enabled', 'Rule created', 'Rules reordered', 'Sync retried', 'Account created', 'Sync failed']) {
    if (!(await table.locator('td:nth-child(3)', { hasText: new RegExp(`^${action}$`) }).count())) fail(`no "${action}" entry in the activity history`);
  }
  // a rule's entry names the rule's directory group
  await table.locator('tr', { hasText: 'Rule created' }).filter({ hasText: 'rule for IT Admins' }).first().waitFor();
  const times = await table.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
  expectEqual(JSON.stringify(times), JSON.stringify([...times].sort().reverse()), 'entries are newest first');
  await screenshot('activity');
  await page.getByLabel('Action').selectOption('sync_failed');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('#activity-table tbody td:nth-child(3)')].map((c) => c.textContent);
    return cells.length > 0 && cells.every((c) => c === 'Sync failed');
  });
  await page.getByLabel('Action').selectOption('');
  await page.getByLabel('Outcome').selectOption('failure');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('#activity-table tbody td:nth-child(5)')].map((c) => c.textContent);
    return cells.length > 0 && cells.every((c) => c.startsWith('Failure'));
  });
  await page.getByLabel('Outcome').selectOption('');
  // a time range that ends before anything happened: nothing
  await page.getByLabel('To').fill('2020-01-01T00:00');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('0 entries shown').waitFor();
  await page.getByLabel('To').fill('');
  await page.getByLabel('Action').selectOption('sync_failed');
  await page.getByLabel('User (name, user name, email or id)').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#f-user-error').getByText('No user matches').waitFor();
  await page.getByLabel('Action').selectOption('account_created');
  await page.getByLabel('User (name, user name, email or id)').fill(`ada.${ORG}@example.com`);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('#activity-table tbody td:nth-child(3)')].map((c) => c.textContent);
    return cells.length === 1 && cells[0] === 'Account created';
  });
  expectEqual(await table.locator('td:nth-child(4)').first().textContent(), `ada.${ORG}@example.com`, 'the entry names its user');
  await page.getByLabel('Keep entries for (days)').fill('5000');
  await page.getByRole('button', { name: 'Save retention' }).click();
  await page.locator('#retention-error').waitFor({ state: 'visible' });
  // an admin cannot shorten the history below 90 days
  await page.getByLabel('Keep entries for (days)').fill('30');
  await page.getByRole('button', { name: 'Save retention' }).click();
  await page.locator('#retention-error').getByText(/at least 90 days/).waitFor();
  await page.getByLabel('Keep entries for (days)').fill('90');
  await page.getByRole('button', { name: 'Save retention' }).click();
  await expectToast('kept for 90 days');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const csv = await download;
  expectEqual(csv.suggestedFilename(), 'activity.csv', 'the export');

  step('the Users page: search, status, the explain view');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  await page.locator('#users-table tbody tr').first().waitFor();
  expectEqual(await page.locator('#users-table tbody tr').count(), 4, 'users listed');
  await page.getByLabel('Sync status').selectOption('in_sync');
  await page.getByLabel('Search by name, user name or email').fill('ada.');
  await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
  await screenshot('users');
  await page.getByLabel('Failure', { exact: true }).selectOption('out_of_licenses');
  await page.getByText('0 users shown').waitFor();
  await page.getByLabel('Failure', { exact: true }).selectOption('');
  await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
  await page.locator('#users-table tbody a').first().click();
  await page.locator('#explain').waitFor();
  await page.locator('#explain tr', { hasText: 'GoTo Webinar' }).getByText('rule 2 (Sales get Webinar)').waitFor();
  await page.locator('#explain tr', { hasText: 'Administrator' }).getByText('Full access').waitFor();
  await page.locator('#explain tr', { hasText: 'Device group' }).getByText('Laptops').waitFor();
  if (await page.getByRole('button', { name: 'Retry sync for this user' }).isVisible()) fail('Retry sync is offered for a user in sync');
  await screenshot('user-explain');

  step('the Templates page: create, preview');
  await page.getByRole('link', { name: 'Email templates' }).click();
  await page.getByRole('heading', { name: 'Email templates' }).waitFor();
  await page.locator('#templates-table tbody tr').first().waitFor();
  await audit('templates');
  await page.getByRole('link', { name: 'Create template' }).click();
  await page.getByLabel('Name').fill('Sales welcome');
  await page.getByRole('button', { name: 'Save' }).click();
  await expectToast('Template created');
  await page.getByRole('heading', { name: 'Edit template: Sales welcome' }).waitFor();
  await page.locator('#v0-body').fill('Hi {{lastName}}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#v0-body-error').getByText('unknown placeholder').waitFor();
  await screenshot('template-error');
  await page.locator('#v0-body').fill('Hi {{firstName}}, welcome to {{companyName}}.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expectToast('Template saved');
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  await dialog.getByText('Hi Alex, welcome to').waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('link', { name: 'Email templates' }).click();
  await page.locator('#templates-table tbody tr', { hasText: 'Sales welcome' }).waitFor();
  await page.getByRole('button', { name: 'Delete Sales welcome' }).click();
  await dialog.getByRole('button', { name: 'Delete template' }).click();
  await expectToast('Template deleted');
  await page.locator('#templates-table tbody tr', { hasText: 'Sales welcome' }).waitFor({ state: 'detached' });

  step('the Custom attributes page');
  await page.getByRole('link', { name: 'Custom attributes' }).click();
  await page.getByLabel('Attribute names, one per line').fill('badge\nBadge');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#attributes-error').getByText('named twice').waitFor();
  await page.getByLabel('Attribute names, one per line').fill('employeeNumber\ncostCenter');
  await page.getByRole('button', { name: 'Save' }).click();
  await expectToast('Saved: 2 custom attributes');
  await screenshot('custom-attributes');
  // another admin changes the list while this page shows it: saving is
  // refused (If-Match), not a silent overwrite of their change
  const other = await call(API, TOKEN, 'GET', '/custom-attributes');
  await call(API, TOKEN, 'PUT', '/custom-attributes', { attributes: [...other.attributes, 'region'] }, { 'if-match': `"${other.version}"` });
  await page.getByLabel('Attribute names, one per line').fill('employeeNumber\ncostCenter\nteam');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#attributes-error').getByText('changed by someone else').waitFor();
  expectEqual((await call(API, TOKEN, 'GET', '/custom-attributes')).attributes.join(','), 'employeeNumber,costCenter,region', "the other admin's change is kept");

  step('the Domains page: add a domain, its record, a verification that fails before the record exists');
  await page.getByRole('link', { name: 'Domains' }).click();
  await page.getByRole('heading', { name: 'Domains', exact: true }).waitFor();
  await page.getByLabel('Domain', { exact: true }).fill('*.example.org');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.locator('#domain-error').getByText('wildcards are not allowed').waitFor();
  await page.getByLabel('Domain', { exact: true }).fill(NEW_DOMAIN.toUpperCase());
  await page.getByRole('button', { name: 'Add domain' }).click();
  await expectToast(`${NEW_DOMAIN} added`);
  const added = page.getByRole('region', { name: NEW_DOMAIN });
  await added.getByText(`_user-sync.${NEW_DOMAIN} TXT "user-sync-verification=`).waitFor();
  await added.getByText('Pending verification').waitFor();
  await page.getByRole('button', { name: `Verify ${NEW_DOMAIN}` }).click();
  await page.locator('#verify-result').getByText(`${NEW_DOMAIN} is not verified`).waitFor();
  await page.locator('#verify-result').getByText('was not found').waitFor();
  await screenshot('domains');

  step('verify a domain whose record is published');
  await page.getByRole('button', { name: `Verify ${PUBLISHED_DOMAIN}` }).click();
  await page.locator('#verify-result').getByText(`${PUBLISHED_DOMAIN} is verified.`).waitFor();
  await page.getByRole('region', { name: PUBLISHED_DOMAIN }).getByText('Verified by').waitFor();
  const verified = await call(API, TOKEN, 'GET', '/activity?action=domain_verified');
  expectEqual(verified.items.length, 1, 'domain_verified entries');

  step('readable at 200% zoom: no sideways scrolling on any page');
  await page.setViewportSize({ width: 590, height: 820 });
  for (const [hash, title] of [
    ['#/rules/new', 'New rule'],
    ['#/users', 'Users'],
    ['#/activity', 'Activity history'],
    ['#/templates', 'Email templates'],
    ['#/attributes', 'Custom attributes'],
    ['#/domains', 'Domains'],
    ['#/sync', 'User Sync'],
  ]) {
    await page.goto(`${CONSOLE_URL}${hash}`);
    await page.getByRole('heading', { name: title, exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) fail(`${hash} scrolls sideways by ${overflow}px at 200% zoom`);
  }
  await rulesRows.first().waitFor();
  await screenshot('zoom-200');
  await page.setViewportSize({ width: 1180, height: 820 });

  step('keyboard: Tab reaches the navigation with a visible focus');
  await page.locator('#main').focus();
  await page.keyboard.press('Shift+Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { tag: el.tagName, outline: s.outlineStyle, width: s.outlineWidth };
  });
  if (focused.outline === 'none' || focused.width === '0px') fail(`no visible focus on ${focused.tag}`);

  step('a rule change that would suspend many users asks first; "Back to the form" saves nothing');
  await page.goto(`${CONSOLE_URL}#/sync`);
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  const editSales = async () => {
    await rulesRows.nth(1).locator('td').first().click();
    await page.getByRole('heading', { name: 'Edit rule 2' }).waitFor();
    await page.getByLabel('Search directory groups').fill('Support');
    await page.waitForFunction(() => [...document.querySelectorAll('#group option')].some((o) => o.textContent === 'Support (0 members)'));
    await page.getByLabel('Directory group', { exact: true }).selectOption({ label: 'Support (0 members)' });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.getByRole('heading', { name: 'Save the changes to this rule?' }).waitFor();
  };
  await editSales();
  // Ada keeps the IT Admins rule; Grace, Linus and Hedy would match none
  await dialog.getByText('3 suspended').waitFor();
  await dialog.getByText('This would suspend 3 of 4 directory users').waitFor();
  await dialog.getByRole('button', { name: 'Save and suspend these users' }).waitFor();
  await screenshot('rule-guardrail');
  await dialog.getByRole('button', { name: 'Back to the form' }).click();
  await page.getByRole('heading', { name: 'Edit rule 2' }).waitFor();
  await page.goto(`${CONSOLE_URL}#/sync`);
  await rulesRows.nth(1).waitFor();
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['IT Admins', 'Sales Team']), 'rules after the guardrail was declined');

  step('with User Sync off the change is not asked; turning it on then is, and cancelled it stays off');
  await sw.click();
  await dialog.getByRole('heading', { name: 'Turn User Sync off?' }).waitFor();
  await dialog.getByRole('button', { name: 'Turn off', exact: true }).click();
  await expectToast('User Sync is off');
  if (await sw.isChecked()) fail('the switch is still on');
  await editSales();
  await dialog.getByText('User Sync is off').waitFor();
  if (await dialog.getByRole('button', { name: 'Save and suspend these users' }).count()) fail('the guardrail asked while User Sync is off');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule saved');
  await rulesRows.nth(1).getByText('Support').waitFor();
  await sw.click();
  await dialog.getByRole('heading', { name: 'Turn User Sync on?' }).waitFor();
  await dialog.getByText('This would suspend 3 of 4 directory users').waitFor();
  await dialog.getByRole('button', { name: 'Turn on, suspending these users' }).waitFor();
  await screenshot('sync-on-guardrail');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' }).catch(() => {});
  if (await sw.isChecked()) fail('the switch is on after a cancelled guardrail');
  const sync = await call(API, TOKEN, 'GET', '/sync');
  expectEqual(sync.enabled, false, 'sync after a cancelled guardrail');
  // the rule back on Sales Team: nobody loses anything, nothing is asked
  await rulesRows.nth(1).locator('td').first().click();
  await page.getByRole('heading', { name: 'Edit rule 2' }).waitFor();
  await page.getByLabel('Search directory groups').fill('Sales');
  await page.waitForFunction(() => [...document.querySelectorAll('#group option')].some((o) => o.textContent === 'Sales Team (4 members)'));
  await page.getByLabel('Directory group', { exact: true }).selectOption({ label: 'Sales Team (4 members)' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule saved');
  await rulesRows.nth(1).getByText('Sales Team').waitFor();
  await sw.click();
  await dialog.getByRole('heading', { name: 'Turn User Sync on?' }).waitFor();
  await dialog.getByRole('button', { name: 'Turn on', exact: true }).click();
  await expectToast('User Sync is on');
  if (!(await sw.isChecked())) fail('the switch is not on');

  step('60 more users arrive from the identity provider; a rule gives them Meeting');
  const pushed = [];
  for (let i = 0; i < 60; i += 6) {
    const batch = await Promise.all(
      Array.from({ length: 6 }, (_, k) => {
        const email = `contractor${String(i + k).padStart(2, '0')}.${ORG}@example.com`;
        return call(SCIM, SCIM_TOKEN, 'POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: email,
          name: { givenName: `Contractor ${i + k}`, familyName: 'Test' },
          emails: [{ primary: true, value: email, type: 'work' }],
          active: true,
        });
      }),
    );
    pushed.push(...batch.map((u) => u.id));
  }
  await call(SCIM, SCIM_TOKEN, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Contractors',
    members: pushed.map((value) => ({ value })),
  });
  await page.getByRole('link', { name: 'Add rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await page.getByLabel('Search directory groups').fill('Contr');
  await page.waitForFunction(() => [...document.querySelectorAll('#group option')].some((o) => o.textContent === 'Contractors (60 members)'));
  await page.getByLabel('Directory group', { exact: true }).selectOption({ label: 'Contractors (60 members)' });
  await page.getByLabel('Description').fill('Contractors get Meeting');
  await page.getByRole('checkbox', { name: 'GoTo Meeting' }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByText('60 of 60 users would change').waitFor();
  await dialog.getByText('60 new accounts').waitFor();
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expectToast('Rule created');
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await page.waitForFunction(
    () => {
      const n = (label) => [...document.querySelectorAll('#sync-status .count')].find((c) => c.textContent.includes(label))?.querySelector('.n').textContent;
      return n('In sync') === '64' && n('Pending') === '0';
    },
    null,
    { timeout: PIPELINE },
  );

  step('the Users page lists 50, then "Load more" the other 14');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  const userRows = page.locator('#users-table tbody tr');
  await page.getByText('50 users shown; more may match.').waitFor();
  expectEqual(await userRows.count(), 50, 'users on the first page');
  await page.locator('#users-more').click();
  await page.getByText('64 users shown.').waitFor();
  expectEqual(await userRows.count(), 64, 'users after "Load more"');
  if (await page.locator('#users-more').isVisible()) fail('"Load more" is offered with no more users');
  const names = await userRows.locator('td:first-child a').allTextContents();
  expectEqual(new Set(names).size, 64, 'distinct users listed');
  expectEqual(await page.evaluate(() => document.activeElement === document.querySelectorAll('#users-table tbody tr')[50]), true, 'the first loaded user has the focus');

  step('Activity history: "Load more" continues where the first page ended, newest first');
  // the history is still growing until the last welcome email is sent
  await untilEveryUserHas('welcome_email_sent', pushed);
  await page.getByRole('link', { name: 'Activity history' }).click();
  await page.getByRole('heading', { name: 'Activity history' }).waitFor();
  const entryRows = page.locator('#activity-table tbody tr');
  await page.getByText('50 entries shown, newest first; more are older.').waitFor();
  await page.locator('#activity-more').click();
  await page.getByText('100 entries shown, newest first; more are older.').waitFor();
  // the rows are the API's first 100 entries, in its order
  const first100 = await call(API, TOKEN, 'GET', '/activity?limit=100');
  const rows = await entryRows.evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('time').getAttribute('datetime')} ${tr.children[2].textContent}`));
  const expected = first100.items.map((e) => `${e.at} ${e.action.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase())}`);
  expectEqual(JSON.stringify(rows), JSON.stringify(expected), 'the first 100 entries');
  expectEqual(await page.evaluate(() => document.activeElement === document.querySelectorAll('#activity-table tbody tr')[50]), true, 'the first loaded entry has the focus');
  await screenshot('activity-load-more');

  step('deleting a rule for real: confirmed past the guardrail, its members are suspended');
  await page.getByRole('link', { name: 'User Sync', exact: true }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Delete rule 3 (Contractors)' }).click();
  await dialog.getByRole('heading', { name: 'Delete this rule?' }).waitFor();
  await dialog.getByText('This would suspend 60 of 64 directory users').waitFor();
  await dialog.getByRole('button', { name: 'Delete and suspend these users' }).click();
  await expectToast('Rule deleted');
  await page.waitForFunction(() => document.querySelectorAll('#rules-table tbody tr').length === 2);
  expectEqual(JSON.stringify(await ruleGroups()), JSON.stringify(['IT Admins', 'Sales Team']), 'rules after the delete');
  await untilEveryUserHas('account_suspended', pushed);
  const deleted = await call(API, TOKEN, 'GET', '/activity?action=rule_deleted');
  expectEqual(deleted.items.length, 1, 'rule_deleted entries');

  step('sign out');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to User Sync' }).waitFor();
  if (await page.evaluate(() => sessionStorage.length)) fail('the token is still in session storage');

  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
  if (violations.length) fail(`accessibility (axe-core, WCAG 2.1 AA):\n  ${violations.join('\n  ')}`);
  log(`all steps passed; screenshots in ${SHOTS}`);
  await browser.close();
} catch (e) {
  console.error(`[console test] FAILED at step "${current()}": ${e.message}`);
  if (problems.length) console.error(`[console test] the page reported:\n  ${problems.join('\n  ')}`);
  try {
    await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true });
    console.error(`[console test] screenshot of the failure: ${join(SHOTS, 'failure.png')}`);
  } catch (ignored) {
    // the browser is gone
  }
  await browser.close();
  process.exit(1);
}
