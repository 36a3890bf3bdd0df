// The spec checker itself must be able to fail: broken shapes, undeclared statuses and unknown
// operations are reported; Mender-conformant exchanges pass.
import { describe, it, expect } from 'vitest';
import { exchangeProblems } from './openapi.ts';
import type { Exchange } from '../../simulator/server/server.ts';

function exchange(partial: Partial<Exchange> & { method: string; url: string; status: number }): Exchange {
  return {
    atMs: 0,
    requestHeaders: { 'content-type': 'application/json' },
    requestBody: Buffer.alloc(0),
    responseHeaders: { 'Content-Type': 'application/json' },
    responseBody: Buffer.alloc(0),
    ...partial,
    requestBodyBytes: partial.requestBodyBytes ?? partial.requestBody?.length ?? 0,
    responseBodyBytes: partial.responseBodyBytes ?? partial.responseBody?.length ?? 0,
  };
}

const NEXT = '/api/devices/v1/deployments/device/deployments/next';
const good = { id: 'd1', artifact: { artifact_name: 'a', source: { uri: 'https://x/y', expire: '2026-11-22T00:00:00Z' }, device_types_compatible: ['t'] } };

describe('OpenAPI exchange checker', () => {
  it('passes a conformant next answer and flags one missing artifact_name', () => {
    expect(exchangeProblems(exchange({ method: 'GET', url: `${NEXT}?artifact_name=a&device_type=t`, status: 200, responseBody: Buffer.from(JSON.stringify(good)) }))).toEqual([]);
    const bad = { ...good, artifact: { ...good.artifact, artifact_name: undefined } };
    expect(exchangeProblems(exchange({ method: 'GET', url: NEXT, status: 200, responseBody: Buffer.from(JSON.stringify(bad)) })).join()).toMatch(/artifact_name/);
  });

  it('checks POST next request bodies against InstalledDeviceDeployment', () => {
    const problems = exchangeProblems(exchange({ method: 'POST', url: NEXT, status: 204, requestBody: Buffer.from('{"artifact_name":"a"}'), responseHeaders: {} }));
    expect(problems.join()).toMatch(/device_type/);
  });

  it('flags undeclared statuses, bodies where none is declared, and unknown operations', () => {
    expect(exchangeProblems(exchange({ method: 'GET', url: NEXT, status: 418, responseBody: Buffer.from('{"error":"x"}') })).join()).toMatch(/not declared/);
    expect(exchangeProblems(exchange({ method: 'PUT', url: '/api/devices/v1/deployments/device/deployments/d/status', status: 409, requestBody: Buffer.from('{"status":"installing"}'), responseBody: Buffer.from('{"error":"x"}') })).join()).toMatch(/no body/);
    expect(exchangeProblems(exchange({ method: 'GET', url: '/api/devices/v9/nothing', status: 200 })).join()).toMatch(/no such operation/);
  });

  it('checks status bodies against the device status enum', () => {
    const problems = exchangeProblems(exchange({ method: 'PUT', url: '/api/devices/v1/deployments/device/deployments/d/status', status: 204, requestBody: Buffer.from('{"status":"paused"}'), responseHeaders: {} }));
    expect(problems.join()).toMatch(/allowed values/);
  });

  it('requires a 206 to answer the Range asked', () => {
    const problems = exchangeProblems(exchange({ method: 'GET', url: '/download/artifacts/a.mender', status: 206, requestHeaders: { range: 'bytes=10-' }, responseHeaders: { 'Content-Length': '5', 'Content-Range': 'bytes 0-4/100' }, responseBody: undefined }));
    expect(problems.join()).toMatch(/does not answer Range/);
  });
});
