/**
 * What keeps an object from running, or from running well: one reason from the operator's list
 * and the words that explain it. Status (Ready, Degraded) and Warning Events carry the same pair.
 */
import type { Reason } from './reasons.ts';

export interface Problem {
  reason: Reason;
  message: string;
}
