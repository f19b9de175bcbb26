/**
 * What a caller may do. Probes need none; every other route names one
 * (src/auth/route-scopes.ts; README "Security" has the table). Here, below
 * config/, because the API-key parser in config/ checks scope names.
 */
export const SCOPES = ['predict', 'read', 'reload', 'train', 'promote', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
