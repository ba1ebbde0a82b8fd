// Refuses a lockfile that would install anything but registry tarballs checked by integrity:
// run before every `npm ci` (src/http/CMakeLists.txt, tests/browser/run.sh).
// Usage: node check-lock.mjs package-lock.json [registry]
import { readFileSync } from 'node:fs';

const [file, registry = 'https://registry.npmjs.org/'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node check-lock.mjs package-lock.json [registry]');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(file, 'utf8'));
const problems = [];
if (lock.lockfileVersion !== 3) problems.push(`lockfileVersion is ${lock.lockfileVersion}, not 3`);
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path === '') continue;
  if (entry.link) problems.push(`${path}: a link, not a registry package`);
  // Without `resolved` (npm's omit-lockfile-registry-resolved) npm takes the configured registry.
  else if (entry.resolved !== undefined && !String(entry.resolved).startsWith(registry))
    problems.push(`${path}: resolved from ${entry.resolved}, not ${registry}`);
  else if (typeof entry.integrity !== 'string' || !entry.integrity.startsWith('sha512-'))
    problems.push(`${path}: no sha512 integrity`);
}
if (problems.length) {
  console.error(`${file}: refused:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${file}: ${Object.keys(lock.packages).length - 1} packages, each a registry tarball with sha512 integrity`);
