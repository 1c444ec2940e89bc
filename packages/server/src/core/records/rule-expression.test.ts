import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { isAppError } from '../errors.js';
import { bindRule, parseRuleExpression, usesVariables } from './rule-expression.js';

const alice: Principal = {
  userId: 'u_alice', username: 'alice', role: 'user', sessionId: 's', expiresAt: 0,
  user: { id: 'u_alice', username: 'alice', email: null, emailVerified: false, role: 'user', disabled: false, twoFactorEnabled: false, createdAt: '', updatedAt: '' },
};
const bind = (rule: object, principal: Principal | null) => bindRule(parseRuleExpression(rule as never, '/rules/view'), principal);
const owner = { kind: 'system', name: 'owner' } as const;
const field = (name: string) => ({ kind: 'data', path: [name] }) as const;

describe('rule expressions', () => {
  it('puts the caller in place of the variables', () => {
    expect(bind({ owner: '@auth.id' }, alice)).toEqual({ op: 'eq', field: owner, value: 'u_alice' });
    expect(bind({ author: '@auth.username', level: { $ne: '@auth.role' } }, alice)).toEqual({
      op: 'and',
      children: [{ op: 'eq', field: field('author'), value: 'alice' }, { op: 'ne', field: field('level'), value: 'user' }],
    });
    expect(bind({ members: { $contains: '@auth.id' } }, alice)).toEqual({ op: 'contains', field: field('members'), value: 'u_alice' });
    expect(bind({ editors: { $in: ['@auth.username', 'root'] } }, alice)).toEqual({ op: 'in', field: field('editors'), values: ['alice', 'root'] });
  });

  it('an anonymous caller matches no condition that uses a variable; constant parts fold away', () => {
    expect(bind({ owner: '@auth.id' }, null)).toBe(false);
    expect(bind({ $or: [{ published: true }, { owner: '@auth.id' }] }, null)).toEqual({ op: 'eq', field: field('published'), value: true });
    expect(bind({ $and: [{ published: true }, { owner: '@auth.id' }] }, null)).toBe(false);
    // The condition is false, so its negation is true.
    expect(bind({ $not: { owner: '@auth.id' } }, null)).toBe(true);
    expect(bind({ $or: [{ published: true }, { $not: { owner: '@auth.id' } }] }, null)).toBe(true);
    expect(bind({ published: true }, null)).toEqual({ op: 'eq', field: field('published'), value: true });
  });

  it('says whether a rule uses variables at all', () => {
    expect(usesVariables(parseRuleExpression({ published: true }, '/rules/view'))).toBe(false);
    expect(usesVariables(parseRuleExpression({ $or: [{ published: true }, { owner: '@auth.id' }] }, '/rules/view'))).toBe(true);
  });

  it.each([
    [{ owner: '@auth.email' }, /unknown variable "@auth.email"/],
    [{}, /empty rule expression/],
    [{ $nope: [] }, /not a valid rule expression/],
    [{ version: { $gt: 'x' } }, /not a valid rule expression/],
  ])('refuses %j with a clear validation error', (rule, message) => {
    let caught: unknown;
    try {
      parseRuleExpression(rule, '/rules/view');
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.code).toBe('validation_failed');
    expect((caught as Error).message).toMatch(message);
    expect(isAppError(caught) && caught.details?.[0]?.path.startsWith('/rules/view')).toBe(true);
  });
});
