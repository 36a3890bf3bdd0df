// Wraps a board's Http to watch what the client does on the wire: counts artifact bytes received
// and lets a test or the demo act just before a request goes out (abort a deployment, expire the
// tokens) — the moments a real server would change its mind.
import type { Http, HttpRequest, HttpResponse } from '../../platform/http.ts';

export interface MeteredRequest {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
  /** The JSON body of a status report, parsed (for hooks keyed on the status). */
  readonly status?: string;
}

export class HttpMeter {
  /** Artifact body bytes received, over every download request. */
  downloadedBytes = 0;
  /** Largest body chunk the board's Http handed over (the "one chunk" of the resume bound). */
  maxChunkBytes = 0;
  readonly requests: MeteredRequest[] = [];
  /** Runs before each request is sent; may be async (the request waits). */
  before: ((request: MeteredRequest) => void | Promise<void>) | undefined;

  wrap(http: Http): Http {
    return {
      request: async (request: HttpRequest): Promise<HttpResponse> => {
        const seen = describe(request);
        this.requests.push(seen);
        await this.before?.(seen);
        const response = await http.request(request);
        if (!isDownload(request.url)) return response;
        return {
          status: response.status,
          headers: response.headers,
          read: async () => {
            const chunk = await response.read();
            if (chunk !== undefined) {
              this.downloadedBytes += chunk.length;
              this.maxChunkBytes = Math.max(this.maxChunkBytes, chunk.length);
            }
            return chunk;
          },
          close: () => response.close(),
        };
      },
    };
  }
}

function isDownload(url: string): boolean {
  return url.includes('/download/');
}

function describe(request: HttpRequest): MeteredRequest {
  let status: string | undefined;
  if (request.method === 'PUT' && request.url.endsWith('/status') && request.body !== undefined) {
    try {
      status = (JSON.parse(new TextDecoder().decode(request.body)) as { status?: string }).status;
    } catch {
      status = undefined;
    }
  }
  const range = request.headers?.['Range'] ?? request.headers?.['range'];
  return { method: request.method, url: request.url, ...(range !== undefined ? { range } : {}), ...(status !== undefined ? { status } : {}) };
}
