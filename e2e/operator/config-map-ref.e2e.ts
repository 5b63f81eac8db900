/**
 * A Collector reading its config from a user's ConfigMap (`journeys/config-map-ref.ts`) on the
 * test API server's dev cluster; the real-server run is `on-real-apiserver.e2e.ts`.
 */
import { jest } from '@jest/globals';
import { runJourneys } from '../cluster/harness/journey.test-support.js';
import { unavailableReason } from './operator-harness.js';
import { configMapRef } from './journeys/config-map-ref.js';

jest.setTimeout(120_000);

runJourneys({ apiserver: 'test', skip: unavailableReason() }, [configMapRef]);
