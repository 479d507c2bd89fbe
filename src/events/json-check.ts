import { createRequire } from 'node:module';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';

/** Ajv is loaded when the first check is compiled, not at start-up (≈ 20 ms to load). */
const load = createRequire(import.meta.url);

/**
 * A fast verdict on a value just parsed from JSON: true only when the zod schema it was compiled
 * from accepts the value, and true for every such value but strings longer than a maximum in
 * UTF-16 units and not in code points. It never says why not: on false, ask the zod schema, which
 * decides.
 */
export type JsonCheck = (value: unknown) => boolean;

/** The zod schema kinds whose JSON Schema (z.toJSONSchema) says exactly what zod checks. */
const EXACT_KINDS = new Set([
  'object',
  'array',
  'union',
  'optional',
  'nullable',
  'string',
  'number',
  'boolean',
  'null',
  'literal',
  'enum',
  'unknown',
]);

/**
 * The zod checks JSON Schema states exactly. Both count a string's length in code points; the
 * check compiled here counts UTF-16 units instead, where that can only make it refuse more (see
 * {@link compileJsonCheck}).
 */
const EXACT_CHECKS = new Set(['min_length', 'max_length', 'greater_than', 'less_than']);

/** What a zod schema node exposes of itself (zod 4's public `_zod.def`). */
interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
}
/** A node's kind, its checks, and (for a format such as `z.email()`) the check it is itself. */
interface NodeDef extends Partial<CheckDef> {
  type: string;
  checks?: readonly { _zod: { def: CheckDef } }[];
}

function isExactCheck(def: CheckDef): boolean {
  if (EXACT_CHECKS.has(def.check)) return true;
  if (def.check === 'number_format') return def.format === 'safeint';
  // A regular expression keeps its meaning in a JSON Schema `pattern` only without flags.
  return def.check === 'string_format' && def.format === 'regex' && def.pattern?.flags === '';
}

/** Ajv counting string lengths in UTF-16 units (`.length`), and in code points. */
const ajvs: { units?: Ajv2020; codePoints?: Ajv2020 } = {};

function ajvCounting(what: 'units' | 'codePoints'): Ajv2020 {
  let ajv = ajvs[what];
  if (!ajv) {
    const { Ajv2020: Ajv } = load('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    ajv = ajvs[what] = new Ajv({ strict: true, logger: false, unicode: what === 'codePoints' });
  }
  return ajv;
}

/**
 * Compiles a {@link JsonCheck} from a zod schema (with Ajv, from the schema's JSON Schema) when
 * that JSON Schema is exact: every node is of a kind and with checks JSON Schema states as zod
 * does, so no transform, default, refinement or flagged regular expression. For such a schema zod's
 * output equals its input, so a value the check accepts is what zod would have returned, without
 * zod's copy. Returns undefined for any other schema (or one Ajv will not compile strictly); the
 * caller keeps to zod.
 */
export function compileJsonCheck(schema: z.ZodType): JsonCheck | undefined {
  let exact = true;
  // A string counts at least as many UTF-16 units as code points: counted in units, a maximum
  // length only refuses more (a string of astral characters near it goes to zod, which counts
  // code points and decides), and a minimum of 1 means the same either way. A larger minimum
  // would accept too much: such a schema is checked counting code points (Ajv's ucs2length walks
  // every string; `.length` is about a fifth of a decoded event's time faster).
  let countCodePoints = false;
  let jsonSchema: object;
  try {
    jsonSchema = z.toJSONSchema(schema, {
      io: 'output',
      override: (ctx) => {
        const def = ctx.zodSchema._zod.def as NodeDef;
        if (!EXACT_KINDS.has(def.type)) exact = false;
        if (def.check !== undefined && !isExactCheck({ ...def, check: def.check })) exact = false;
        for (const check of def.checks ?? []) if (!isExactCheck(check._zod.def)) exact = false;
        for (const c of [def, ...(def.checks ?? []).map((k) => k._zod.def)])
          if (c.check === 'min_length' && (c.minimum ?? 0) > 1) countCodePoints = true;
      },
    });
  } catch {
    return undefined; // not representable at all (a transform, say): zod alone decides
  }
  if (!exact) return undefined;
  try {
    const validate = ajvCounting(countCodePoints ? 'codePoints' : 'units').compile(jsonSchema);
    return (value) => validate(value);
  } catch {
    return undefined; // a schema Ajv cannot compile strictly: zod alone decides
  }
}

/** `schema.safeParse` through a compiled check; see {@link checkedParser}. */
export interface CheckedParser<S extends z.ZodType> {
  (value: unknown): z.ZodSafeParseResult<z.output<S>>;
  /**
   * Compiles the check now rather than on first use (tens of milliseconds, the first one also
   * loads Ajv): for a process that will parse these values soon, so its first one is not held up.
   */
  warm(): void;
}

/**
 * `schema.safeParse`, through the schema's {@link compileJsonCheck} check (compiled on first use,
 * or by `warm()`) where it has one: a value the check accepts is returned as it is, anything else
 * goes to zod, which names what is wrong. Meant for values JSON.parse made (plain objects and
 * arrays, strings, finite numbers, booleans, null): the check was proven equal to zod on those,
 * not on class instances or `undefined` members.
 */
export function checkedParser<S extends z.ZodType>(schema: S): CheckedParser<S> {
  let check: JsonCheck | null | undefined;
  const warm = () => {
    if (check === undefined) check = compileJsonCheck(schema) ?? null;
  };
  const parse = (value: unknown): z.ZodSafeParseResult<z.output<S>> => {
    warm();
    if (check?.(value)) return { success: true, data: value as z.output<S> };
    return schema.safeParse(value);
  };
  return Object.assign(parse, { warm });
}
