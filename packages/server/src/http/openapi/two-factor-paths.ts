import { twoFactorCodeBody, twoFactorDisableBody, twoFactorSetupBody, twoFactorSetupSchema, twoFactorStatusSchema, twoFactorVerifyBody, recoveryCodesSchema } from '../routes/two-factor-routes.js';
import { BEARER, body, json, NO_CONTENT, op, pathParam, ref, type Doc } from './openapi-parts.js';

/** The two-factor endpoints (docs/auth.md, "Two-factor authentication"). */
export function twoFactorPaths(): Doc {
  const auth = ['auth'];
  return {
    '/api/auth/2fa': {
      get: op('getTwoFactor', "The caller's two-factor state", {
        tags: auth,
        security: BEARER,
        description: 'Whether two-factor is on, whether a setup waits for its first code, and how many unused recovery codes are left (0 while off).',
        errors: [401],
        responses: { 200: json(twoFactorStatusSchema) },
      }),
    },
    '/api/auth/2fa/setup': {
      post: op('createTwoFactorSecret', 'Start two-factor enrolment', {
        tags: auth,
        security: BEARER,
        description: 'With the current password: a new TOTP secret (base32; SHA-1, 6 digits, 30 s) and its otpauth:// URI (issuer APP_NAME, account the username), kept pending until POST /api/auth/2fa/enable confirms it. Replaces a pending secret; 409 while two-factor is on. The password check is rate limited as a login.',
        errors: [400, 401, 409, 413, 415, 429],
        requestBody: body(twoFactorSetupBody, 'The current password'),
        responses: { 200: json(twoFactorSetupSchema) },
      }),
    },
    '/api/auth/2fa/enable': {
      post: op('updateTwoFactorEnabled', 'Confirm enrolment with a code', {
        tags: auth,
        security: BEARER,
        description: 'A TOTP code of the pending secret turns two-factor on; the answer holds ten single-use recovery codes, shown this once. From then on login answers 401 two_factor_required with a challenge. 409 without a pending secret. Code checks are rate limited per user and per address.',
        errors: [400, 401, 409, 413, 415, 429],
        requestBody: body(twoFactorCodeBody, 'A code of the pending secret'),
        responses: { 200: json(recoveryCodesSchema) },
      }),
    },
    '/api/auth/2fa/verify': {
      post: op('loginWithTwoFactorCode', 'Complete a login with a two-factor code', {
        tags: auth,
        description: 'The challenge of a 401 two_factor_required (error.challenge) and a TOTP or recovery code: answers as login does. A wrong code is 401 invalid_credentials (the challenge stays open); the fifth wrong code, expiry (5 minutes) and use end the challenge (401 unauthorized). No TOTP step and no recovery code works twice. Rate limited per user and per address; a disabled account is 403.',
        errors: [400, 401, 403, 413, 415, 429],
        requestBody: body(twoFactorVerifyBody, 'The challenge and a TOTP or recovery code'),
        responses: { 200: json(ref('AuthResponse')) },
      }),
    },
    '/api/auth/2fa/disable': {
      post: op('deleteTwoFactor', 'Turn two-factor off', {
        tags: auth,
        security: BEARER,
        description: 'With the current password and a TOTP or recovery code: deletes the secret, the recovery codes and open challenges. 409 when two-factor is off.',
        errors: [400, 401, 409, 413, 415, 429],
        requestBody: body(twoFactorDisableBody, 'The current password and a TOTP or recovery code'),
        responses: { 204: NO_CONTENT },
      }),
    },
    '/api/auth/2fa/recovery-codes': {
      post: op('createRecoveryCodes', 'New recovery codes', {
        tags: auth,
        security: BEARER,
        description: 'With a TOTP or recovery code: ten new single-use recovery codes, shown this once; the old ones stop working. 409 when two-factor is off.',
        errors: [400, 401, 409, 413, 415, 429],
        requestBody: body(twoFactorCodeBody, 'A TOTP or recovery code'),
        responses: { 200: json(recoveryCodesSchema) },
      }),
    },
    '/api/users/{username}/2fa': {
      parameters: [pathParam('username', 'Lower-case username')],
      delete: op('deleteUserTwoFactor', "Reset a user's two-factor (admin)", {
        tags: ['users'],
        security: BEARER,
        description: 'Turns the user\'s two-factor off (a lost device): secret, recovery codes and open challenges are deleted; the user signs in with the password alone and may enrol again. Ends no session. 204 also when it was off.',
        errors: [400, 401, 403, 404],
        responses: { 204: NO_CONTENT },
      }),
    },
  };
}
