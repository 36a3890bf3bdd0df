// Shared set-up for the board ports under XS, one rig per board of the catalogue (boards/*/board.json):
// a simulated device of the board's kind on the board's own flash part (its description's sector,
// write granule and erase block), its first image, and images to update to (ESP-IDF app images for
// the esp-idf kind, signed MCUboot images for the mcuboot kind).
import { generateKeyPairSync } from 'node:crypto';
import { imageCapacity, trailerLayout } from '../../platform/mcuboot-trailer.ts';
import { parsePublicKeyPem } from '../../platform/public-key.ts';
import { buildEspAppImage } from '../../simulator/esp-app-image-builder.ts';
import { buildMcubootImage } from '../../simulator/mcuboot-imgtool.ts';
import type { ResetReason } from '../../platform/system.ts';
import { SimDevice, type FlashGeometry, type SimDeviceOptions, type SimReset } from '../../simulator/board/sim-device.ts';
import { readBoards, type BoardDescription } from '../../scripts/boards.mjs';
import { xsnapVariant } from '../../simulator/xs/xsnap-build.ts';

/**
 * ModdableBoot runs the boards on ota-mcu's 32-bit xsnap variant, compiled on first use (then
 * cached in .tmp/xsnap): a file's beforeAll(prepareXs, XS_BUILD_MS) pays for that build, so no
 * single test's timeout has to.
 */
export const prepareXs = async (): Promise<void> => void (await xsnapVariant(32));
export const XS_BUILD_MS = 600_000;

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
export const bootKeyPrivatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
export const bootKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

function payload(version: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = version.length * 7919 + version.charCodeAt(version.length - 1);
  for (let i = 0; i < bytes; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

/**
 * Facts of each SoC the board suites check a port against, never read from the port's own tables:
 * the reason its firmware must report after each reset the simulator causes (the emulated natives
 * give the register bits or enum value the SoC gives, simulator/moddable/host.ts), and its identity.
 */
interface SocFacts {
  readonly resetReasons: Readonly<Record<SimReset, ResetReason>>;
  readonly identity: { readonly key: string; readonly pattern: RegExp };
}

const SOC_FACTS: Readonly<Record<string, SocFacts>> = {
  // RCC reset flags (RM0433 §8.4.4): a power-up sets POR with BOR, a brownout BOR alone, each with
  // the pin flag. Zephyr reboots on a fatal error with sys_reboot (CONFIG_RESET_ON_FATAL_ERROR), a
  // software reset, so a panic reads as 'software'. Identity: the 96-bit unique ID, hwinfo, in hex.
  stm32: {
    resetReasons: { 'power-cut': 'power-on', restart: 'software', watchdog: 'watchdog', brownout: 'brownout', panic: 'software' },
    identity: { key: 'device_id', pattern: /^[0-9a-f]{24}$/ },
  },
  // esp_reset_reason(): ESP_RST_POWERON, _SW, _TASK_WDT, _BROWNOUT, _PANIC. Identity: the Wi-Fi station MAC.
  esp32: {
    resetReasons: { 'power-cut': 'power-on', restart: 'software', watchdog: 'watchdog', brownout: 'brownout', panic: 'panic' },
    identity: { key: 'mac', pattern: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/ },
  },
};

function socFacts(description: BoardDescription): SocFacts {
  const facts = SOC_FACTS[description.soc];
  if (facts === undefined) throw new RangeError(`boards/${description.name}: no SoC facts for "${description.soc}" in test/boards/rig.ts (its reset reasons and identity format)`);
  return facts;
}

export interface BoardRig {
  readonly board: string;
  readonly description: BoardDescription;
  readonly kind: SimDeviceOptions['kind'];
  readonly payloadType: string;
  /** The identity attribute the board reports by default. */
  readonly identityKey: string;
  /** Its SoC's facts (reset reasons, identity format). */
  readonly soc: SocFacts;
  /** The region the flash conformance suite may erase at will. */
  readonly scratchRegion: string;
  /** The board's flash part, as its description gives it. */
  readonly flash: FlashGeometry;
  /** Each slot of the simulated device: smaller than the board's (speed), same part. */
  readonly slotBytes: number;
  makeImage(version: string, payloadBytes?: number): Uint8Array;
  device(options?: Partial<SimDeviceOptions>): SimDevice;
}

/** Test slots: this much in whole erase units (the ESP32 slot writer erases ahead by block)… */
const TEST_SLOT_BYTES = 256 * 1024;
/**
 * …grown by sectors until MCUboot's trailer, in its own last sector(s), leaves this much for an
 * image, and at least two sectors: the resume test needs a sector boundary inside the image.
 */
const TEST_IMAGE_ROOM = 128 * 1024;

/** The smallest slot of the board's part that the suites fit in; never more than the board's own. */
function testSlotBytes(description: BoardDescription): number {
  const { sectorBytes, writeGranule, eraseBlockBytes, slotBytes } = description.flash;
  const unit = eraseBlockBytes ?? sectorBytes;
  let bytes = Math.ceil(TEST_SLOT_BYTES / unit) * unit;
  const room = (n: number) => imageCapacity(trailerLayout({ slotBytes: n, writeGranule, maxImageSectors: n / sectorBytes }), sectorBytes);
  if (description.kind === 'mcuboot') while (room(bytes) < Math.max(TEST_IMAGE_ROOM, 2 * sectorBytes)) bytes += sectorBytes;
  if (bytes > slotBytes) throw new RangeError(`boards/${description.name}: its ${slotBytes}-byte slots are smaller than the ${bytes} bytes the board suites need`);
  return bytes;
}

function rigFor(description: BoardDescription): BoardRig {
  const { sectorBytes, writeGranule, eraseBlockBytes } = description.flash;
  const flash: FlashGeometry = { sectorBytes, writeGranule, ...(eraseBlockBytes !== undefined ? { eraseBlockBytes } : {}) };
  const slotBytes = testSlotBytes(description);
  const soc = socFacts(description);
  const base = {
    board: description.name, description, kind: description.kind, payloadType: description.payloadType, flash, slotBytes, soc, identityKey: soc.identity.key,
  };
  if (description.kind === 'esp-idf') {
    return {
      ...base,
      scratchRegion: 'nextota',
      makeImage: (version, payloadBytes = 6000) => buildEspAppImage({ version, payload: payload(version, payloadBytes) }),
      device(options = {}) {
        return new SimDevice({ kind: 'esp-idf', flash, firstImage: this.makeImage('1.0.0+0'), slotBytes, seed: 7, ...options });
      },
    };
  }
  return {
    ...base,
    scratchRegion: 'secondary',
    makeImage: (version, payloadBytes = 6000) => buildMcubootImage({ version, payload: payload(version, payloadBytes), privateKeyPem: bootKeyPrivatePem }),
    device(options = {}) {
      return new SimDevice({ kind: 'mcuboot', flash, firstImage: this.makeImage('1.0.0+0'), bootKey: parsePublicKeyPem(bootKeyPem), slotBytes, seed: 7, ...options });
    },
  };
}

export const RIGS: readonly BoardRig[] = readBoards().map(rigFor);
