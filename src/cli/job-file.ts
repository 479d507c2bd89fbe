import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../events/errors.js';

/** Reads a JSON or YAML file holding one job or a list of jobs (or `{ jobs: [...] }`). */
export async function readJobFile(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(`job file ${path}`, [{ path: '', message: (err as Error).message }]);
  }
  if (Array.isArray(doc)) return doc as unknown[];
  if (doc && typeof doc === 'object' && Array.isArray((doc as { jobs?: unknown }).jobs))
    return (doc as { jobs: unknown[] }).jobs;
  return [doc];
}
