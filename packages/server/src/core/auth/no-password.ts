/**
 * The password "hash" of an account made by an identity provider. Not a
 * PHC string, so argon2 verification of any password against it fails (see
 * verifyPassword: a malformed hash never matches), and login verifies
 * against the dummy hash instead so that the answer takes as long as a
 * wrong password. A password reset by mail replaces it with a real hash.
 */
export const NO_PASSWORD = '!no-password';

/** Whether the user can sign in with a password at all. */
export const hasUsablePassword = (passwordHash: string): boolean => !passwordHash.startsWith('!');
