/**
 * Journey 5, leader election between two operator replicas (`journeys/leader-election.ts`), on the
 * test API server's dev cluster; the real-server run is `on-real-apiserver.e2e.ts`.
 */
import { jest } from '@jest/globals';
import { runJourneys } from '../cluster/harness/journey.test-support.js';
import { unavailableReason } from './operator-harness.js';
import { leaderElection } from './journeys/leader-election.js';

jest.setTimeout(120_000);

runJourneys({ apiserver: 'test', skip: unavailableReason() }, [leaderElection]);
