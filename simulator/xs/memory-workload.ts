// The host side of simulator/xs/guest/memory-workload.ts: its inputs (two signed artifacts, as hex
// constants), its bundles (an IIFE script for xsnap, an ES module for a Moddable build that
// preloads it), and its run on xsnap-32 with XS's counters read at every checkpoint.
//
// Run: npx tsx simulator/xs/memory-workload.ts [--esm out.js] [--script out.js] [--json out.json]
// prints each checkpoint's live slots and chunk bytes above the 'import' reading (the harness's
// baseline: what preloading moves to flash) and the peaks since the previous checkpoint.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build, type Plugin } from 'esbuild';
import { XS_ESBUILD_OPTIONS } from '../../scripts/build.mjs';
import { writeArtifact } from '../artifact-writer.ts';
import { firmwareBytes } from './measure.ts';
import { XsWorker, type XsMemory } from './worker.ts';

const ENTRY = 'simulator/xs/guest/memory-workload.ts';
export const WORKLOAD_GLOBAL = 'OtaMemoryWorkload';
export const WORKLOAD_PAYLOAD_BYTES = 64 * 1024;
export const WORKLOAD_CHUNK_BYTES = 1024;

// A fixed Ed25519 key (RFC 8032 test 1's secret) so the bundle is the same on every build.
const SECRET = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The virtual module 'ota-mcu:memory-workload-input'. */
export function workloadInput(): string {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, SECRET]), format: 'der', type: 'pkcs8' });
  const keyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const artifacts = (['none', 'gzip'] as const).map((compression) => {
    const bytes = writeArtifact({
      artifactName: `workload-${compression}`,
      deviceTypes: ['memory-workload'],
      payloadType: 'single-file',
      compression,
      mtime: 1_700_000_000,
      files: [{ name: 'firmware.bin', data: firmwareBytes(WORKLOAD_PAYLOAD_BYTES) }],
      signManifest: (manifest) => sign(null, manifest, privateKey).toString('base64'),
    });
    return { name: compression, hex: Buffer.from(bytes).toString('hex') };
  });
  return `export const KEY_PEM = ${JSON.stringify(keyPem)};\nexport const CHUNK_BYTES = ${WORKLOAD_CHUNK_BYTES};\nexport const ARTIFACTS = ${JSON.stringify(artifacts)};\n`;
}

function inputPlugin(contents: string): Plugin {
  return {
    name: 'memory-workload-input',
    setup(b) {
      b.onResolve({ filter: /^ota-mcu:memory-workload-input$/ }, () => ({ path: 'input', namespace: 'workload' }));
      b.onLoad({ filter: /.*/, namespace: 'workload' }, () => ({ contents, loader: 'js' }));
    },
  };
}

// A key that is itself preloaded cannot enter a WeakMap/WeakSet either (XS keeps weak entries on
// the key: "TypeError: key: read-only"); those go to a strong Map/Set (such keys are permanent anyway).
// Plain properties, not private fields: on an aliased (preloaded, then written) instance XS 17.9.1
// lost a private field in our first try ("get #f: undefined private property"; not isolated further).
const LAZY_WEAK = `class __LazyWeakMap { constructor() { this.m = undefined; this.f = undefined; } get(k) { return this.m?.get(k) ?? this.f?.get(k); } has(k) { return (this.m?.has(k) || this.f?.has(k)) ?? false; } set(k, v) { try { (this.m ??= new WeakMap()).set(k, v); } catch { (this.f ??= new Map()).set(k, v); } return this; } delete(k) { return (this.m?.delete(k) || this.f?.delete(k)) ?? false; } }
class __LazyWeakSet { constructor() { this.s = undefined; this.f = undefined; } has(k) { return (this.s?.has(k) || this.f?.has(k)) ?? false; } add(k) { try { (this.s ??= new WeakSet()).add(k); } catch { (this.f ??= new Set()).add(k); } return this; } delete(k) { return (this.s?.delete(k) || this.f?.delete(k)) ?? false; } }
`;

