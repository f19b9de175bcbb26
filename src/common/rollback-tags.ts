/**
 * The model-version tags a rollback writes in MLflow (src/rollback/) and the
 * models API reads back: the bad version says where the alias went back to,
 * the good one which version it came back from; both say why and when.
 */
export const ROLLBACK_TAGS = {
  rolledBackTo: 'modelgate.rolled_back_to',
  rolledBackFrom: 'modelgate.rolled_back_from',
  reason: 'modelgate.rollback_reason',
  at: 'modelgate.rolled_back_at',
} as const;

export interface RollbackRecord {
  rolledBackTo?: string;
  rolledBackFrom?: string;
  reason?: string;
  at?: string;
}

/** What a version's tags say of a rollback; undefined when nothing. */
export function rollbackRecord(tags: Readonly<Record<string, string>>): RollbackRecord | undefined {
  const record: RollbackRecord = {
    rolledBackTo: tags[ROLLBACK_TAGS.rolledBackTo],
    rolledBackFrom: tags[ROLLBACK_TAGS.rolledBackFrom],
    reason: tags[ROLLBACK_TAGS.reason],
    at: tags[ROLLBACK_TAGS.at],
  };
  return Object.values(record).some((v) => v !== undefined) ? record : undefined;
}
