/** The lab engine: the format, the runner and the checkpoints. Isomorphic, like the kit. */
export * from "./LabDefinition.js";
export * from "./labFile.js";
export * from "./LabExport.js";
export * from "./LabResult.js";
export * from "./LabRunner.js";
export * from "./checkpoints.js";
export * from "./duration.js";
export * from "./explain.js";
export * from "./metrics.js";
