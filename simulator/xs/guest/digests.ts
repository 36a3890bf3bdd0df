// SHA-256 factories the XS guest can run with, besides the portable noble one:
//   host    — bridged to Node's native hash: a board with a native digest (ESP32 `crypt`, a SHA
//             peripheral), at the cost of one bridge call per update.
//   replay  — a no-op: counts bytes and answers with the digest a recording run saw for that many
//             bytes. It isolates the core's own cost from hashing (the budget's "no-op digest").
import { equalBytes } from '../../../base/bytes.ts';
import type { Digest, Sha256Factory } from '../../../platform/digest.ts';
import type { GuestBridge, RemoteRef } from './bridge.ts';

export function hostSha256(bridge: GuestBridge): Sha256Factory {
  return (): Digest => {
    const hash = bridge.call('$digest', 'create') as RemoteRef;
    return {
      update(bytes: Uint8Array): void {
        bridge.call(hash, 'update', [bytes]);
      },
      digest(): Uint8Array {
        const out = bridge.call(hash, 'digest') as Uint8Array;
        bridge.release(hash);
        return out;
      },
    };
  };
}

/** Digests by input length, recorded from a real run over the same artifact (see recordingSha256). */
export type DigestReplay = readonly (readonly [number, Uint8Array])[];

export function replaySha256(replay: DigestReplay): Sha256Factory {
  const byLength = new Map<number, Uint8Array>(replay);
  return (): Digest => {
    let length = 0;
    return {
      update(bytes: Uint8Array): void {
        length += bytes.length;
      },
      digest(): Uint8Array {
        const known = byLength.get(length);
        if (!known) throw new RangeError(`replay digest: no recorded digest for ${length} bytes`);
        return known;
      },
    };
  };
}

/** Wraps a real factory and records [length, digest] of every hash it finishes. */
export function recordingSha256(inner: Sha256Factory, into: [number, Uint8Array][]): Sha256Factory {
  return (): Digest => {
    const hash = inner();
    let length = 0;
    return {
      update(bytes: Uint8Array): void {
        length += bytes.length;
        hash.update(bytes);
      },
      digest(): Uint8Array {
        const out = hash.digest();
        const seen = into.find(([n]) => n === length);
        if (seen && !equalBytes(seen[1], out)) {
          throw new RangeError(`recording digest: two inputs of ${length} bytes differ; replay cannot tell them apart`);
        }
        if (!seen) into.push([length, out]);
        return out;
      },
    };
  };
}
