/** `pyroscope.java` is rejected: see `unavailable.ts`. */
import { unavailableComponent } from '../unavailable.js';

export const component = unavailableComponent(
  'pyroscope.java',
  'it attaches the native async-profiler agent (a bundled Linux shared library and launcher) to local JVM processes, which this Node.js runtime does not ship or load; use the Pyroscope Java agent in the application (it pushes to pyroscope.receive_http) or run Grafana Alloy for pyroscope.java',
);
