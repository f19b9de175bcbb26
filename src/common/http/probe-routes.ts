/**
 * Routes that load balancers, scrapers and the status page call every few
 * seconds. Their log lines are debug and they get no trace span: one line or
 * span each would bury the ones worth reading.
 */
export const PROBE_ROUTES: ReadonlySet<string> = new Set([
  '/',
  '/status',
  '/health/live',
  '/health/ready',
  '/health/topology',
  '/metrics',
  '/ping',
  '/v2/health/live',
  '/v2/health/ready',
]);
