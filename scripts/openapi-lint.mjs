// Validates openapi/openapi.json (OpenAPI 3.1) with swagger-parser: the document against the
// OpenAPI schema, every $ref resolved. Exits non-zero with the message when it is not valid.
// Usage: node scripts/openapi-lint.mjs [path]   (default: openapi/openapi.json at the repo root)
import SwaggerParser from '@apidevtools/swagger-parser';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = path.resolve(process.argv[2] || path.join(root, 'openapi/openapi.json'));

try {
  const api = await SwaggerParser.validate(file);
  const operations = Object.values(api.paths || {}).reduce(
    (n, item) => n + ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].filter((m) => item[m]).length,
    0,
  );
  console.log(`${path.relative(process.cwd(), file) || file}: valid OpenAPI ${api.openapi} (${operations} operations, ${Object.keys(api.webhooks || {}).length} webhooks)`);
} catch (e) {
  console.error(`${path.relative(process.cwd(), file) || file}: not a valid OpenAPI document:\n${e.message}`);
  process.exit(1);
}
