// Dashboard side of motopress-sync: the typed client over supabase-js `functions.invoke`.
export { createSyncClient, isSyncClientError, parseSse, SyncClientError } from "./sync-client.ts";
export type {
  CallOptions,
  CancelResult,
  ErrorEnvelope,
  FunctionName,
  HealthReport,
  IntegrityCounters,
  RunStatus,
  SseMessage,
  StartedRun,
  StreamOutcome,
  SyncClient,
  SyncClientOptions,
  SyncEvent,
  SyncProgress,
  SyncRequest,
  SyncRun,
  SyncSource,
  TenantHealth,
} from "./sync-client.ts";
