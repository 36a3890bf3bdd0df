// Http: one streaming HTTP/1.1 request at a time, over TLS for https:// URLs.
import type { MaybePromise } from './maybe-async.ts';

export interface TlsOptions {
  /** PEM of the CA (or chain) that must sign the server certificate; the board's store when absent. */
  readonly ca?: string;
  /** SNI / name to check the certificate against; the URL's host when absent. */
  readonly serverName?: string;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute http:// or https:// URL. */
  readonly url: string;
  /** Header names as written; a board may send them in any case. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is, with Content-Length. Borrowed until the returned promise settles. */
  readonly body?: Uint8Array;
  /** Give up (reject with OtaError('network')) when no byte arrives for this long. */
  readonly timeoutMs?: number;
  readonly tls?: TlsOptions;
}

/**
 * A response whose body is pulled chunk by chunk: the producer waits while the consumer works
 * (backpressure). The board sizes chunks (a few KiB); the consumer must not assume a size.
 */
export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * The next body chunk (owned by the caller), or undefined at the end of the body. Rejects with
   * OtaError('network') when the connection is lost before the end.
   */
  read(): Promise<Uint8Array | undefined>;
  /** Drops the rest of the body and frees the connection. Harmless when called twice. */
  close(): MaybePromise<void>;
}

export interface Http {
  /**
   * Resolves once the status line and headers have arrived. Rejects with OtaError('network') for
   * DNS, connect, TLS (including an untrusted certificate) and timeout failures. HTTP error
   * statuses resolve normally: the caller decides.
   */
  request(request: HttpRequest): Promise<HttpResponse>;
}
