import { readFileSync } from 'node:fs';

const KEEP_CHARS = 16_384;

/** The last lines a server logged, kept in memory from its stderr or read back from its log file. */
export interface LogTail {
  push(chunk: string): void;
  lines(count?: number): string;
}

export function createLogTail(logFile?: string): LogTail {
  let buffer = '';
  return {
    push(chunk) {
      buffer = (buffer + chunk).slice(-KEEP_CHARS);
    },
    lines(count = 30) {
      const text = logFile === undefined ? buffer : `${readFileEnd(logFile)}${buffer}`;
      return text.trimEnd().split('\n').slice(-count).join('\n');
    },
  };
}

function readFileEnd(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-KEEP_CHARS);
  } catch (err) {
    return `(could not read log file ${file}: ${err instanceof Error ? err.message : String(err)})\n`;
  }
}
