/**
 * `prometheus.operator.probes`: discovers Probe resources (monitoring.coreos.com/v1) and scrapes
 * what they select, with the relabelings the Prometheus Operator generates for them. The shared
 * arguments are in `../arguments.ts`, the job generation in `../configgen.ts`, the runtime in
 * `../operator.ts`. No exports.
 */
import type { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { argumentsSchema, type Arguments } from '../arguments.js';
import { OperatorComponent } from '../operator.js';

export const component: ComponentDefinition<Arguments, Record<string, never>> = {
  name: 'prometheus.operator.probes',
  stability: 'generally-available',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: [],
  build: (opts, args) => new OperatorComponent('Probe', opts, args),
};
