// The update client end to end on a simulated MCUboot board against the dev server (virtual time):
// the happy path and every failure the issue names, each checked on the server (final status,
// history, log) and on the device (the image the bootloader boots).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { utf8 } from '../../base/bytes.ts';
import { tarArchive, tarSplit } from '../core/artifact/tar-build.ts';
import { join } from 'node:path';
import { DEVICE_TYPE, Lab } from '../../simulator/demo/lab.ts';
import type { ClientEvent } from '../../core/client-config.ts';
import { statuses } from './history.ts';

const FINAL = new Set(['success', 'failure', 'already-installed']);

/** Adds a manifest-augment and a header-augment.tar (payload type restated) to a signed, uncompressed artifact. */
function augmented(artifact: Uint8Array): Uint8Array {
  const headerAugment = tarArchive([{ name: 'header-info', data: utf8(JSON.stringify({ payloads: [{ type: 'zephyr-image' }] })) }]);
  const manifestAugment = utf8(`${createHash('sha256').update(headerAugment).digest('hex')}  header-augment.tar\n`);
  const entries = tarSplit(artifact).flatMap((entry) =>
    entry.name === 'manifest.sig' ? [entry, { name: 'manifest-augment', data: manifestAugment }]
    : entry.name === 'header.tar' ? [entry, { name: 'header-augment.tar', data: headerAugment }]
    : [entry],
  );
  return tarArchive(entries);
}

