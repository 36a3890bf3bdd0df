// multipart/form-data (RFC 7578) for the artifact upload, over a body already in memory.
import { HttpError } from './http-kit.ts';

export interface FormPart {
  name: string;
  filename: string | undefined;
  data: Buffer;
}

export function parseMultipart(contentType: string | undefined, body: Buffer): FormPart[] {
  const match = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  if (match === null) throw new HttpError(400, `upload: expected Content-Type multipart/form-data with a boundary, got ${JSON.stringify(contentType ?? '')}`);
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new HttpError(400, 'upload: multipart boundary not found in the body');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts; // the closing delimiter
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw new HttpError(400, `upload: malformed multipart delimiter at byte ${at}`);
    const headEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headEnd < 0) throw new HttpError(400, `upload: multipart part at byte ${at} has no header end`);
    const head = body.subarray(at + 2, headEnd).toString('utf8');
    const end = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (end < 0) throw new HttpError(400, `upload: multipart part at byte ${at} is not terminated by the boundary`);
    const disposition = /content-disposition:\s*form-data\s*;([^\r\n]*)/i.exec(head);
    const name = disposition === null ? undefined : /\bname="([^"]*)"/i.exec(disposition[1]!)?.[1];
    if (name === undefined) throw new HttpError(400, `upload: multipart part at byte ${at} has no Content-Disposition name`);
    parts.push({ name, filename: /\bfilename="([^"]*)"/i.exec(disposition![1]!)?.[1], data: body.subarray(headEnd + 4, end) });
    at = end + 2;
  }
}
