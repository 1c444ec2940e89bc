import type { CollectionRules, RuleName, RuleValue } from '@sigil/client';
import { CodeEditor } from './code-editor';
import { parseJson, pretty, type SyntaxProblem } from './json-text';
import { isObject } from './schema-model';

export const RULE_NAMES: readonly RuleName[] = ['list', 'view', 'create', 'update', 'delete'];
const KEYWORDS = ['public', 'authenticated', 'owner', 'admin'] as const;
type Mode = (typeof KEYWORDS)[number] | 'expression';

const RULE_HELP: Record<RuleName, string> = {
  list: 'listing and subscribing (together with view)',
  view: 'reading a record by id, and every read',
  create: 'creating records',
  update: 'changing records',
  delete: 'deleting records',
};

/** One rule as edited: a keyword, or an expression's text (kept as typed). */
export interface RuleDraft {
  readonly mode: Mode;
  readonly text: string;
}
export type RulesDraft = Readonly<Record<RuleName, RuleDraft>>;

export function draftOfRules(rules: Partial<CollectionRules>): RulesDraft {
  const defaults: CollectionRules = { list: 'authenticated', view: 'authenticated', create: 'authenticated', update: 'owner', delete: 'owner' };
  return Object.fromEntries(
    RULE_NAMES.map((n) => {
      const r = rules[n] ?? defaults[n];
      return [n, typeof r === 'string' ? { mode: r, text: '{\n  "owner": "@auth.id"\n}' } : { mode: 'expression', text: pretty(r) }];
    }),
  ) as unknown as RulesDraft;
}

/** The rules to send, or the syntax problem of each expression that does not parse to an object. */
export function rulesOfDraft(draft: RulesDraft): { rules: CollectionRules | null; problems: Partial<Record<RuleName, SyntaxProblem | string>> } {
  const problems: Partial<Record<RuleName, SyntaxProblem | string>> = {};
  const rules: Partial<Record<RuleName, RuleValue>> = {};
  for (const n of RULE_NAMES) {
    const d = draft[n];
    if (d.mode !== 'expression') {
      rules[n] = d.mode;
      continue;
    }
    const parsed = parseJson(d.text);
    if (!parsed.ok) problems[n] = parsed.problem;
    else if (!isObject(parsed.value)) problems[n] = 'An expression is a filter object, such as {"owner": "@auth.id"}.';
    else rules[n] = parsed.value;
  }
  return { rules: Object.keys(problems).length ? null : (rules as CollectionRules), problems };
}

export function RulesEditor({ draft, onChange, errors }: { draft: RulesDraft; onChange: (d: RulesDraft) => void; errors: ReadonlyMap<string, readonly string[]> }) {
  const { problems } = rulesOfDraft(draft);
  return (
    <fieldset class="rules">
      <legend>Rules</legend>
      <p class="muted small">
        Who may do what. An expression is a filter (as in <code>?filter=</code>) in which <code>"@auth.id"</code>, <code>"@auth.username"</code> and <code>"@auth.role"</code> stand
        for the caller; admins pass every rule.
      </p>
      {RULE_NAMES.map((n) => {
        const d = draft[n];
        const problem = problems[n];
        const server = errors.get(n) ?? [];
        const set = (next: Partial<RuleDraft>): void => onChange({ ...draft, [n]: { ...d, ...next } });
        return (
          <div class="rule" key={n} data-rule={n}>
            <label>
              <span>
                <code>{n}</code> <span class="muted small">{RULE_HELP[n]}</span>
              </span>
              <select aria-label={`Rule ${n}`} value={d.mode} onChange={(e) => set({ mode: e.currentTarget.value as Mode })}>
                {KEYWORDS.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
                <option value="expression">expression…</option>
              </select>
            </label>
            {d.mode === 'expression' && (
              <CodeEditor
                id={`rule-${n}`}
                label={`Expression of the ${n} rule`}
                rows={4}
                value={d.text}
                onInput={(text) => set({ text })}
                invalid={problem !== undefined || server.length > 0}
                errorAt={typeof problem === 'object' ? problem.offset : null}
                describedBy={`rule-${n}-errors`}
              />
            )}
            <div id={`rule-${n}-errors`}>
              {problem !== undefined && (
                <p class="error-text" role="alert">
                  {typeof problem === 'string' ? problem : `JSON: ${problem.message} (line ${problem.line}, column ${problem.column})`}
                </p>
              )}
              {server.map((m, i) => (
                <p class="error-text" role="alert" key={i}>
                  {m}
                </p>
              ))}
            </div>
          </div>
        );
      })}
    </fieldset>
  );
}
