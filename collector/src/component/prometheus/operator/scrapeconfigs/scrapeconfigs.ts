/**
 * `prometheus.operator.scrapeconfigs` (experimental, as upstream): discovers ScrapeConfig
 * resources (monitoring.coreos.com/v1alpha1) and scrapes the targets of their `staticConfigs`
 * and `httpSDConfigs`, with the jobs upstream Alloy's configgen generates for them. The shared
 * arguments are in `../arguments.ts`, the job generation in `../configgen-scrapeconfig.ts`, the
 * runtime in `../operator.ts`. No exports.
 */
import { operatorComponent } from '../operator.js';

export const component = operatorComponent('prometheus.operator.scrapeconfigs', 'ScrapeConfig', 'experimental');
