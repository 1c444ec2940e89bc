export { ERROR_STATUS, isErrorCode } from './errors.js';
export type { ErrorBody, ErrorCode, ErrorDetail } from './errors.js';
export type { AccessTokenClaims, AuthResponse, Page, Role, TokenPair, UserDto } from './dto.js';
