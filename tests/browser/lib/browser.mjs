// One headless Chromium (Debian's) for the whole run; contexts per language and viewport; a guard
// that fails the test on any request to another origin, on CSP refusals and on uncaught errors; an
// axe-core helper; screenshots.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const CHROMIUM = '/usr/bin/chromium';

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-gpu'] });
}

export const VIEWPORTS = { 1280: { width: 1280, height: 800 }, 390: { width: 390, height: 844 } };

export async function newContext(browser, { lang = 'en', width = 1280, timezoneId = 'Asia/Seoul' } = {}) {
  const context = await browser.newContext({
    locale: lang === 'ko' ? 'ko-KR' : 'en-US',
    timezoneId,
    viewport: VIEWPORTS[width],
    acceptDownloads: true,
  });
  return context;
}

// A page whose problems are collected; call guard.check() (or page.assertClean()) at the end.
// allowBlob: blob: URLs the page made itself are fine (the report page's "Download as a file").
export async function guardedPage(context, origin, { allowBlob = false } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('data:') || u.startsWith('blob:') || u.startsWith('about:')) {
      if (u.startsWith('blob:') && allowBlob && u.startsWith(`blob:${origin}/`)) return;
      if (u.startsWith('data:') || u.startsWith('blob:')) problems.push(`request to a ${u.slice(0, 5)} URL: ${u.slice(0, 60)}`);
      return;
    }
    if (new URL(u).origin !== origin) problems.push(`request to another origin: ${u}`);
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`console: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
  page.assertClean = () => {
    if (problems.length) throw new Error(`page guard:\n  ${problems.join('\n  ')}`);
  };
  page.problems = problems;
  return page;
}

// axe-core, failing on serious or critical violations (printed).
export async function assertAccessible(page, label) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const text = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `    ${n.target.join(' ')} ${n.failureSummary.replace(/\n/g, ' ')}`).join('\n')}`).join('\n  ');
    throw new Error(`axe (${label}): ${bad.length} serious/critical violations\n  ${text}`);
  }
  return result.violations;
}

export async function screenshot(page, screen, lang, width) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${screen}-${lang}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// No horizontal scroll (at 390 px above all).
export async function assertNoHorizontalScroll(page, label) {
  const { sw, cw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  if (sw > cw + 1) {
    const wide = await page.evaluate(() => {
      const w = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
        .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    });
    throw new Error(`${label}: horizontal scroll (${sw} > ${cw}); wide: ${wide.join(', ')}`);
  }
}

// Sign in through the UI's "API key" field.
export async function signIn(page, baseUrl, key, path = '/console/', { lang = 'en' } = {}) {
  await page.goto(baseUrl + path);
  const label = lang === 'ko' ? 'API 키' : 'API key';
  await page.getByLabel(label, { exact: true }).fill(key);
  await page.getByRole('button', { name: lang === 'ko' ? '로그인' : 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: lang === 'ko' ? '로그아웃' : 'Sign out', exact: true }).waitFor();
}

// A JPEG made by Chromium itself (a canvas), so the tests need no image files or tools.
export async function makeJpeg(browser, seed = 1, w = 320, h = 240) {
  const page = await browser.newPage();
  try {
    const b64 = await page.evaluate(async ({ seed, w, h }) => {
      const c = document.createElement('canvas');
      c.width = w; c.height = h;
      const g = c.getContext('2d');
      let s = seed * 9301 + 49297;
      const rnd = () => { s = (s * 9301 + 49297) % 233280; return s / 233280; };
      g.fillStyle = `hsl(${Math.floor(rnd() * 360)},60%,55%)`; g.fillRect(0, 0, w, h);
      for (let i = 0; i < 14; i++) {
        g.fillStyle = `hsl(${Math.floor(rnd() * 360)},${40 + Math.floor(rnd() * 50)}%,${25 + Math.floor(rnd() * 50)}%)`;
        g.beginPath(); g.arc(rnd() * w, rnd() * h, 10 + rnd() * 70, 0, 7); g.fill();
      }
      g.fillStyle = '#000'; g.font = 'bold 40px sans-serif'; g.fillText('TEST ' + seed, 20, h - 30);
      const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let bin = ''; for (const b of bytes) bin += String.fromCharCode(b);
      return btoa(bin);
    }, { seed, w, h });
    return Buffer.from(b64, 'base64');
  } finally { await page.close(); }
}
