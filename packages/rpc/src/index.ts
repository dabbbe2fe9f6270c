export { type BidiCall, type CallOptions, type ClientMethod, createClient, type ServiceClient } from "./client.js";
export { methodPath } from "./descriptors.js";
export { HealthState, ServingStatus } from "./health.js";
export { checkHealth, type ServingStatusName, waitForServing } from "./health-client.js";
export { addService, type CallContext, type Handler, type ServiceImpl } from "./server.js";
export {
  installSignalHandlers,
  type Registration,
  type RunningServer,
  registration,
  type StartServerOptions,
  startServer,
} from "./start-server.js";
export { type OnAbort, untilAborted } from "./until-aborted.js";