describe('a deployment end to end', () => {
  let lab: Lab;
  const events: ClientEvent[] = [];

  beforeAll(async () => {
    lab = await Lab.start({ onEvent: (event) => events.push(event) });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('updates 1.0.0 → 1.1.0: downloading, installing, rebooting, installing, success; new provides reported', async () => {
    lab.newDevice();
    await lab.enroll();
    events.length = 0;
    const id = await lab.deploy(lab.artifact('firmware-1.1.0', lab.image('1.1.0')), 'firmware-1.1.0');
    const { boots, last } = await lab.runDevice();
    expect(last?.deployment).toEqual({ id, end: 'success' });
    expect(last?.runningVersion).toBe('1.1.0+0');
    expect(boots).toBe(2); // one reset into the new image
    const view = await lab.view(id);
    expect(view.status).toBe('success');
    const seen = statuses(view.history);
    expect(seen.filter((s) => s !== 'downloading')).toEqual(['installing', 'rebooting', 'installing', 'success']);
    expect(seen[0]).toBe('downloading');
    // Progress as substates, at most one per 10% step, rising.
    const percents = view.history.map((h) => /^downloading \(downloading (\d+)%\)$/.exec(h)?.[1]).filter((p) => p !== undefined).map(Number);
    expect(percents.length).toBeGreaterThan(0);
    expect(percents.length).toBeLessThanOrEqual(10);
    expect(percents.every((p, i) => p % 10 === 0 && (i === 0 || p > percents[i - 1]!))).toBe(true);
    expect(await lab.runningVersion()).toBe('1.1.0');
    // The states as they happened, the reset between reboot and verify-reboot.
    const states = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
    expect(states).toEqual(['download', 'verify', 'install', 'reboot', 'verify-reboot', 'commit', 'report']);
    // The inventory now says the new artifact; a second run finds nothing to do.
    const device = lab.server.store.get('device', lab.deviceId!);
    expect(JSON.stringify(device)).toContain('firmware-1.1.0');
    const again = await lab.runDevice();
    expect(again.last?.deployment).toBeUndefined();
    expect(again.last?.runningVersion).toBe('1.1.0+0');
  });

  it('reports already-installed when the deployment carries the running artifact', async () => {
    lab.newDevice();
    await lab.enroll();
    const id = await lab.deploy(lab.artifact('firmware-1.0.0', lab.image('1.0.0')), 'firmware-1.0.0');
    const { last } = await lab.runDevice();
    const view = await lab.view(id);
    // The server itself may answer 204 for an already-installed artifact (Mender does); either way no download happens.
    if (last?.deployment !== undefined) {
      expect(last.deployment.end).toBe('already-installed');
      expect(view.status).toBe('already-installed');
    } else {
      expect(view.status).toBe('already-installed');
    }
    expect(statuses(view.history)).not.toContain('downloading');
  });

  const failures: {
    name: string;
    make: (lab: Lab) => { artifact: Uint8Array; name: string; swap?: Uint8Array; corruptFromEnd?: number };
    log: RegExp;
  }[] = [
    {
      name: 'bad artifact signature',
      make: (lab) => ({ name: 'bad-sig', artifact: lab.artifact('bad-sig', lab.image('1.1.0'), { signer: 'other' }) }),
      log: /signature/i,
    },
    {
      name: 'unsigned artifact while an artifact key is configured',
      make: (lab) => ({ name: 'unsigned-artifact', artifact: lab.artifact('unsigned-artifact', lab.image('1.1.0'), { signer: 'none' }) }),
      log: /manifest\.sig: missing, but a key is configured/i,
    },
    {
      // manifest-augment and header-augment are outside the signature by design (Mender adds them
      // after signing): with an artifact key, a device must not let them retype the payload.
      name: 'augmented artifact while an artifact key is configured',
      make: (lab) => ({ name: 'augmented', artifact: augmented(lab.artifact('augmented', lab.image('1.1.0'))) }),
      log: /manifest-augment is unsigned/i,
    },
    {
      name: 'checksum mismatch',
      make: (lab) => ({ name: 'corrupt', artifact: lab.artifact('corrupt', lab.image('1.1.0')), corruptFromEnd: 6000 }),
      log: /sha256|checksum/i,
    },
    {
      name: 'wrong device type (the server hands out a foreign artifact)',
      make: (lab) => ({
        name: 'foreign',
        artifact: lab.artifact('foreign', lab.image('1.1.0')),
        swap: lab.artifact('foreign', lab.image('1.1.0'), { deviceTypes: [DEVICE_TYPE.replace('stm32', 'esp32')] }),
      }),
      log: /device type/i,
    },
    {
      name: 'unmet depends',
      make: (lab) => ({ name: 'needs-bootloader-2', artifact: lab.artifact('needs-bootloader-2', lab.image('1.1.0'), { depends: { 'bootloader.version': '2.0.0' } }) }),
      log: /depends.*bootloader\.version/i,
    },
    {
      name: 'image larger than the slot',
      make: (lab) => ({ name: 'too-big', artifact: lab.artifact('too-big', lab.image('1.1.0', { payloadBytes: 160 * 1024 })) }),
      log: /slot takes at most/i,
    },
    {
      name: 'unsigned image while a boot key is configured',
      make: (lab) => ({ name: 'unsigned-image', artifact: lab.artifact('unsigned-image', lab.image('1.1.0', { signer: 'none' })) }),
      log: /unsigned, but a boot key is configured/i,
    },
    {
      name: 'image signed by another key',
      make: (lab) => ({ name: 'other-image-key', artifact: lab.artifact('other-image-key', lab.image('1.1.0', { signer: 'other' })) }),
      log: /MCUboot image 1\.1\.0/i,
    },
  ];

  for (const failure of failures) {
    it(`fails cleanly on ${failure.name}: failure with a log, the old image still runs`, async () => {
      lab.newDevice();
      await lab.enroll();
      const { artifact, name, swap, corruptFromEnd } = failure.make(lab);
      const id = await lab.deploy(artifact, name);
      if (swap !== undefined) {
        // Replace the stored file behind the server's back: a server (or a man in the middle) serving the wrong artifact.
        const record = lab.server.store.list('artifact').find((a) => a.name === name)!;
        writeFileSync(join(lab.server.store.dataDir, 'artifacts', record.file), swap);
      }
      if (corruptFromEnd !== undefined) lab.server.faults.corruptDownload({ offset: artifact.length - corruptFromEnd });
      try {
        const { last, boots } = await lab.runDevice();
        expect(last?.deployment).toEqual({ id, end: 'failure' });
        expect(boots).toBe(1); // refused before anything was marked pending: no reset
      } finally {
        lab.server.faults.clear();
      }
      const view = await lab.view(id);
      expect(view.status).toBe('failure');
      expect(statuses(view.history).filter((s) => FINAL.has(s))).toEqual(['failure']);
      expect(statuses(view.history)).not.toContain('installing');
      expect(view.log).toMatch(failure.log);
      expect(await lab.runningVersion()).toBe('1.0.0');
    });
  }

  it('self-test failure: rolls back to 1.0.0 and reports failure with a log', async () => {
    const selfLab = await Lab.start({ behaviours: { '1.1.0': 'fails-self-test' } });
    try {
      await selfLab.enroll();
      const id = await selfLab.deploy(selfLab.artifact('firmware-1.1.0', selfLab.image('1.1.0')), 'firmware-1.1.0');
      const { last, boots } = await selfLab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'failure' });
      expect(last?.runningVersion).toBe('1.0.0+0');
      expect(boots).toBe(3); // into the new image, back to the old one
      const view = await selfLab.view(id);
      expect(view.status).toBe('failure');
      expect(statuses(view.history)).toContain('rebooting');
      expect(statuses(view.history).filter((s) => FINAL.has(s))).toEqual(['failure']);
      expect(view.log).toMatch(/self-test failed on image 1\.1\.0/);
      expect(await selfLab.runningVersion()).toBe('1.0.0');
    } finally {
      await selfLab.close();
    }
  });

  it('anti-rollback (minImageVersion 1.1.0): a downgrade to 1.0.5 fails before anything is pending, with the reason in the log', async () => {
    const guarded = await Lab.start({ client: { minImageVersion: '1.1.0' } });
    try {
      await guarded.enroll();
      const id = await guarded.deploy(guarded.artifact('firmware-1.0.5', guarded.image('1.0.5')), 'firmware-1.0.5');
      const { last, boots } = await guarded.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'failure' });
      expect(boots).toBe(1); // refused at verify: no reset, nothing pending
      const view = await guarded.view(id);
      expect(statuses(view.history)).not.toContain('installing');
      expect(view.log).toMatch(/zephyr-image: image version 1\.0\.5\+0 is below the minimum 1\.1\.0 \(minImageVersion\)/);
      expect(await guarded.runningVersion()).toBe('1.0.0');
    } finally {
      await guarded.close();
    }
  });

  it('a bootloader revert (the new image never confirms) is detected and reported as failure', async () => {
    const revertLab = await Lab.start({ behaviours: { '1.1.0': 'never-confirms' } });
    try {
      await revertLab.enroll();
      const id = await revertLab.deploy(revertLab.artifact('firmware-1.1.0', revertLab.image('1.1.0')), 'firmware-1.1.0');
      const { last } = await revertLab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'failure' });
      const view = await revertLab.view(id);
      expect(view.status).toBe('failure');
      expect(view.log).toMatch(/expected image 1\.1\.0\+0 to run after the reboot, found 1\.0\.0\+0/);
      expect(await revertLab.runningVersion()).toBe('1.0.0');
    } finally {
      await revertLab.close();
    }
  });
});

