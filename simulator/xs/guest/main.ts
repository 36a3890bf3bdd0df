// The XS guest's entry (bundled as an IIFE by scripts/build.mjs): the jobs the Node harness can
// start, on globalThis.OtaMcuXs. Everything here runs inside the Moddable XS engine.
import { bridgeJobs } from './bridge-jobs.ts';
import { clientJobs } from './client-jobs.ts';
import { createJobRunner } from './jobs.ts';
import { readerJobs } from './reader-jobs.ts';

(globalThis as unknown as { OtaMcuXs: unknown }).OtaMcuXs = createJobRunner({ ...bridgeJobs, ...readerJobs, ...clientJobs });
