import { describe, expect, it } from 'vitest';
import { GzipMember, type DeflateDecoder } from '../../platform/gzip-member.ts';
import { OtaError } from '../../base/errors.ts';
import { formatError } from './gunzip-helpers.ts';

// A scripted decoder: each push emits the bytes as they are (a "stored" body) until `endAfter`
// body bytes, then reports the rest as its tail; `failAt` makes the push that reaches it throw.
function passThrough(endAfter: number, failAt = Infinity) {
  return (emit: (piece: Uint8Array) => void): DeflateDecoder => {
    let seen = 0;
    const decoder = {
      tail: undefined as Uint8Array | undefined,
      push(bytes: Uint8Array, last: boolean) {
        if (seen + bytes.length > failAt) throw new Error('boom');
        const body = Math.min(bytes.length, endAfter - seen);
        seen += body;
        emit(bytes.subarray(0, body));
        if (seen === endAfter && !last) decoder.tail = bytes.subarray(body);
      },
    };
    return decoder;
  };
}

const HEADER = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
// "abc": CRC-32 0x352441c2, ISIZE 3
const TRAILER = [0xc2, 0x41, 0x24, 0x35, 3, 0, 0, 0];


describe('GzipMember', () => {
  it('with checkCrc false, a wrong CRC-32 passes but a wrong ISIZE still fails', () => {
    const badCrc = new Uint8Array([...HEADER, ...[0x61, 0x62, 0x63], 0, 0, 0, 0, 3, 0, 0, 0]);
    expect(formatError(() => { const m = new GzipMember(passThrough(3)); m.push(badCrc); m.end(); }).message).toMatch(/CRC-32 expected/);
    const m = new GzipMember(passThrough(3), { checkCrc: false });
    expect(Array.from(m.push(badCrc))).toEqual([0x61, 0x62, 0x63]);
    m.end();
    const badSize = new Uint8Array([...HEADER, ...[0x61, 0x62, 0x63], ...TRAILER.slice(0, 4), 4, 0, 0, 0]);
    expect(formatError(() => { const n = new GzipMember(passThrough(3), { checkCrc: false }); n.push(badSize); n.end(); }).message).toMatch(/ISIZE expected 4, got 3/);
  });

  it('hands the body to the decoder, its tail to the trailer, and checks CRC-32 and ISIZE', () => {
    const member = new GzipMember(passThrough(3));
    const out = member.push(Uint8Array.of(...HEADER, 97, 98, 99, ...TRAILER.slice(0, 3)));
    expect(Array.from(out)).toEqual([97, 98, 99]);
    member.push(Uint8Array.of(...TRAILER.slice(3)));
    expect(member.end()).toEqual(new Uint8Array(0));
  });

  it('names the gzip byte where the failing body push started, with the decoder\'s message', () => {
    const member = new GzipMember(passThrough(3, 1));
    member.push(Uint8Array.of(...HEADER.slice(0, 4)));
    const error = formatError(() => member.push(Uint8Array.of(...HEADER.slice(4), 97, 98)));
    expect(error.message).toBe('invalid deflate data in the push starting at gzip byte 10: boom');
    expect((error.cause as Error).message).toBe('boom');
  });

  it('asks the decoder for its last output at end() and refuses a body that never ended', () => {
    const pushes: boolean[] = [];
    const member = new GzipMember(() => ({ tail: undefined, push: (_bytes, last) => void pushes.push(last) }));
    member.push(Uint8Array.of(...HEADER, 1, 2));
    expect(formatError(() => member.end()).message).toBe('truncated deflate data: the final block never ended');
    expect(pushes).toEqual([false, true]);
  });

  it('refuses a wrong trailer and bytes past it, naming expected and actual', () => {
    const wrongCrc = new GzipMember(passThrough(3));
    wrongCrc.push(Uint8Array.of(...HEADER, 97, 98, 100, ...TRAILER));
    expect(formatError(() => wrongCrc.end()).message).toMatch(/^gzip trailer: CRC-32 expected 0x352441c2, got 0x[0-9a-f]{8}$/);
    const extra = new GzipMember(passThrough(3));
    expect(formatError(() => extra.push(Uint8Array.of(...HEADER, 97, 98, 99, ...TRAILER, 0, 0))).message).toBe(
      'unexpected data after the gzip member: 2 bytes past the trailer',
    );
  });
});