describe('a deployment end to end on the ESP32 (ESP-IDF OTA) board', () => {
  it('updates 1.0.0 → 1.1.0 through esp-ota, and rolls a failing self-test back', async () => {
    const lab = await Lab.start({ board: 'esp32', behaviours: { '1.2.0': 'fails-self-test' } });
    try {
      await lab.enroll();
      const id = await lab.deploy(lab.artifact('esp-1.1.0', lab.image('1.1.0'), { compression: 'gzip' }), 'esp-1.1.0');
      const { last, boots } = await lab.runDevice();
      expect(last?.deployment).toEqual({ id, end: 'success' });
      expect(boots).toBe(2);
      expect(statuses((await lab.view(id)).history).filter((s) => s !== 'downloading')).toEqual(['installing', 'rebooting', 'installing', 'success']);
      expect(await lab.runningVersion()).toBe('1.1.0');

      const bad = await lab.deploy(lab.artifact('esp-1.2.0', lab.image('1.2.0')), 'esp-1.2.0');
      const second = await lab.runDevice();
      expect(second.last?.deployment).toEqual({ id: bad, end: 'failure' });
      const view = await lab.view(bad);
      expect(view.status).toBe('failure');
      expect(view.log).toMatch(/self-test failed on image 1\.2\.0/);
      expect(await lab.runningVersion()).toBe('1.1.0');
    } finally {
      await lab.close();
    }
  });
});
