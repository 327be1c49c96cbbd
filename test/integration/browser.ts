// The one way the browser tests start Debian's chromium (driven by playwright-core, no browser
// download) and run axe-core in a page. Never skipped: without chromium at CHROMIUM the launch fails
// and says so (.ci/run installs it with apt-get).
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const AXE = require.resolve('axe-core/axe.min.js');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts headless chromium; fails with the reason when Debian's chromium is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Debian's chromium is not at ${CHROMIUM}: install it (apt-get install chromium); .ci/run does`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * Runs axe-core in the page; returns its serious and critical violations, one line each (rule, help,
 * up to five targets). The page's context needs `bypassCSP: true`: the pages' CSP forbids the injected
 * script tag, which changes nothing axe checks.
 */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const found = (await page.evaluate('axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) })))')) as Array<{ id: string; impact: string | null; help: string; nodes: string[] }>;
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 5).join(', ')}${v.nodes.length > 5 ? ` …and ${v.nodes.length - 5} more` : ''}`);
}
