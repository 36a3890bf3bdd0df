// Usage: tsx .tmp/measure.ts [bisect]  — live/idle/stack per board × compression; fixed-creation need with "bisect".
import { MemoryLab, MIB, type MemoryCase, PHASES } from '../simulator/moddable/device-memory.ts';
import { bootKeyPem, RIGS } from '../test/boards/rig.ts';
const bisect = process.argv.includes('bisect');
const lab = await MemoryLab.start();
for (const r of RIGS) {
  const rig = { ...r, bootKeyPem };
  for (const compression of ['gzip', 'none'] as const) {
    const spec: MemoryCase = { imageBytes: 1 * MIB, signature: 'ecdsa-p256', compression };
    const one = await lab.run(rig, spec);
    const ph = PHASES.map((p) => `${p}:${one.phases[p].liveSlots}/${one.phases[p].liveChunkBytes}=${one.phases[p].liveXsBytes}`).join(' ');
    let need = '';
    if (bisect && (compression === 'gzip' || r.board === 'esp32')) {
      let lo = Math.floor(one.liveXsBytes * 0.9), hi = one.liveXsBytes * 2;
      while (hi - lo > 4096) {
        const mid = Math.round((lo + hi) / 2);
        if ((await lab.fits(rig, spec, mid, one)).fits) hi = mid; else lo = mid;
      }
      need = ` need<=${hi}`;
    }
    console.log(`${r.board} ${compression} live ${one.liveXsBytes} (${one.liveSlots} slots, ${one.liveChunkBytes} B) idle ${one.idleXsBytes} stack ${one.stackPeakSlots}${need}\n   ${ph}`);
  }
}
await lab.close();
