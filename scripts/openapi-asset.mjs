#!/usr/bin/env node
// Writes build/assets/openapi.json: openapi/openapi.json without whitespace. The worker serves
// it at GET /openapi.json from the ASSETS binding (Workers static assets, wrangler.toml
// [assets]) rather than compiling it in: the document is 103 KB, about 16 KB of the wasm's
// gzip size, and a static asset is neither uploaded with the script nor loaded at start-up.
// JSON.parse then JSON.stringify: the same document (integer-like keys such as response
// codes come first, in ascending order, as in every JavaScript object; key order has no
// meaning in JSON). A file that is not JSON fails the build here, not at run time.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'openapi/openapi.json');
const out = path.join(root, 'build/assets/openapi.json');
const doc = JSON.parse(fs.readFileSync(src, 'utf8'));
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(`${out}.tmp`, JSON.stringify(doc));
fs.renameSync(`${out}.tmp`, out);
