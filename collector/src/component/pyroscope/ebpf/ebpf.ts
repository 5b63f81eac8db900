/** `pyroscope.ebpf` is rejected: see `unavailable.ts`. */
import { unavailableComponent } from '../unavailable.js';

export const component = unavailableComponent(
  'pyroscope.ebpf',
  'it loads eBPF programs into the Linux kernel and symbolizes native stacks (Alloy links the OpenTelemetry eBPF profiler, Go and C code that needs CAP_SYS_ADMIN/CAP_BPF), which a Node.js process cannot do; run Grafana Alloy (or the OpenTelemetry eBPF profiler) as a DaemonSet for host profiling and send its profiles to pyroscope.receive_http here, or instrument applications with a Pyroscope SDK',
);
