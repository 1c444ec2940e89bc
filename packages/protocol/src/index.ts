export { ERROR_STATUS, isErrorCode } from './errors.js';
export type { ErrorBody, ErrorCode, ErrorDetail, SchemaCheckFailure, SchemaCheckReport } from './errors.js';
export type { AccessTokenClaims, AuthResponse, CollectionDto, IdentityDto, IdentityProviderDto, CollectionRules, Page, Role, RuleName, RuleValue, ServerStatus, TokenPair, UserDto } from './dto.js';
export type { PendingRegistration, UserUpdate } from './dto.js';
export { CLOSE_CODES } from './realtime.js';
export type { ChangeOperation, ClientMessage, RecordPayload, ServerMessage } from './realtime.js';
export { compareSortValues, compareStrings, sortRank, SORT_RANK } from './order.js';
export type { SortRank } from './order.js';
