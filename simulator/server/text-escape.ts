// Untrusted strings (device log lines, request paths) in the server's human-readable output:
// text answers and stderr. A raw newline would let a device forge whole lines in the management
// view, an ESC would drive the reader's terminal, a bidi override would reorder what is shown.
// JSON answers need none of this: JSON.stringify already escapes and they must stay exact.

// C0 controls, backslash, DEL, C1 controls, line/paragraph separators and bidi embedding,
// override and isolate controls.
const UNSAFE = /[\u0000-\u001f\\\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/**
 * `text` with every unsafe character written as an escape (\n, \r, \t, \\, \xHH, \uHHHH), so the
 * result is one line of visible characters and can be decoded back to the original.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
