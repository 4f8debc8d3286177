// What the Chromium tests share: the browser launched (without its sandbox when we are root,
// which Chromium refuses otherwise), tabs that record what the page policy refuses, axe's
// serious and critical findings, and the folder the screenshots go to. Which Chromium, and
// whether its absence skips or fails, is browser-find.mjs's.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './browser-find.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the tests save screenshots for a reviewer (gitignored). */
export const SHOTS = path.join(root, 'test-results/screenshots');

/** Launches the Chromium browser-find.mjs found, headless. */
export function launchChromium() {
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

/** Whether a console message is the page policy refusing something. */
const refusal = (text) => /Content Security Policy|Refused to/i.test(text);

/**
 * A tab (in its own context, `contextOptions` as Playwright's) whose `violations` collects
 * the page policy's refusals as Chromium reports them on the console (their text), and with
 * `pageErrors` the page's uncaught errors too.
 */
export async function policyTab(browser, { pageErrors = false, ...contextOptions } = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const violations = [];
  page.on('console', (m) => {
    if (refusal(m.text())) violations.push(m.text());
  });
  if (pageErrors) page.on('pageerror', (e) => violations.push(String(e)));
  return { context, page, violations };
}

/**
 * A tab whose `violations` collects the policy's `securitypolicyviolation` events as objects
 * ({ directive, blocked, page }), and with `consoleToo` its console refusals ({ console }).
 */
export async function violationEventsTab(browser, { consoleToo = false } = {}) {
  const context = await browser.newContext();
  const violations = [];
  await context.exposeBinding('__reportViolation', (_src, v) => violations.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__reportViolation({ directive: e.violatedDirective, blocked: e.blockedURI, page: location.pathname }));
  });
  const page = await context.newPage();
  if (consoleToo) {
    page.on('console', (m) => {
      if (refusal(m.text())) violations.push({ console: m.text() });
    });
  }
  return { context, page, violations };
}

/**
 * axe-core's serious and critical findings on the page as it is, one line each (rule,
 * impact, help, where). axe is injected through the DevTools protocol: the page policy
 * allows no script of the page's own.
 */
export async function axeProblems(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
