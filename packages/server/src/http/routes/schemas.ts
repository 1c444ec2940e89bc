/** JSON Schemas for the HTTP layer: request shapes (semantic rules live in the core) and fast response serialization. */

export const userSchema = {
  type: 'object',
  required: ['id', 'username', 'email', 'emailVerified', 'role', 'disabled', 'twoFactorEnabled', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    emailVerified: { type: 'boolean' },
    role: { type: 'string', enum: ['user', 'admin'] },
    disabled: { type: 'boolean' },
    twoFactorEnabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const tokenPairProperties = {
  accessToken: { type: 'string' },
  refreshToken: { type: 'string' },
} as const;

export const authResponseSchema = {
  type: 'object',
  required: ['user', 'accessToken', 'refreshToken'],
  properties: { user: userSchema, ...tokenPairProperties },
} as const;

/** Register's 202 when signing in needs a verified email (AUTH_REQUIRE_VERIFIED_EMAIL): no tokens until the link is followed. */
export const pendingRegistrationSchema = {
  type: 'object',
  required: ['user', 'verificationRequired'],
  properties: { user: userSchema, verificationRequired: { type: 'boolean', const: true } },
} as const;

export const tokenPairSchema = {
  type: 'object',
  required: ['accessToken', 'refreshToken'],
  properties: tokenPairProperties,
} as const;

// No maxLength: a token of the wrong length is an invalid token (401), not a malformed body; the body limit bounds it.
export const refreshBodySchema = {
  type: 'object',
  required: ['refreshToken'],
  additionalProperties: false,
  properties: { refreshToken: { type: 'string', minLength: 1 } },
} as const;

export const errorResponseSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
} as const;

/** A path's `:username` (users, their two-factor and verification routes). */
export const usernameParams = {
  type: 'object',
  required: ['username'],
  properties: { username: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
