// The domain warning banner in Debian's chromium, against a running stack.
// Run by tests/tests/e2e/console.rs, which gives the organization a verified
// domain whose DNS record the re-check found missing, and passes:
//   CONSOLE_URL     the console page ({base}/console)
//   ADMIN_TOKEN     the organization's admin token
//   MISSING_DOMAIN  the flagged domain
//   LAPSES_AT       when its grace period ends (as the admin API gives it)
//   CHROMIUM        the browser (default /usr/bin/chromium)
// Exits 0 when every step passed; otherwise prints the failed step and
// exits 1.

import { env, fail, launch, openPage, steps } from './harness.mjs';

const CONSOLE_URL = env('CONSOLE_URL');
const TOKEN = env('ADMIN_TOKEN');
const DOMAIN = env('MISSING_DOMAIN');
const LAPSES_AT = env('LAPSES_AT');

const { step, current } = steps('domain warning', 3 * 60_000);

const browser = await launch();
try {
  const { page } = await openPage(browser);

  step('sign in');
  await page.goto(CONSOLE_URL);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'User Sync', exact: true }).waitFor();

  const banner = page.locator('#domain-warnings .banner', { hasText: DOMAIN });
  for (const [hash, title] of [
    ['#/sync', 'User Sync'],
    ['#/users', 'Users'],
    ['#/activity', 'Activity history'],
    ['#/templates', 'Email templates'],
  ]) {
    step(`the banner on ${hash}`);
    await page.goto(`${CONSOLE_URL}${hash}`);
    await page.getByRole('heading', { name: title, exact: true }).waitFor();
    await banner.getByRole('heading', { name: `DNS record missing for ${DOMAIN}` }).waitFor();
    const text = await banner.locator('.message').textContent();
    if (!text.includes(LAPSES_AT)) fail(`the banner does not say when the grace period ends (${LAPSES_AT}): ${text}`);
    if (!text.includes('no account and no email')) fail(`the banner does not say what happens then: ${text}`);
  }

  step('readable at 200% zoom: the banner does not scroll sideways');
  await page.setViewportSize({ width: 590, height: 820 });
  await page.waitForLoadState('networkidle');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) fail(`the page scrolls sideways by ${overflow}px at 200% zoom`);

  step('the banner leads to the Domains page');
  await banner.getByRole('link', { name: 'Go to Domains' }).click();
  await page.getByRole('heading', { name: 'Domains', exact: true }).waitFor();
  await page.getByRole('region', { name: DOMAIN }).getByText('Record missing').first().waitFor();

  step('signing out removes the banner');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to User Sync' }).waitFor();
  if (await page.locator('#domain-warnings .banner').count()) fail('the banner stayed after sign-out');
  console.log('[domain warning] all steps passed');
} catch (e) {
  console.error(`[domain warning] FAILED at step "${current()}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
