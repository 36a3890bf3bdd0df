// multipart/form-data (RFC 7578) for the artifact upload, parsed as the body streams in: the
// artifact part goes to a file (never held in memory), the other parts are small text fields.
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { HttpError } from './http-kit.ts';

export interface ReceivedUpload {
  /** Text fields other than the file part (description, size), by name. */
  fields: Map<string, string>;
  /** The file part, written to `path`; undefined when the form has no such part. */
  file: { path: string; size: number; sha256: string } | undefined;
  /** Body bytes received. */
  bodyBytes: number;
}

export interface UploadLimits {
  /** 413 past this many body bytes. */
  maxBodyBytes: number;
}

/** A part's headers must end within this; text fields are bounded by it too. */
const HEAD_LIMIT_BYTES = 16 * 1024;
const FIELD_LIMIT_BYTES = 64 * 1024;

type PartSink = { write(bytes: Buffer): Promise<void> | void; end(): Promise<void> | void };

/**
 * Reads the multipart body of `source`, writing the part named `fileField` to `filePath` (created;
 * removed again when the upload fails). Throws HttpError 400 for a malformed form, 413 past the limit.
 */
export async function receiveMultipart(
  contentType: string | undefined,
  source: AsyncIterable<Buffer>,
  fileField: string,
  filePath: string,
  limits: UploadLimits,
): Promise<ReceivedUpload> {
  const match = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  if (match === null) throw new HttpError(400, `upload: expected Content-Type multipart/form-data with a boundary, got ${JSON.stringify(contentType ?? '')}`);
  const dashBoundary = Buffer.from(`--${match[1] ?? match[2]}`);
  const delimiter = Buffer.concat([Buffer.from('\r\n'), dashBoundary]);
  const fields = new Map<string, string>();
  let file: ReceivedUpload['file'];
  let fileHandle: Awaited<ReturnType<typeof open>> | undefined;

  // States: before the first boundary, in a part's headers, in a part's body, just past a
  // delimiter (its next two bytes say "another part" or "the end"), after the closing delimiter.
  type State = 'preamble' | 'head' | 'body' | 'delimiter' | 'done';
  let state = 'preamble' as State; // (widened: the closures below change it)
  let pending: Buffer = Buffer.alloc(0);
  let sink: PartSink | undefined;
  let bodyBytes = 0;

  const openPart = async (head: string, at: number): Promise<PartSink> => {
    const disposition = /content-disposition:\s*form-data\s*;([^\r\n]*)/i.exec(head);
    const name = disposition === null ? undefined : /\bname="([^"]*)"/i.exec(disposition[1]!)?.[1];
    if (name === undefined) throw new HttpError(400, `upload: multipart part at byte ${at} has no Content-Disposition name`);
    if (name === fileField) {
      if (fileHandle !== undefined) throw new HttpError(400, `upload: more than one "${fileField}" part`);
      const handle = (fileHandle = await open(filePath, 'wx', 0o644));
      const hash = createHash('sha256');
      let size = 0;
      return {
        async write(bytes) {
          hash.update(bytes);
          size += bytes.length;
          for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
        },
        async end() {
          // Durable before the artifact record points at it (the caller renames it into place).
          await handle.sync();
          file = { path: filePath, size, sha256: hash.digest('hex') };
        },
      };
    }
    const chunks: Buffer[] = [];
    let length = 0;
    return {
      write(bytes) {
        length += bytes.length;
        if (length > FIELD_LIMIT_BYTES) throw new HttpError(400, `upload: field "${name}" is longer than ${FIELD_LIMIT_BYTES} bytes`);
        chunks.push(Buffer.from(bytes));
      },
      end() {
        fields.set(name, Buffer.concat(chunks).toString('utf8'));
      },
    };
  };

  /** Consumes what it can of `pending`; returns false when it needs more bytes. */
  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const at = pending.indexOf(dashBoundary);
        if (at < 0) {
          if (bodyBytes > HEAD_LIMIT_BYTES) throw new HttpError(400, 'upload: multipart boundary not found in the body');
          return false;
        }
        pending = pending.subarray(at + dashBoundary.length);
        state = 'delimiter';
        return true;
      }
      case 'delimiter': {
        if (pending.length < 2) return false;
        const next = pending.subarray(0, 2).toString('latin1');
        if (next === '--') {
          state = 'done';
          return false;
        }
        if (next !== '\r\n') throw new HttpError(400, `upload: malformed multipart delimiter near byte ${bodyBytes - pending.length}`);
        pending = pending.subarray(2);
        state = 'head';
        return true;
      }
      case 'head': {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) {
          if (pending.length > HEAD_LIMIT_BYTES) throw new HttpError(400, `upload: multipart part near byte ${bodyBytes - pending.length} has no header end`);
          return false;
        }
        sink = await openPart(pending.subarray(0, end).toString('utf8'), bodyBytes - pending.length);
        pending = pending.subarray(end + 4);
        state = 'body';
        return true;
      }
      case 'body': {
        const end = pending.indexOf(delimiter);
        if (end < 0) {
          // Hold back what could be the start of a delimiter split across chunks.
          const safe = pending.length - (delimiter.length - 1);
          if (safe > 0) {
            await sink!.write(pending.subarray(0, safe));
            pending = pending.subarray(safe);
          }
          return false;
        }
        await sink!.write(pending.subarray(0, end));
        await sink!.end();
        sink = undefined;
        pending = pending.subarray(end + delimiter.length);
        state = 'delimiter';
        return true;
      }
      case 'done':
        return false;
    }
  };

  try {
    try {
      for await (const chunk of source) {
        bodyBytes += chunk.length;
        if (bodyBytes > limits.maxBodyBytes) throw new HttpError(413, `upload: request body larger than ${limits.maxBodyBytes} bytes`);
        if (state === 'done') continue; // the epilogue is ignored
        // Copy only the small held-back remainder: the chunk itself is used in place.
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (await step());
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error).message === 'aborted') {
        throw new HttpError(400, 'upload: the connection closed before the body ended');
      }
      throw error;
    }
    if (state !== 'done') throw new HttpError(400, state === 'preamble' ? 'upload: multipart boundary not found in the body' : 'upload: the multipart body ended before its closing boundary');
    return { fields, file, bodyBytes };
  } catch (error) {
    await fileHandle?.close().catch(() => undefined);
    fileHandle = undefined;
    await rm(filePath, { force: true });
    throw error;
  } finally {
    await fileHandle?.close();
  }
}
