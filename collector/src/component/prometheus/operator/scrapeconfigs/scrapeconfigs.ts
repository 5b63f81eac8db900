/**
 * `prometheus.operator.scrapeconfigs` (experimental, as upstream): discovers ScrapeConfig
 * resources (monitoring.coreos.com/v1alpha1) and scrapes the targets of their `staticConfigs`
 * and `httpSDConfigs`, with the jobs upstream Alloy's configgen generates for them. The shared
 * arguments are in `../arguments.ts`, the job generation in `../configgen-scrapeconfig.ts`, the
 * runtime in `../operator.ts`. No exports.
 */
import type { z } from 'zod';
import type { ComponentDefinition } from '../../../../runtime/component.js';
import { argumentsSchema, type Arguments } from '../arguments.js';
import { OperatorComponent } from '../operator.js';

export const component: ComponentDefinition<Arguments, Record<string, never>> = {
  name: 'prometheus.operator.scrapeconfigs',
  stability: 'experimental',
  args: argumentsSchema as unknown as z.ZodType<Arguments>,
  exports: [],
  build: (opts, args) => new OperatorComponent('ScrapeConfig', opts, args),
};
