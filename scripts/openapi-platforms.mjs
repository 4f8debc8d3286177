// Writes the built-in platform ids (core/examples/platform_ids.rs, from the catalog) into
// openapi/openapi.json as the enum of components.schemas.PlatformId, so the document lists
// exactly the platforms the worker knows. `--check`: change nothing, exit 1 when the
// document's list is not the catalog's (`make test-openapi` runs this).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.join(root, 'openapi/openapi.json');
const check = process.argv.includes('--check');

const out = execFileSync('cargo', ['run', '-q', '-p', 'connect-links-core', '--example', 'platform_ids'], { cwd: root, encoding: 'utf8' });
const ids = JSON.parse(out);
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const schema = doc.components?.schemas?.PlatformId;
const listed = schema?.anyOf?.[0]?.enum;
if (check) {
  if (JSON.stringify(listed) !== JSON.stringify(ids)) {
    console.error(`openapi/openapi.json: components.schemas.PlatformId lists ${JSON.stringify(listed)}, the catalog ${JSON.stringify(ids)}; run node scripts/openapi-platforms.mjs`);
    process.exit(1);
  }
  console.log(`openapi/openapi.json: PlatformId lists the catalog's ${ids.length} platforms`);
} else {
  doc.components.schemas.PlatformId = {
    description:
      'A platform id: one of the built-in platforms listed here (generated from the catalog by ' +
      '`scripts/openapi-platforms.mjs`; `sandbox` only with SANDBOX=on), or the id of a custom ' +
      'provider configured in CUSTOM_PROVIDERS (`[a-z][a-z0-9_]{0,31}`). `GET /v1/platforms` ' +
      'lists those configured for the app.',
    anyOf: [
      { type: 'string', enum: ids },
      { type: 'string', pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'A custom provider from CUSTOM_PROVIDERS.' },
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`openapi/openapi.json: PlatformId now lists ${ids.join(', ')}`);
}
