/**
 * Config edit → live in every pod, with and without the operator's nudge
 * (`journeys/config-delivery.ts`), on the test API server's dev cluster; the real-server run is
 * `on-real-apiserver.e2e.ts`.
 */
import { jest } from '@jest/globals';
import { runJourneys } from '../cluster/harness/journey.test-support.js';
import { unavailableReason } from './operator-harness.js';
import { configDelivery } from './journeys/config-delivery.js';

jest.setTimeout(300_000);

runJourneys({ apiserver: 'test', skip: unavailableReason() }, [configDelivery]);
