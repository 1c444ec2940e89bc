export { createClient } from './client.js';
export { Collections, Users } from './admin.js';
export type { CollectionChange, CollectionDryRun, CollectionInput, UserChange } from './admin.js';
export type { AccessPreview, AccessPreviewPart, AccessPreviewQuery } from './access-preview.js';
export type { ClientOptions, SigilClient } from './client.js';
export { Auth } from './auth.js';
export type { AuthOptions } from './auth.js';
export type { ProviderRedirectOptions, ProviderReturn, ProviderReturnOptions, VerifierStorage } from './provider-sign-in.js';
export { Collection } from './collection.js';
export type { CollectionSubscriptionHandlers } from './collection.js';
export { Batch } from './batch.js';
export type { BatchResult } from './batch.js';
export { SigilError, SigilNetworkError, TwoFactorRequiredError } from './errors.js';
export type { FetchLike } from './http.js';
export type { LiveQuery, LiveSnapshot } from './live-query.js';
export { LiveWindow } from './live-state.js';
export { Realtime } from './realtime.js';
export type { ChangeEvent, ConnectionState, RealtimeOptions, RealtimeSubscription, SubscribeParams, SubscriptionHandlers, WebSocketConstructor, WebSocketLike } from './realtime.js';
export { parseSort, recordComparator } from './sort.js';
export { localStorageTokenStore, memoryTokenStore } from './token-store.js';
export type { Session, TokenStore } from './token-store.js';
export type {
  AnySchema,
  CollectionTypes,
  ExpandPath,
  FieldCondition,
  FieldOperators,
  FieldPath,
  Filter,
  IfMatch,
  ListQuery,
  LooseFilter,
  PathValue,
  RecordOf,
  RecordPage,
  Sort,
  SortKey,
  SystemFields,
  TypesOf,
  UntypedCollection,
} from './types.js';
export type { CollectionDto, CollectionRules, IdentityDto, IdentityProviderDto, RuleName, RuleValue, SchemaCheckReport, ServerStatus, UserDto } from '@sigil/protocol';
