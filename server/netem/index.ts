/** The network emulator: a TCP proxy that makes loopback behave like a real (bad) network. */
export { NetworkEmulator, type ConditionsSnapshot, type NetworkEmulatorOptions, type TargetSelector } from "./NetworkEmulator.js";
export type { ConnectionInfo, ConnectionState } from "./EmulatedConnection.js";
export { classifyRequest, type ConnectionTransport, type RequestHead } from "./classify.js";
export { RequestSniffer } from "./RequestSniffer.js";
export {
  DROP_MODES,
  NetworkConditionsSchema,
  PRESETS,
  PRESET_NAMES,
  parseConditions,
  resolveConditions,
  type DirectionConditions,
  type DropConditions,
  type DropMode,
  type NetworkConditions,
  type PresetDefinition,
  type PresetName,
  type ResolvedConditions,
} from "./conditions.js";
