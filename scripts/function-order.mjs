#!/usr/bin/env node
// Release builds (`make build`, before wasm-opt): the order the wasm's functions are laid out in,
// chosen for gzip. wasm-opt's last pass (`--reorder-functions-by-name`, the Makefile's
// STRIP_release) sorts the functions by name, then drops the names; this rewrites the names it
// sorts by, in the wasm's `name` section, to each function's name without rustc's `::h<hash>`
// suffix, then the size of its body, then its index (so the copies of one generic function
// sit together, smallest first, instead of in the order of their hashes). Nothing but the
// names changes, and wasm-opt drops them: the code is the same, only placed elsewhere.
// docs/performance.md (Size): 1.1 KB gzip less than the plain names' order.
//   node scripts/function-order.mjs build/index_bg.wasm
import fs from 'node:fs';

function fail(message) {
  console.error(`function-order: ${message}`);
  process.exit(1);
}

const file = process.argv[2] ?? fail('usage: function-order.mjs <wasm>');
const wasm = fs.readFileSync(file);

// Reading unsigned LEB128 numbers and byte strings of `wasm` at `pos`, past its header.
let pos = 8;
function u32() {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = wasm[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}
function bytes() {
  const n = u32();
  pos += n;
  return wasm.subarray(pos - n, pos);
}
function leb(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
function str(s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([leb(b.length), b]);
}

let importedFunctions = 0;
const bodySizes = [];
let nameSection = null;
while (pos < wasm.length) {
  const start = pos;
  const id = wasm[pos++];
  const size = u32();
  const end = pos + size;
  if (id === 2) {
    // Imports: count the functions among them (they come first in the function index space).
    for (let n = u32(); n > 0; n--) {
      bytes();
      bytes();
      const kind = wasm[pos++];
      if (kind === 0) {
        importedFunctions++;
        u32();
      } else if (kind === 1 || kind === 2) {
        if (kind === 1) pos++; // the table's element type
        const flags = wasm[pos++];
        u32();
        if (flags & 1) u32();
      } else if (kind === 3) {
        pos += 2; // value type, mutability
      } else if (kind === 4) {
        pos++;
        u32();
      } else {
        fail(`import kind ${kind} is not one this script reads`);
      }
    }
  } else if (id === 10) {
    for (let n = u32(); n > 0; n--) {
      const len = u32();
      bodySizes.push(len);
      pos += len;
    }
  } else if (id === 0) {
    const name = bytes().toString('utf8');
    if (name === 'name') nameSection = { start, end, payload: pos };
  }
  pos = end;
}
if (!nameSection) fail('the wasm has no name section (worker-build keeps it; is this its output?)');

// The name section's subsections, with the function names (subsection 1) rewritten.
pos = nameSection.payload;
const parts = [];
let renamed = 0;
while (pos < nameSection.end) {
  const subStart = pos;
  const sub = wasm[pos++];
  const size = u32();
  const end = pos + size;
  if (sub !== 1) {
    parts.push(wasm.subarray(subStart, end));
    pos = end;
    continue;
  }
  const entries = [];
  for (let n = u32(); n > 0; n--) {
    const index = u32();
    const name = bytes().toString('utf8');
    const body = bodySizes[index - importedFunctions];
    if (body === undefined) {
      entries.push(Buffer.concat([leb(index), str(name)]));
      continue;
    }
    const key = `${name.replace(/::h[0-9a-f]{16}$/, '')} ${String(body).padStart(8, '0')} ${String(index).padStart(6, '0')}`;
    entries.push(Buffer.concat([leb(index), str(key)]));
    renamed++;
  }
  const payload = Buffer.concat([leb(entries.length), ...entries]);
  parts.push(Buffer.concat([Buffer.from([1]), leb(payload.length), payload]));
  pos = end;
}
if (renamed === 0) fail('no function name was rewritten');
const content = Buffer.concat([str('name'), ...parts]);
const section = Buffer.concat([Buffer.from([0]), leb(content.length), content]);
fs.writeFileSync(file, Buffer.concat([wasm.subarray(0, nameSection.start), section, wasm.subarray(nameSection.end)]));
console.log(`function-order: ${renamed} function names rewritten for wasm-opt's order`);
