// Users no rule matches, in Debian's chromium, against a running stack: a
// user no rule has ever matched is "No rule — no account", one the directory
// deactivated before any rule gave them an account is "Inactive — no
// account", one whose account exists is "Suspended"; each is counted on its
// own and never "In sync", with the same words in the counts, the users list
// and the user's page. Run by tests/tests/e2e/console.rs, which prepares an
// organization with two users in sync (ana, bob), one suspended (cy), one no
// rule matches (dan) and one inactive from the start (eve), and passes:
//   CONSOLE_URL  the console page ({base}/console)
//   ADMIN_TOKEN  the organization's admin token
//   ANA_ID, CY_ID, DAN_ID, EVE_ID  the users' ids
//   CHROMIUM     the browser (default /usr/bin/chromium)
// Every screen is checked with axe-core (WCAG 2.1 A and AA). Exits 0 when
// every step passed; otherwise prints the failed step and exits 1.

import { axeAuditor, env, expectEqual, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const ANA = env('ANA_ID');
const CY = env('CY_ID');
const DAN = env('DAN_ID');
const EVE = env('EVE_ID');

const NO_RULE = 'No rule — no account';
const INACTIVE = 'Inactive — no account';
const { step, current } = steps('user states', 4 * 60_000);

const browser = await launch();
try {
  const { page } = await openPage(browser);

  const { audit, violations } = axeAuditor(page);
  const text = async (locator) => (await locator.textContent()).trim();

  step('sign in');
  await page.goto(CONSOLE_URL);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();

  step('the counts: no rule and suspended on their own, never in sync');
  const count = (status) => page.locator(`#sync-status .count[data-status="${status}"]`);
  await count('in_sync').waitFor();
  for (const [status, label, n] of [
    ['in_sync', 'In sync', '2'],
    ['pending', 'Pending', '0'],
    ['failed', 'Failed', '0'],
    ['suspended', 'Suspended', '1'],
    ['no_rule', NO_RULE, '1'],
    ['inactive', INACTIVE, '1'],
    ['not_synced', 'Not synced', '0'],
  ]) {
    expectEqual(await text(count(status).locator('.n')), n, `the ${label} count`);
    if (!(await text(count(status))).endsWith(label)) fail(`the ${status} count is not labelled "${label}": ${await text(count(status))}`);
  }
  const summary = await text(page.locator('#sync-summary'));
  if (!summary.startsWith('2 of 2 entitled users in sync; 1 suspended; 1 with no rule (no account); 1 inactive in the directory (no account).')) fail(`the summary: ${summary}`);
  expectEqual(await page.locator('#sync-status progress').getAttribute('max'), '2', 'the progress bar counts entitled users');
  await audit('sync status');

  step('the users list: each user in its own words');
  await page.goto(`${CONSOLE_URL}#/users`);
  await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  const status = (id) => page.locator('#users-table tbody tr', { has: page.locator(`a[href="#/users/${id}"]`) }).locator('.pill');
  await status(DAN).waitFor();
  expectEqual(await text(status(ANA)), 'In sync', "ana's status");
  expectEqual(await text(status(CY)), 'Suspended', "cy's status");
  expectEqual(await text(status(DAN)), NO_RULE, "dan's status");
  expectEqual(await text(status(EVE)), INACTIVE, "eve's status");
  await audit('users list');

  step('the status filter lists the users no rule matches');
  await page.getByLabel('Sync status').selectOption('no_rule');
  await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 1);
  await status(DAN).waitFor();
  await page.getByLabel('Sync status').selectOption('inactive');
  await page.waitForFunction((eve) => {
    const rows = document.querySelectorAll('#users-table tbody tr');
    return rows.length === 1 && rows[0].querySelector(`a[href="#/users/${eve}"]`);
  }, EVE);
  await page.getByLabel('Sync status').selectOption('suspended');
  await page.waitForFunction((cy) => {
    const rows = document.querySelectorAll('#users-table tbody tr');
    return rows.length === 1 && rows[0].querySelector(`a[href="#/users/${cy}"]`);
  }, CY);
  await page.getByLabel('Sync status').selectOption('in_sync');
  await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 2);
  if (await status(DAN).count()) fail('dan is listed as in sync');
  if (await status(EVE).count()) fail('eve is listed as in sync');

  const fact = (label) => page.locator('#u-status + dl dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
  // a page of a user with no account: its status, nothing to apply, why,
  // and none of the words of a user who has one
  const noAccountPage = async (who, id, words, why, refused) => {
    await page.goto(`${CONSOLE_URL}#/users/${id}`);
    await page.locator('#u-status').waitFor();
    await page.locator('#explain').waitFor();
    await page.locator('#suspension').waitFor();
    expectEqual(await text(fact('Sync status')), words, `${who}'s sync status`);
    expectEqual(await text(fact('Last outcome')), 'nothing to apply: the user has no account', `${who}'s last outcome`);
    expectEqual(await text(page.locator('#suspension')), `${words}: ${why}`, `${who}'s explanation`);
    const shown = await text(page.locator('main'));
    for (const other of ['In sync', 'not attempted yet', 'Suspended', ...refused]) {
      if (shown.includes(other)) fail(`${who}'s page says "${other}"`);
    }
  };
  step("dan's page: no rule, no account, nothing to apply");
  await noAccountPage('dan', DAN, NO_RULE, 'no rule matches the user, so the user has no product account.', [INACTIVE]);
  await audit("a no-rule user's page");

  step("eve's page: inactive, no account, the same words as the list");
  await noAccountPage('eve', EVE, INACTIVE, 'inactive in the directory, so none is created.', [NO_RULE]);
  await audit("an inactive user's page");

  step("cy's page: suspended, the account kept");
  await page.goto(`${CONSOLE_URL}#/users/${CY}`);
  await page.locator('#u-status').waitFor();
  await page.locator('#suspension').waitFor();
  expectEqual(await text(fact('Sync status')), 'Suspended', "cy's sync status");
  expectEqual(await text(fact('Last outcome')), 'success', "cy's last outcome");
  expectEqual(await text(page.locator('#suspension')), 'Suspended: no rule matches the user any more; the account is kept.', "cy's explanation");
  if ((await text(page.locator('main'))).includes('In sync')) fail("cy's page says In sync");
  await audit("a suspended user's page");

  if (violations.length) fail(`accessibility (axe-core, WCAG 2.1 AA):\n  ${violations.join('\n  ')}`);
  console.log('[user states] all steps passed');
} catch (e) {
  console.error(`[user states] FAILED at step "${current()}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
