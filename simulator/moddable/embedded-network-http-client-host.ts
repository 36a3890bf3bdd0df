// The Node side of embedded:network/http/client (embedded-network-http-client.ts): a response body
// as a device's socket holds it, and the CA a request brings, as PEM for the simulated board's Http.
import type { HttpResponse } from '../../platform/http.ts';
import { nativeError } from './native-errors.ts';

/** What a response tells the host when it ends: the network is idle once nothing is open. */
export interface NetworkTracker {
  networkDone(response: object): void;
}

/**
 * A response body as a device's socket holds it: an arrived piece stays here (on a device, in the
 * network stack's buffers, outside the XS heap) and the guest copies out only what read() takes.
 */
export class HostResponse {
  #piece: Uint8Array | undefined;
  #at = 0;
  constructor(
    readonly host: NetworkTracker,
    readonly response: HttpResponse,
  ) {}
  /** Waits for the next piece; resolves with its byte count, or undefined at the end of the body. */
  async next(): Promise<number | undefined> {
    try {
      const chunk = await this.response.read();
      if (chunk === undefined) this.host.networkDone(this);
      this.#piece = chunk;
      this.#at = 0;
      return chunk?.length;
    } catch (error) {
      this.host.networkDone(this);
      throw nativeError((error as Error).message);
    }
  }
  /** Up to `count` bytes of the current piece. */
  take(count: number): Uint8Array {
    const piece = this.#piece ?? new Uint8Array(0);
    const out = piece.subarray(this.#at, this.#at + count);
    this.#at += out.length;
    return out;
  }
  async close(): Promise<void> {
    this.host.networkDone(this);
    await this.response.close();
  }
}

export function derToPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
