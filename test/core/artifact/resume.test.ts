// Resume: a reader given a resume point rebuilds the file hash from the sink's stored bytes, asks
// for the rest of the artifact from `seekTo`, and ends with the same verified result.
import { describe, expect, it } from 'vitest';
import type { PayloadFile, PayloadSink } from '../../../core/artifact/types.ts';
import { concatBytes } from '../../../base/bytes.ts';
import type { OtaError } from '../../../base/errors.ts';
import { writeArtifact } from '../../../simulator/artifact-writer.ts';
import { newReader, prng } from './helpers.ts';
import type { ResumePoint } from '../../../core/artifact/artifact-reader.ts';

const payload = new Uint8Array(20_000).map((_, i) => (i * 31 + 7) & 255);

function single(compression: 'none' | 'gzip' = 'none'): Uint8Array {
  return writeArtifact({ artifactName: 'r-1', deviceTypes: ['d'], payloadType: 'single-file', files: [{ name: 'fw.bin', data: payload }], compression, mtime: 0 });
}

/** A sink over a "flash" that already holds `stored` bytes of the file. */
function storingSink(stored: Uint8Array) {
  const log: string[] = [];
  let flash: Uint8Array = stored.slice();
  let readBackBytes = 0;
  let largestReadBack = 0;
  const sink: PayloadSink = {
    open(file: PayloadFile, resumeOffset: number) {
      log.push(`open ${file.name} @${resumeOffset}`);
      flash = flash.slice(0, resumeOffset);
    },
    write(bytes) {
      flash = concatBytes(flash, bytes);
    },
    close(file) {
      log.push(`close ${file.name}`);
    },
    discard(reason: OtaError) {
      log.push(`discard ${reason.code}`);
    },
    readBack(offset, into) {
      readBackBytes += into.length;
      largestReadBack = Math.max(largestReadBack, into.length);
      into.set(flash.subarray(offset, offset + into.length));
    },
  };
  return { sink, log, flash: () => flash, stats: () => ({ readBackBytes, largestReadBack }) };
}

/** Feeds from 0 until the reader asks to seek, then from seekTo; returns where it resumed. */
async function resumeRead(artifact: Uint8Array, resume: ResumePoint, sink: PayloadSink, chunk: () => number) {
  const reader = newReader({ sink, resume });
  let at = 0;
  let seekedTo: number | undefined;
  while (at < artifact.length) {
    const size = chunk();
    await reader.write(artifact.subarray(at, at + size));
    at += size;
    if (reader.seekTo !== undefined) {
      seekedTo = reader.seekTo;
      at = reader.seekTo;
    }
  }
  return { summary: await reader.end(), seekedTo };
}

describe('ArtifactReader resume', () => {
  const artifact = single();
  const offsetOfFile = (() => {
    // Where fw.bin's content starts in the artifact (the reader reports it too; find it independently).
    for (let i = 0; i < artifact.length - 64; i += 512) if (artifact[i] === payload[0] && artifact[i + 1] === payload[1] && artifact[i + 63] === payload[63]) return i;
    throw new Error('payload not found');
  })();

  for (const fileOffset of [1, 511, 512, 4096, 4097, 12_345, payload.length - 1, payload.length]) {
    it(`continues at file offset ${fileOffset} for several chunkings`, async () => {
      for (const chunk of [() => 1000, () => 4096, ((r) => () => 1 + Math.floor(r() * 5000))(prng(fileOffset))]) {
        const store = storingSink(payload.subarray(0, fileOffset));
        const { summary, seekedTo } = await resumeRead(artifact, { payloadIndex: 0, fileName: 'fw.bin', fileOffset }, store.sink, chunk);
        expect(seekedTo).toBe(offsetOfFile + fileOffset);
        expect(store.log).toEqual([`open fw.bin @${fileOffset}`, 'close fw.bin']);
        expect(store.flash()).toEqual(payload);
        expect(summary.files).toHaveLength(1);
        expect(store.stats().readBackBytes).toBe(fileOffset);
        expect(store.stats().largestReadBack).toBeLessThanOrEqual(4096);
      }
    });
  }

  it('detects stored bytes that differ from the artifact (the hash is rebuilt from readBack)', async () => {
    const wrong = payload.subarray(0, 5000).slice();
    wrong[100]! ^= 1;
    const store = storingSink(wrong);
    const error = await resumeRead(artifact, { payloadIndex: 0, fileName: 'fw.bin', fileOffset: 5000 }, store.sink, () => 4096).catch((e) => e);
    expect(error.code).toBe('checksum-mismatch');
    expect(store.log).toEqual(['open fw.bin @5000', 'discard checksum-mismatch']);
  });

  it('refuses a gzip payload with artifact-unsupported', async () => {
    const store = storingSink(payload.subarray(0, 100));
    const error = await resumeRead(single('gzip'), { payloadIndex: 0, fileName: 'fw.bin', fileOffset: 100 }, store.sink, () => 4096).catch((e) => e);
    expect(error.code).toBe('artifact-unsupported');
    expect(error.message).toMatch(/^data\/0000\.tar\.gz: gzip payloads cannot resume/);
  });

  it('restarts a payload with several files from its start', async () => {
    const two = writeArtifact({
      artifactName: 'r-2', deviceTypes: ['d'], payloadType: 'x', compression: 'none', mtime: 0,
      files: [{ name: 'a.bin', data: payload.subarray(0, 3000) }, { name: 'b.bin', data: payload.subarray(3000) }],
    });
    const store = storingSink(new Uint8Array(0));
    const { seekedTo } = await resumeRead(two, { payloadIndex: 0, fileName: 'b.bin', fileOffset: 1000 }, store.sink, () => 4096);
    expect(seekedTo).toBeUndefined();
    expect(store.log).toEqual(['open a.bin @0', 'close a.bin', 'open b.bin @0', 'close b.bin']);
  });

  it('refuses an offset beyond the file, and bad resume options', async () => {
    const store = storingSink(payload);
    const error = await resumeRead(artifact, { payloadIndex: 0, fileName: 'fw.bin', fileOffset: payload.length + 1 }, store.sink, () => 4096).catch((e) => e);
    expect(error.message).toBe(`resume "fw.bin": expected an offset ≤ its ${payload.length} bytes, got ${payload.length + 1}`);
    const noReadBack = { ...store.sink, readBack: undefined };
    expect(() => newReader({ sink: noReadBack, resume: { payloadIndex: 0, fileName: 'fw.bin', fileOffset: 1 } })).toThrow(TypeError);
    expect(() => newReader({ sink: store.sink, resume: { payloadIndex: -1, fileName: 'fw.bin', fileOffset: 1 } })).toThrow(RangeError);
    expect(() => newReader({ sink: store.sink, resume: { payloadIndex: 0, fileName: 'fw.bin', fileOffset: 1.5 } })).toThrow(RangeError);
  });

  it('end() right at the resume point is an error, not a success', async () => {
    const store = storingSink(payload.subarray(0, 100));
    const reader = newReader({ sink: store.sink, resume: { payloadIndex: 0, fileName: 'fw.bin', fileOffset: 100 } });
    await reader.write(artifact);
    expect(reader.seekTo).toBeDefined();
    await expect(reader.end()).rejects.toThrow(/resume point/);
  });
});
