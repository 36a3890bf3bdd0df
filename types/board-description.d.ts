// The description of the board being built (boards/<name>/board.json), which the bundlers
// (scripts/build-board.mjs for the device, simulator/moddable/bundle.ts under XS) put in the app
// under this specifier, so a family's code reads its board's facts and no board name is written
// in code. Fields: scripts/boards.d.mts BoardDescription (the run-time part of it).
declare module 'ota-mcu:board-description' {
  const board: {
    readonly name: string;
    readonly family: string;
    readonly soc: string;
    readonly payloadType: string;
    readonly deviceIdBytes?: number;
    readonly flash: { readonly sectorBytes: number; readonly writeGranule: number; readonly slotBytes: number; readonly eraseBlockBytes?: number };
  };
  export default board;
}
