// mc/ffi, as Moddable's typings/mc/ffi.d.ts (SDK @ 9f61127a): one callable per function the
// manifest's "ffi.functions" declares (mcconfig generates a precise typing per project).
declare module 'mc/ffi' {
  interface FFI {
    [name: string]: (...args: any[]) => any;
  }
  const FFI: { new (): FFI };
  export default FFI;
}