/**
 * What xsl preloads sits in flash, and XS refuses to write there: the bytes of an ArrayBuffer
 * ("TypeError: read-only buffer") and the entries of a Map, Set, WeakMap or WeakSet ("read-only
 * WeakMap instance"); plain objects, arrays and bindings are copied into RAM when written (aliases).
 * noble writes both kinds at run time: @noble/hashes' SHA-2 message schedules (module-level
 * Uint32Arrays SHA256_W, SHA512_W_H/L), and @noble/curves' caches (WeakMaps FIELD_SQRT,
 * pointWindowSizes, each curve's wnafPrecomputes; a WeakSet validityCache). Measured on the SDK's
 * preloaded build: the unpatched workload fails with exactly these errors. So here, in both bundles
 * alike, the SHA-2 buffers are made on first use and noble-curves' weak collections make their
 * backing collection on first write (the wrapper object stays in flash, the collection in RAM).
 */
export const preloadSafeNoble: Plugin = {
  name: 'preload-safe-noble',
  setup(b) {
    b.onLoad({ filter: /[\\/]@noble[\\/]hashes[\\/]sha2\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const split = source.indexOf('class SHA2_64B');
      const patch = (text: string, inits: string) => {
        const out = text.replace(/(process\(view, offset\) \{|roundClean\(\) \{)/g, `$1 ${inits}`);
        if (out.split(inits).length !== 3) throw new Error(`preload-safe-noble: ${args.path} no longer has the expected process/roundClean`);
        return out;
      };
      let contents = patch(source.slice(0, split), 'SHA256_W ??= new Uint32Array(64);') + patch(source.slice(split), 'SHA512_W_H ??= new Uint32Array(80); SHA512_W_L ??= new Uint32Array(80);');
      for (const [name, size] of [['SHA256_W', 64], ['SHA512_W_H', 80], ['SHA512_W_L', 80]] as const) {
        const declaration = `const ${name} = /* @__PURE__ */ new Uint32Array(${size});`;
        if (!contents.includes(declaration)) throw new Error(`preload-safe-noble: no "${declaration}" in ${args.path}`);
        contents = contents.replace(declaration, `let ${name};`);
      }
      return { contents, loader: 'js' };
    });
    b.onLoad({ filter: /[\\/]@noble[\\/]curves[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!/new Weak(Map|Set)\(\)/.test(source)) return undefined;
      return { contents: LAZY_WEAK + source.replace(/new WeakMap\(\)/g, 'new __LazyWeakMap()').replace(/new WeakSet\(\)/g, 'new __LazyWeakSet()'), loader: 'js' };
    });
  },
};

/** The same code twice: `script` for xsnap (sets globalThis.OtaMemoryWorkload), `esm` for a preloading build. */
export async function workloadBundles(): Promise<{ script: string; esm: string }> {
  const input = workloadInput();
  const [script, esm] = await Promise.all(
    (['iife', 'esm'] as const).map(async (format) => {
      const result = await build({ ...XS_ESBUILD_OPTIONS, entryPoints: [ENTRY], format, ...(format === 'iife' ? { globalName: WORKLOAD_GLOBAL } : {}), plugins: [inputPlugin(input), preloadSafeNoble] });
      const text = result.outputFiles[0]!.text;
      // xsnap evaluates each script in its own scope: the global is set explicitly.
      return format === 'iife' ? `${text}globalThis.${WORKLOAD_GLOBAL} = ${WORKLOAD_GLOBAL};\n` : text;
    }),
  );
  return { script: script!, esm: esm! };
}

/**
 * The checkpoint the harness gives run() (plain JS, the same on every engine): print the label,
 * collect, then hand XS's counters to the host (issueCommand) and restart the peaks.
 * `gc`, `otaMemory` and `issueCommand` are the engine's (xsnap's variant worker; a preloading
 * build provides the same three).
 */
export const CHECKPOINT_SCRIPT = `function checkpoint(label) { print("cp " + label); gc(); issueCommand(otaMemory(true)); }
function start(workload) {
  checkpoint("import");
  workload.run(checkpoint).then((result) => print("result " + result), (error) => print("error " + error + "\\n" + error.stack));
}`;

export interface WorkloadReading {
  readonly label: string;
  readonly liveSlots: number;
  readonly liveChunkBytes: number;
  /** Peaks since the previous checkpoint (its collection included), as XS counts them. */
  readonly peakSlots: number;
  readonly peakChunkBytes: number;
}

/** The workload on xsnap-32: evaluated (as the harness does: no preloader), then run with checkpoints. */
export async function workloadOnXsnap32(script: string): Promise<{ readings: WorkloadReading[]; result: string; slotBytes: number }> {
  const memories: Record<string, number>[] = [];
  const decoder = new TextDecoder();
  const worker = await XsWorker.launch({
    bits: 32,
    name: 'memory-workload',
    handler: (request) => {
      memories.push(JSON.parse(decoder.decode(request)) as Record<string, number>);
      return new Uint8Array(0);
    },
  });
  try {
    await worker.evaluate(script);
    await worker.evaluate(`${CHECKPOINT_SCRIPT}\nstart(globalThis.${WORKLOAD_GLOBAL});`);
    const labels = worker.printed.filter((line) => line.startsWith('cp ')).map((line) => line.slice(3));
    const result = worker.printed.find((line) => line.startsWith('result ') || line.startsWith('error ')) ?? '(no result)';
    if (!result.startsWith('result ')) throw new Error(`memory workload on xsnap: ${worker.printed.join('\n')}`);
    if (labels.length !== memories.length) throw new Error(`memory workload: ${labels.length} labels, ${memories.length} readings`);
    const readings = memories.map((m, i) => ({
      label: labels[i]!,
      liveSlots: m.currentHeapCount!,
      liveChunkBytes: m.currentChunksSize!,
      peakSlots: m.peakHeapCount!,
      peakChunkBytes: m.peakChunksSize!,
    }));
    return { readings, result: result.slice(7), slotBytes: memories[0]!.slotBytes! };
  } finally {
    await worker.close();
  }
}

/** Readings above the 'import' one, grouped: the per-chunk ones reduced to their largest. */
export function summarize(readings: readonly WorkloadReading[], slotBytes: number) {
  const base = readings.find((r) => r.label === 'import');
  if (!base) throw new Error('no import reading');
  const rows = new Map<string, { live: number; chunks: number; peak: number; peakChunks: number; n: number }>();
  for (const r of readings) {
    const row = rows.get(r.label) ?? { live: -Infinity, chunks: -Infinity, peak: -Infinity, peakChunks: -Infinity, n: 0 };
    row.live = Math.max(row.live, r.liveSlots - base.liveSlots);
    row.chunks = Math.max(row.chunks, r.liveChunkBytes - base.liveChunkBytes);
    row.peak = Math.max(row.peak, r.peakSlots - base.liveSlots);
    row.peakChunks = Math.max(row.peakChunks, r.peakChunkBytes - base.liveChunkBytes);
    row.n++;
    rows.set(r.label, row);
  }
  return [...rows].map(([label, row]) => ({ label, count: row.n, liveSlots: row.live, liveChunkBytes: row.chunks, liveBytes: row.live * slotBytes + row.chunks, peakSlots: row.peak, peakChunkBytes: row.peakChunks }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const { script, esm } = await workloadBundles();
  if (option('--esm')) writeFileSync(option('--esm')!, esm);
  if (option('--script')) writeFileSync(option('--script')!, script);
  const { readings, result, slotBytes } = await workloadOnXsnap32(script);
  if (option('--json')) writeFileSync(option('--json')!, JSON.stringify({ readings, result, slotBytes }, null, 1));
  console.log(`xsnap-32 (${slotBytes}-byte slots): ${result}`);
  console.log(`baseline (import + gc): ${readings[0]!.liveSlots} slots, ${readings[0]!.liveChunkBytes} B chunks`);
  console.table(summarize(readings, slotBytes));
}

if (process.argv[1]?.endsWith('memory-workload.ts')) await main();
