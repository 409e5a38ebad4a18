// Names where a person reads, in Debian's chromium against a running stack:
// the activity history as sentences (a moved and a deleted rule named by
// their group, kept after the group was deleted; a template, products, a
// role and a language by name) with the raw details behind a disclosure;
// the failure banner and a rule's preview without ids; a user's explain
// view naming the welcome email's template and language.
// Run by tests/tests/e2e/console.rs, which prepares the organization (the
// catalogue GoTo Meeting, GoTo Webinar with one seat, GoTo Training; the
// template Welcome in English and German; rules for Engineering, with Full
// access, Welcome and German, then Sales, then Support, moved from 3 to 1;
// Sales' rule and group deleted; sync on: one person out of Webinar
// licenses, the other's account created and welcomed), and passes:
//   CONSOLE_URL     the console page ({base}/console)
//   ADMIN_TOKEN     the organization's admin token
//   SUPPORT_RULE    the id of Support's rule
//   ADA_USER        Ada's user id (in Engineering: Welcome, German)
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { axeAuditor, env, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const SUPPORT_RULE = env('SUPPORT_RULE');
const ADA_USER = env('ADA_USER');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// a person's email names the test's organization: it is theirs, not an id
const EMAIL = /\S+@\S+/g;

const { step, current } = steps('console names', 5 * 60_000);

const browser = await launch();
try {
  const { page, problems } = await openPage(browser, { width: 1280, height: 900 });
  const { audit, violations } = axeAuditor(page);
  // what a person sees of `selector` (closed disclosures hide their content)
  const visible = (selector) => page.locator(selector).evaluateAll((els) => els.map((el) => el.innerText));
  const noId = (texts, what) => {
    for (const t of texts) {
      const m = UUID.exec(t.replace(EMAIL, ''));
      if (m) fail(`${what} shows the id ${m[0]}: ${JSON.stringify(t)}`);
    }
  };
  const dialog = page.locator('dialog[open]');

  step('sign in');
  await page.goto(CONSOLE_URL);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();

  step('the failure banner names the product');
  const banner = page.locator('#banners .banner').first();
  await banner.getByRole('heading', { name: 'Out of licenses: GoTo Webinar' }).waitFor();
  const bannerText = await banner.innerText();
  if (!bannerText.includes('could not be given GoTo Webinar: your organization has no GoTo Webinar licenses left')) fail(`the banner's message: ${bannerText}`);
  if (/\bG2W\b/.test(bannerText)) fail(`the banner shows the product's id: ${bannerText}`);
  noId([bannerText], 'the banner');
  await audit('banner');

  step('the activity history reads as sentences with names');
  await page.goto(`${CONSOLE_URL}#/activity`);
  await page.getByRole('heading', { name: 'Activity history' }).waitFor();
  const rows = page.locator('#activity-table tbody tr');
  await rows.first().waitFor();
  await page.waitForLoadState('networkidle');
  const sentences = await visible('#activity-table tbody td.details p.sentence');
  for (const expected of [
    'Created the template Welcome (German, English).',
    'Created the rule for Engineering (priority 1).',
    'Created the rule for Sales (priority 2).',
    'Moved the rule for Support from 3 to 1.',
    'Deleted the rule for Sales.',
    'Turned User Sync on.',
    'Created the account: GoTo Meeting, GoTo Webinar; Full access.',
    'Sent the welcome email (Welcome, German).',
    'Sync failed: out of GoTo Webinar licenses.',
  ]) {
    if (!sentences.includes(expected)) fail(`no entry reads "${expected}"; they read:\n  ${sentences.join('\n  ')}`);
  }
  // the deleted rule (and group) by its group in the Subject column
  const deletedRow = rows.filter({ hasText: 'Deleted the rule for Sales.' });
  const subject = (await deletedRow.locator('td:nth-child(4)').innerText()).trim();
  if (subject !== 'rule for Sales') fail(`the deleted rule's subject reads "${subject}"`);
  noId(await visible('#activity-table tbody tr'), 'an activity row');
  if (await page.locator('#activity-table tbody td.details code:visible').count()) fail('raw details are shown before their disclosure is opened');
  await audit('activity');

  step('the raw details are behind a disclosure');
  const moved = rows.filter({ hasText: 'Moved the rule for Support from 3 to 1.' });
  await moved.getByText('Raw details').click();
  const raw = await moved.locator('td.details code').innerText();
  const details = JSON.parse(raw);
  if (details.moved?.[0]?.group !== 'Support' || details.moved[0].id !== SUPPORT_RULE) fail(`the move's raw details: ${raw}`);
  await audit('activity with raw details open');

  step("a rule's preview names the role");
  await page.goto(`${CONSOLE_URL}#/rules/${encodeURIComponent(SUPPORT_RULE)}`);
  await page.getByRole('heading', { name: 'Edit rule 1' }).waitFor();
  await page.getByRole('radio', { name: 'Also remove admin rights that a lower rule gives' }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await dialog.getByRole('heading', { name: 'Save the changes to this rule?' }).waitFor();
  const preview = await dialog.innerText();
  if (!preview.includes('admin role Full access → No admin rights')) fail(`the preview does not name the role: ${preview}`);
  if (/\b(full_admin|none)\b/.test(preview)) fail(`the preview shows a role's code: ${preview}`);
  noId([preview], 'the preview');
  await audit('rule preview');
  await dialog.getByRole('button', { name: 'Back to the form' }).click();

  step("a user's explain view names the template and the language");
  await page.goto(`${CONSOLE_URL}#/users/${encodeURIComponent(ADA_USER)}`);
  const explainRow = (label) => page.locator('tr', { has: page.getByRole('rowheader', { name: label, exact: true }) }).locator('td').first();
  await explainRow('Welcome email template').waitFor();
  const template = (await explainRow('Welcome email template').innerText()).trim();
  const language = (await explainRow('Language').innerText()).trim();
  if (template !== 'Welcome' || language !== 'German') fail(`the explain view reads template "${template}", language "${language}"`);
  noId(await visible('#explain'), 'the explain view');
  await audit('explain');

  if (problems.length) fail(`the page reported problems:\n${problems.join('\n')}`);
  if (violations.length) fail(`accessibility violations:\n${violations.join('\n')}`);
  console.log('[console names] all steps passed');
} catch (e) {
  console.error(`[console names] FAILED at step "${current()}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
