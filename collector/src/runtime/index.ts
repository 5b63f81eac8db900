/**
 * Public surface of the runtime for other parts of the project (operator, CLI, bench).
 */
export { validateConfig, type ValidateOptions } from './validate.js';
export { Runtime, readConfigSources, type RuntimeOptions, type LoadResult, type BuildInfo } from './runtime.js';
export { Controller, type ComponentSpec, type ComponentInfo, type ApplyResult, leastHealthy } from './controller.js';
export { loadConfig, loadConfigWithComponents, configHash, type ConfigEvaluator, type LoadedConfig, type LoadedComponent } from './loader.js';
export { syntaxEvaluator } from './evaluator.js';
export { ComponentRegistry, isDefinition, stabilityError, type LazyComponent } from './registry.js';
export { SingleNodeCluster, type ClusterSettings } from './cluster-service.js';
export type { HttpService, ClusterService, ComponentHandler } from './services.js';
export type { Diagnostic, Position } from './diagnostics.js';
export * from './component.js';
