/** Status condition bookkeeping: `lastTransitionTime` changes only when `status` changes. */
import type { Condition, ConditionType } from '../api/v1alpha1/collector-types.js';

export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export const CONDITION_ORDER: readonly ConditionType[] = ['Ready', 'Progressing', 'ConfigValid', 'Degraded'];

export function mergeConditions(previous: readonly Condition[] | undefined, next: readonly ConditionInput[], now: string, generation: number): Condition[] {
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  return [...next]
    .sort((a, b) => CONDITION_ORDER.indexOf(a.type) - CONDITION_ORDER.indexOf(b.type))
    .map((c) => {
      const old = prev.get(c.type);
      const lastTransitionTime = old !== undefined && old.status === c.status ? old.lastTransitionTime : now;
      return { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime, observedGeneration: generation };
    });
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
