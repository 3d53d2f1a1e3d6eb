/**
 * The open-loop load generator (`npm run load`): used by the demo, tests and benchmarks through
 * runLoad, by people through cli.ts.
 */
export { hardCaps, LoadOptionsError, type LoadOptions } from './options.ts';
export { progressLine, progressPrinter, type LoadProgress } from './progress.ts';
export { defaultPrompt, loadClock, runLoad } from './run.ts';
export { arrivals, scheduleSeconds, type Arrival, type ScheduleSpec } from './schedule.ts';
export { formatSummary, percentile, type LoadRecord, type LoadSummary } from './summary.ts';
export { ServiceSpread, type ListBackends, type ServiceBackend } from './spread.ts';
export { loopbackTarget, TargetError } from './target.ts';
export { formatTrace, parseTrace, TraceError, type TraceRow } from '../../src/sim/trace-csv.ts';
