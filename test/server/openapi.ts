// The one check every server test applies: each exchange the server handled is compared with
// Mender's OpenAPI (../shared/specs/mender, the bundled spec of all services): the operation
// exists, the status code is declared, request and response bodies validate against the schemas.
// Documented exceptions, each with its source:
// - POST v1 `next` (routing.go in mender-server; not in the YAML): body = InstalledDeviceDeployment,
//   answers as GET `next`. POST v2 `next` (Enterprise; docs.mender.io): 404 like open source, or
//   with v2Next the same answers as GET `next`.
// - auth_requests 200: the YAML says application/json string; the real server sends the raw JWT
//   as `application/jwt` (mender-protocol.md §2.1), so a text body is checked as that string.
// - 401 on endpoints with a security scheme, 413/415 from the deployments JSON middleware, and 429
//   or 5xx from injected faults are not listed per operation; they must carry the Error schema.
// - /download/artifacts/…: our stand-in for the pre-signed object-storage URL (S3 rules: 200 with
//   Content-Length, or 206 with a Content-Range that matches the Range asked).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { MENDER_SPECS } from '../vectors.ts';
import type { Exchange } from '../../simulator/server/server.ts';

type Schema = Record<string, unknown>;
interface Operation {
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Schema }> }>;
}

const SPEC_ID = 'mender-openapi';
const INSTALLED_DEVICE_DEPLOYMENT: Schema = {
  type: 'object',
  required: ['artifact_name', 'device_type'],
  properties: {
    artifact_name: { type: 'string', minLength: 1, maxLength: 4096 },
    device_type: { type: 'string', minLength: 1, maxLength: 4096 },
    artifact_provides: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 4096 } },
  },
};
const V2_NEXT_REQUEST: Schema = {
  type: 'object',
  required: ['device_provides'],
  properties: {
    device_provides: { type: 'object', required: ['artifact_name', 'device_type'], additionalProperties: { type: 'string' } },
    update_control_map: { type: 'boolean' },
  },
};

let loaded: { doc: { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, Operation['responses'][string]> } }; ajv: Ajv; templates: { template: string; regex: RegExp }[] } | undefined;

