/**
 * Self-metrics of remote-write queues, named and labelled (`remote_name`, `url`) as Prometheus's
 * `storage/remote` package names them. One instance per registry; queues share it.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const EP = ['remote_name', 'url'] as const;

export class RemoteWriteMetrics {
  readonly samplesTotal: Counter<(typeof EP)[number]>;
  readonly samplesFailed: Counter<(typeof EP)[number]>;
  readonly samplesRetried: Counter<(typeof EP)[number]>;
  readonly samplesDropped: Counter<(typeof EP)[number] | 'reason'>;
  readonly samplesIn: Counter<(typeof EP)[number]>;
  readonly samplesPending: Gauge<(typeof EP)[number]>;
  readonly exemplarsTotal: Counter<(typeof EP)[number]>;
  readonly shards: Gauge<(typeof EP)[number]>;
  readonly shardsDesired: Gauge<(typeof EP)[number]>;
  readonly shardsMax: Gauge<(typeof EP)[number]>;
  readonly shardsMin: Gauge<(typeof EP)[number]>;
  readonly shardCapacity: Gauge<(typeof EP)[number]>;
  readonly highestSent: Gauge<(typeof EP)[number]>;
  readonly sentBatchDuration: Histogram<(typeof EP)[number]>;
  readonly bytesTotal: Counter<(typeof EP)[number]>;
  readonly highestTimestamp: Gauge;

  constructor(reg: Registry) {
    const registers = [reg];
    const labelNames = EP;
    this.samplesTotal = new Counter({ name: 'prometheus_remote_storage_samples_total', help: 'Total number of samples sent to remote storage.', labelNames, registers });
    this.samplesFailed = new Counter({ name: 'prometheus_remote_storage_samples_failed_total', help: 'Total number of samples which failed on send to remote storage, non-recoverable errors.', labelNames, registers });
    this.samplesRetried = new Counter({ name: 'prometheus_remote_storage_samples_retried_total', help: 'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.', labelNames, registers });
    this.samplesDropped = new Counter({ name: 'prometheus_remote_storage_samples_dropped_total', help: 'Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.', labelNames: [...EP, 'reason'], registers });
    this.samplesIn = new Counter({ name: 'prometheus_remote_storage_samples_in_total', help: 'Samples in to remote storage, compare to samples out for queue managers.', labelNames, registers });
    this.samplesPending = new Gauge({ name: 'prometheus_remote_storage_samples_pending', help: 'The number of samples pending in the queues shards to be sent to the remote storage.', labelNames, registers });
    this.exemplarsTotal = new Counter({ name: 'prometheus_remote_storage_exemplars_total', help: 'Total number of exemplars sent to remote storage.', labelNames, registers });
    this.shards = new Gauge({ name: 'prometheus_remote_storage_shards', help: 'The number of shards used for parallel sending to the remote storage.', labelNames, registers });
    this.shardsDesired = new Gauge({ name: 'prometheus_remote_storage_shards_desired', help: 'The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.', labelNames, registers });
    this.shardsMax = new Gauge({ name: 'prometheus_remote_storage_shards_max', help: 'The maximum number of shards that the queue is allowed to run.', labelNames, registers });
    this.shardsMin = new Gauge({ name: 'prometheus_remote_storage_shards_min', help: 'The minimum number of shards that the queue is allowed to run.', labelNames, registers });
    this.shardCapacity = new Gauge({ name: 'prometheus_remote_storage_shard_capacity', help: 'The capacity of each shard of the queue used for parallel sending to the remote storage.', labelNames, registers });
    this.highestSent = new Gauge({ name: 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds', help: 'Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.', labelNames, registers });
    this.sentBatchDuration = new Histogram({
      name: 'prometheus_remote_storage_sent_batch_duration_seconds',
      help: 'Duration of send calls to the remote storage.',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 120, 300],
      registers,
    });
    this.bytesTotal = new Counter({ name: 'prometheus_remote_storage_bytes_total', help: 'The total number of bytes of data (not metadata) sent by the queue after compression.', labelNames, registers });
    this.highestTimestamp = new Gauge({ name: 'prometheus_remote_storage_highest_timestamp_in_seconds', help: 'Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.', registers });
  }

  /** Removes every series of one endpoint (when the endpoint is removed by an update). */
  forget(remoteName: string, url: string): void {
    const l = { remote_name: remoteName, url };
    for (const m of [
      this.samplesTotal, this.samplesFailed, this.samplesRetried, this.samplesIn, this.samplesPending, this.exemplarsTotal,
      this.shards, this.shardsDesired, this.shardsMax, this.shardsMin, this.shardCapacity, this.highestSent,
      this.sentBatchDuration, this.bytesTotal,
    ]) {
      try {
        m.remove(l);
      } catch {
        // Never observed: nothing to remove.
      }
    }
  }
}
