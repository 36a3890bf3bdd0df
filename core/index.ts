// The portable core's public API: what a board's main module imports. The update modules are
// opt-in (core/modules/zephyr-image.ts, core/modules/esp-ota.ts): a board registers the one it needs.
export { OtaError, isOtaError, type OtaErrorCode } from '../base/errors.ts';
export { createDeviceApi, type DeviceApi, type DeviceApiOptions, type DeviceState, type DeploymentInstructions } from './mender/device-api.ts';
export { DEPLOYMENT_STATUSES, FINAL_STATUSES, type DeploymentStatus, type FinalStatus } from './deployment-status.ts';
export { DEFAULT_POLL_INTERVALS, type PollIntervals } from './mender/backoff.ts';
export { createArtifactReader, type ArtifactReader, type ArtifactReaderOptions, type ResumePoint } from './artifact/artifact-reader.ts';
export { applyClearsProvides, checkDepends, isDeviceTypeCompatible } from './artifact/compatibility.ts';
export type { ArtifactHead, ArtifactSummary, PayloadFile, PayloadInfo, PayloadSink, ProvidesMap, DependsMap } from './artifact/types.ts';
export { createClient, type Client, type RunOnceResult } from './client.ts';
export { resolveClientConfig, type ClientConfig, type ClientEvent } from './client-config.ts';
export { createUpdateModuleRegistry, type UpdateModuleRegistry, type UpdateModule, type UpdateModuleContext, type ModuleDownload, type PayloadFacts, type StoredPayload } from './modules/update-module.ts';
export { STATES, next, type StateName, type Outcome } from './deployment/states.ts';
export { jsonStateCodec, type StateCodec, type DeploymentRecord } from './deployment/record.ts';
