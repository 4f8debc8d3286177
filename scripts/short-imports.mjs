#!/usr/bin/env node
// Release builds (`make build`, after wasm-opt): short names for the wasm's imports and for the
// functions it exports to its glue.
//
// wasm-bindgen names each JavaScript function the wasm imports `__wbg_<name>_<16 hex digits>`;
// the worker's 189 such names took 6.5 KB of its import section, 1.7 KB of the gzip (the hashes
// do not compress), against the 512 KB gzip budget (docs/performance.md). Each imported function
// is renamed `_<n in base 36>` in the wasm (binaryen's JavaScript API: the import re-added under
// the same internal name, so every call to it stays as it was) and in the glue's import object
// (build/index.js), where its old name must be a key exactly once: anything else (a new
// wasm-bindgen writing its glue another way) stops the build rather than leave a name unmatched.
// The exports the glue calls by long names are renamed `$<n>` the same way (below). Nothing else
// changes: the glue's functions and the wasm's code are the same. Last, the two custom sections
// only tools read are dropped.
import binaryen from 'binaryen';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = path.join(root, 'build/index_bg.wasm');
const jsPath = path.join(root, 'build/index.js');

function fail(message) {
  console.error(`short-imports: ${message}`);
  process.exit(1);
}

const module = binaryen.readBinary(fs.readFileSync(wasmPath));
// The module keeps the features `readBinary` read from the wasm's target_features section (as
// wasm-opt left it); setting more (`Features.All`) made binaryen write compact imports, an
// encoding the Workers runtime cannot read.
let js = fs.readFileSync(jsPath, 'utf8');

const imports = [];
for (let i = 0; i < module.getNumFunctions(); i++) {
  const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
  if (info.module) imports.push(info);
}
if (imports.length === 0) fail('the wasm imports no function');

const escape = (s) => s.replace(/[$.*+?^(){}|[\]\\]/g, '\\$&');
for (const [n, info] of imports.entries()) {
  const short = `_${n.toString(36)}`;
  // The old name as a key of the glue's import object: `{` or `,` before it, `:` after it.
  const key = new RegExp(`([{,])${escape(info.base)}:`, 'g');
  const found = js.match(key)?.length ?? 0;
  if (found !== 1) fail(`the import ${info.module}.${info.base} is a key of build/index.js ${found} times, not once`);
  if (new RegExp(`[{,]${short}:`).test(js)) fail(`build/index.js already has a key ${short}`);
  js = js.replace(key, `$1${short}:`);
  module.removeFunction(info.name);
  module.addFunctionImport(info.name, info.module, short, info.params, info.results);
}
// The same for the functions the wasm exports to its glue under wasm-bindgen's long names
// (`__wbg_get_containerstartupoptions_enableInternet`, the closures' hashed invokers): the glue
// calls each as a property of the exports object (`i.<name>`, the one variable it assigns
// `<instance>.exports` to), at least once. The entry points workerd calls (`fetch`, `queue`,
// `scheduled`) and the memory, tables and globals keep their names.
const exportsVar = [...new Set([...js.matchAll(/[{;,(]([A-Za-z_$][\w$]*)=[A-Za-z_$][\w$]*\.exports\b/g)].map((m) => m[1]))];
if (exportsVar.length !== 1) fail(`build/index.js assigns the wasm's exports to ${exportsVar.length} variables, not one`);
const LONG = /^(__wbg_|__wbindgen_|wasm_bindgen__|__worker_|__externref_|intounderlying|ratelimiter_)/;
const exported = [];
for (let i = 0; i < module.getNumExports(); i++) {
  const info = binaryen.getExportInfo(module.getExportByIndex(i));
  if (info.kind === binaryen.ExternalFunction && LONG.test(info.name)) exported.push(info);
}
for (const [n, info] of exported.entries()) {
  const short = `$${n.toString(36)}`;
  const use = new RegExp(`(?<![\\w$.])${escape(exportsVar[0])}\\.${escape(info.name)}(?![\\w$])`, 'g');
  const found = js.match(use)?.length ?? 0;
  if (found === 0) fail(`the export ${info.name} is never called as ${exportsVar[0]}.${info.name} in build/index.js`);
  if (new RegExp(`\\.\\${short}(?![\\w$])`).test(js)) fail(`build/index.js already uses a property ${short}`);
  js = js.replace(use, `${exportsVar[0]}.${short}`);
  module.removeExport(info.name);
  module.addFunctionExport(info.value, short);
}
if (!module.validate()) fail('the renamed wasm does not validate');
// The `producers` and `target_features` sections are for tools, not the runtime (300 bytes).
module.runPasses(['strip-producers', 'strip-target-features']);

const before = fs.statSync(wasmPath).size;
const bytes = module.emitBinary();
module.dispose();
fs.writeFileSync(wasmPath, bytes);
fs.writeFileSync(jsPath, js);
console.log(`short-imports: ${imports.length} imports and ${exported.length} exports renamed; wasm ${before} -> ${bytes.length} bytes`);
