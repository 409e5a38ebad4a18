// What the browser tests share: their settings from the environment, a log
// of steps with a watchdog that names the step a stuck run was at, the
// browser and its pages, and the accessibility audit.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

// The environment variable `name`; the run stops (exit 2) when it is unset.
export const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return v;
};

// Steps logged as `[label] step: …`; a run still going after `watchdogMs`
// fails (exit 1) naming its step. `current()` is the step under way.
export const steps = (label, watchdogMs) => {
  let stepName = 'start';
  setTimeout(() => {
    console.error(`[${label}] FAILED: no end after ${watchdogMs / 60_000} minutes (step "${stepName}")`);
    process.exit(1);
  }, watchdogMs).unref();
  return {
    step: (name) => {
      stepName = name;
      console.log(`[${label}] step: ${name}`);
    },
    current: () => stepName,
  };
};

export const fail = (m) => {
  throw new Error(m);
};

export const expectEqual = (actual, expected, what) => {
  if (actual !== expected) fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};

// Debian's chromium (or $CHROMIUM), headless, reaching nothing but the stack.
export const launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

// A page in a new context of `browser`. `problems` collects what the page
// logs as an error (refused calls answered 4xx on purpose are not errors).
export const openPage = async (browser, viewport = { width: 1180, height: 820 }) => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // generous: the whole test suite may share the machine's two cores
  page.setDefaultTimeout(30_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  return { context, page, problems };
};

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// axe-core, the accessibility rules engine, on `page`: `audit(screen)` checks
// the screen against WCAG 2.1 A and AA and adds what it finds to `violations`.
// It is evaluated through the DevTools protocol, which the page's CSP does not
// govern: the page itself still loads only its own scripts.
export const axeAuditor = (page) => {
  const violations = [];
  const audit = async (screen) => {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
    const result = await page.evaluate(() =>
      window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] }),
    );
    for (const v of result.violations) {
      for (const n of v.nodes) violations.push(`${screen}: ${v.id} (${v.impact}) ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`);
    }
  };
  return { audit, violations };
};

// The control endpoints of the product API simulator at `sim`: a function
// `(method, path after /control, body)` answering the JSON (or null); a
// refusal fails the run.
export const simulatorControl = (sim) => async (method, path, body) => {
  const res = await fetch(`${sim}/control${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) fail(`simulator ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
};

// A request to `base` with `token`, as the admin (the API) or, with `scim`,
// as the identity provider makes it; the answer's JSON (or null). A refusal
// fails the run.
export const request = async (base, token, method, path, body, { headers = {}, scim = false } = {}) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': scim ? 'application/scim+json' : 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) fail(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
};
