// The Chromium the browser tests drive: CHROMIUM_PATH, else `chromium` on PATH. Without one,
// the tests say SKIPPED loudly, unless REQUIRE_BROWSER=1 (CI), where they fail instead.
import fs from 'node:fs';
import path from 'node:path';

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function findChromium() {
  if (process.env.CHROMIUM_PATH) return isExecutable(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'chromium');
    if (dir && isExecutable(candidate)) return candidate;
  }
  return null;
}

/** The Chromium executable, or null. */
export const CHROMIUM = findChromium();
/** Whether a missing browser fails the tests (REQUIRE_BROWSER=1) rather than skipping them. */
export const REQUIRED = process.env.REQUIRE_BROWSER === '1';
const NO_BROWSER = 'SKIPPED: no Chromium (set CHROMIUM_PATH or install chromium)';
/** `skip` for node:test: the reason when there is no browser and none is required, else false. */
export const skip = !CHROMIUM && !REQUIRED ? NO_BROWSER : false;
if (skip) console.error(`\n${'!'.repeat(72)}\n!!! ${NO_BROWSER}\n${'!'.repeat(72)}\n`);
