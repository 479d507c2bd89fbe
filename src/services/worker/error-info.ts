import type { ErrorInfo } from '../../events/instance-events.js';

const cap = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** What a thrown value says about itself, within the event's size limits. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const info: ErrorInfo = {
      name: cap(err.name || 'Error', 200),
      message: cap(err.message, 10_000),
    };
    if (err.stack) info.stack = cap(err.stack, 20_000);
    return info;
  }
  let message: string;
  try {
    message = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    message = String(err);
  }
  return { name: 'NonErrorThrown', message: cap(message, 10_000) };
}
