import { SigilError, SigilNetworkError } from '@sigil/client';

/** Every error in words: the server's message, its code, and each detail at its path. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const text = describeError(error);
  const details = error instanceof SigilError ? error.details : [];
  return (
    <div class="error" role="alert">
      {title && <strong>{title}: </strong>}
      <span>{text}</span>
      {error instanceof SigilError && <code class="code">{error.code}</code>}
      {details.length > 0 && (
        <ul>
          {details.slice(0, 20).map((d, i) => (
            <li key={i}>
              {d.path && <code>{d.path}</code>} {d.message}
            </li>
          ))}
          {details.length > 20 && <li>…and {details.length - 20} more</li>}
        </ul>
      )}
    </div>
  );
}

export function describeError(error: unknown): string {
  if (error instanceof SigilNetworkError) return `The server did not answer (${error.message}). Check that it is running; the dashboard retries live data by itself.`;
  if (error instanceof SigilError) {
    if (error.code === 'rate_limited' && error.retryAfter !== null) return `${error.message} Try again in ${error.retryAfter} s.`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