function spec() {
  if (loaded !== undefined) return loaded;
  const doc = parse(readFileSync(resolve(MENDER_SPECS, 'mender-server-all-apis-bundled-openapi.yaml'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  for (const format of ['url', 'long', 'binary', 'int64', 'int32', 'float', 'double']) ajv.addFormat(format, true);
  ajv.addSchema(doc, SPEC_ID);
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  loaded = { doc, ajv, templates };
  return loaded;
}

const validators = new Map<string, ValidateFunction>();

function validator(schema: Schema): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (v === undefined) {
    // Local refs (#/components/...) point into the bundled document.
    const rebased = JSON.parse(key.replace(/"\$ref":"#\//g, `"$ref":"${SPEC_ID}#/`)) as Schema;
    v = spec().ajv.compile(rebased);
    validators.set(key, v);
  }
  return v;
}

function checkSchema(schema: Schema, value: unknown, what: string, problems: string[]): void {
  const v = validator(schema);
  if (!v(value)) problems.push(`${what}: ${spec().ajv.errorsText(v.errors)}`);
}

function jsonOf(body: Buffer, what: string, problems: string[]): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    problems.push(`${what}: not JSON: ${JSON.stringify(body.toString('utf8').slice(0, 80))}`);
    return undefined;
  }
}

function findOperation(method: string, path: string): Operation | undefined {
  const { doc, templates } = spec();
  // Prefer a literal path over a templated one (e.g. /artifacts/list over /artifacts/{id}).
  const matches = templates.filter((t) => t.regex.test(path)).sort((a, b) => (a.template.includes('{') ? 1 : 0) - (b.template.includes('{') ? 1 : 0));
  for (const t of matches) {
    const op = doc.paths[t.template]![method.toLowerCase()];
    if (op !== undefined) return op;
  }
  return undefined;
}

const ERROR_SCHEMA: Schema = { $ref: '#/components/schemas/Error' };
const GET_NEXT = '/api/devices/v1/deployments/device/deployments/next';

/** Problems with one exchange (empty when it follows the spec). */
export function exchangeProblems(exchange: Exchange): string[] {
  const problems: string[] = [];
  let url: URL;
  try {
    url = new URL(exchange.url, 'http://x');
  } catch {
    // A target no URL parser takes (e.g. "//") matches no operation: it must be a plain 400.
    return exchange.status === 400 ? [] : [`${exchange.method} ${exchange.url} → ${exchange.status}: an unparsable target must be answered 400`];
  }
  const where = `${exchange.method} ${url.pathname} → ${exchange.status}`;
  const type = (exchange.responseHeaders['Content-Type'] ?? '').split(';')[0]!.trim();
  const body = exchange.responseBody ?? Buffer.alloc(0);
  const genericError = () => {
    if (type !== 'application/json') problems.push(`${where}: error answer must be application/json, got ${JSON.stringify(type)}`);
    else checkSchema(ERROR_SCHEMA, jsonOf(body, where, problems), `${where} error body`, problems);
  };

  if (url.pathname.startsWith('/download/artifacts/')) {
    if (exchange.status === 200 || exchange.status === 206) {
      if (exchange.responseHeaders['Content-Length'] === undefined) problems.push(`${where}: no Content-Length`);
      const range = exchange.requestHeaders.range;
      const contentRange = exchange.responseHeaders['Content-Range'];
      if (exchange.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange ?? '');
        const asked = /^bytes=(\d+)-/.exec(String(range ?? ''));
        if (m === null || asked === null || m[1] !== asked[1]) problems.push(`${where}: Content-Range ${contentRange} does not answer Range ${range}`);
        else if (Number(m[2]) - Number(m[1]) + 1 !== Number(exchange.responseHeaders['Content-Length'])) problems.push(`${where}: Content-Range and Content-Length disagree`);
      } else if (range !== undefined) problems.push(`${where}: a ranged request answered 200`);
    } else if ([403, 404, 416, 429, 500, 502, 503].includes(exchange.status)) genericError();
    else problems.push(`${where}: status not expected from object storage`);
    return problems;
  }

  let op = findOperation(exchange.method, url.pathname);
  let requestSchema: Schema | undefined;
  if (op !== undefined) requestSchema = op.requestBody?.content?.['application/json']?.schema;
  if (op === undefined && url.pathname === GET_NEXT && exchange.method === 'POST') {
    op = findOperation('GET', GET_NEXT);
    requestSchema = INSTALLED_DEVICE_DEPLOYMENT;
  }
  if (op === undefined && url.pathname === '/api/devices/v2/deployments/device/deployments/next' && exchange.method === 'POST') {
    if (exchange.status === 404) {
      genericError();
      return problems;
    }
    op = findOperation('GET', GET_NEXT);
    requestSchema = V2_NEXT_REQUEST;
  }
  if (op === undefined) return [`${where}: no such operation in the Mender OpenAPI`];

  // Request body
  const requestType = String(exchange.requestHeaders['content-type'] ?? '').split(';')[0]!.trim();
  // A summary cut short (a body past EXCHANGE_BODY_BYTES) cannot be parsed: its shape is not checked.
  const requestWhole = exchange.requestBody.length === exchange.requestBodyBytes;
  if (requestSchema !== undefined && requestWhole && exchange.requestBody.length > 0 && requestType === 'application/json' && exchange.status < 500 && exchange.fault === undefined && exchange.status !== 400 && exchange.status !== 415) {
    checkSchema(requestSchema, jsonOf(exchange.requestBody, `${where} request`, problems), `${where} request body`, problems);
  }

  // Status code and response body
  let declared = op.responses[String(exchange.status)] ?? op.responses.default;
  if (declared?.$ref !== undefined) declared = spec().doc.components.responses[declared.$ref.split('/').pop()!];
  if (declared === undefined) {
    const secured = (op.security ?? []).length > 0 || url.pathname.startsWith('/api/devices/') && !url.pathname.endsWith('/auth_requests');
    const malformedPath = exchange.status === 400 && !decodes(url.pathname);
    // The dev server bounds concurrent uploads with 429 + Retry-After, as Mender's gateway rate-limits.
    const busyUpload = exchange.status === 429 && exchange.method === 'POST' && url.pathname === '/api/management/v1/deployments/artifacts' && exchange.responseHeaders['Retry-After'] !== undefined;
    const allowed = malformedPath || busyUpload || (exchange.status === 401 && secured) || exchange.status === 413 || exchange.status === 415 || (exchange.fault !== undefined && (exchange.status === 429 || exchange.status >= 500));
    if (!allowed) problems.push(`${where}: status not declared in the spec`);
    else genericError();
    return problems;
  }
  const content = declared.content ?? {};
  const mediaTypes = Object.keys(content);
  if (mediaTypes.length === 0) {
    if (body.length > 0) problems.push(`${where}: the spec declares no body, got ${body.length} bytes`);
    return problems;
  }
  if (url.pathname.endsWith('/auth_requests') && exchange.status === 200) {
    if (type !== 'application/jwt' || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(body.toString('utf8'))) problems.push(`${where}: expected a raw JWT as application/jwt`);
    return problems;
  }
  if (exchange.status === 204 || (body.length === 0 && exchange.status !== 200)) return problems;
  if (body.length !== exchange.responseBodyBytes) return problems; // a summary cut short
  const schema = content[type]?.schema;
  if (!mediaTypes.includes(type)) problems.push(`${where}: Content-Type ${JSON.stringify(type)} not among ${mediaTypes.join(', ')}`);
  else if (schema !== undefined) {
    const value = type === 'application/json' ? jsonOf(body, where, problems) : body.toString('utf8');
    checkSchema(schema, value, `${where} response body`, problems);
  }
  return problems;
}

/** False for a path with a bad percent escape: refused (400) before any operation is chosen. */
function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** Throws listing every exchange that breaks the spec. */
export function expectExchangesFollowSpec(exchanges: readonly Exchange[]): void {
  const problems = exchanges.flatMap(exchangeProblems);
  if (problems.length > 0) throw new Error(`${problems.length} exchange(s) break the Mender OpenAPI:\n${problems.join('\n')}`);
}
