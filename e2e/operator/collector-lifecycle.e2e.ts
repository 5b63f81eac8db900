/**
 * Journeys 1-4 and 6 of the operator issue (`journeys/collector-lifecycle.ts`) on the test API
 * server's dev cluster; the real-server run is `on-real-apiserver.e2e.ts`.
 */
import { jest } from '@jest/globals';
import { runJourneys } from '../cluster/harness/journey.test-support.js';
import { unavailableReason } from './operator-harness.js';
import { collectorLifecycle } from './journeys/collector-lifecycle.js';

jest.setTimeout(180_000);

runJourneys({ apiserver: 'test', skip: unavailableReason() }, [collectorLifecycle]);
