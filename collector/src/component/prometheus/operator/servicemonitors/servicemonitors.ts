/**
 * `prometheus.operator.servicemonitors`: discovers ServiceMonitor resources (monitoring.coreos.com/v1) and scrapes
 * what they select, with the relabelings the Prometheus Operator generates for them. The shared
 * arguments are in `../arguments.ts`, the job generation in `../configgen.ts`, the runtime in
 * `../operator.ts`. No exports.
 */
import { operatorComponent } from '../operator.js';

export const component = operatorComponent('prometheus.operator.servicemonitors', 'ServiceMonitor', 'generally-available');
