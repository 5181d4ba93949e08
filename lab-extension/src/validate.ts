/**
 * Checks untrusted output data against the profile contract: the JSON Schema
 * in `schema/profile.schema.json` (ajv), then what a schema cannot say
 * (shares that add up to more than the whole, sizes no machine has). Every
 * problem is reported as one readable sentence naming the field.
 */
import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';

import schema from './profile.schema.json';

/** The `notebook.format_version` this renderer reads. */
export const FORMAT_VERSION = 1;

/** Raised when output data is not a profile this renderer can read. */
export class ProfileError extends Error {}

/**
 * Check `value` against the contract.
 *
 * A profile without a `notebook` block (one written by Scalene's own CLI)
 * is valid: it is checked against Scalene's fields only.
 *
 * @throws ProfileError whose message names the first field that is wrong.
 */
export function validateProfile(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProfileError('the output is not a profile object');
  }
  const root = value as { [key: string]: unknown };
  Private.checkVersion(root.notebook);
  const check = Private.validator();
  if (!check(value)) {
    throw new ProfileError(Private.describe(check.errors ?? [], value));
  }
  Private.checkMeaning(root);
}

/**
 * A JSON path in the renderer's notation: `files["[3]"].lines[2].lineno`.
 *
 * @param pointer - a JSON pointer such as `/files/[3]/lines/2/lineno`.
 */
export function fieldPath(pointer: string): string {
  if (!pointer) {
    return 'the profile';
  }
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) {
      path += `[${part}]`;
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) {
      path += path ? `.${part}` : part;
    } else {
      path += `[${JSON.stringify(part)}]`;
    }
  }
  return path;
}

namespace Private {
  type Json = { [key: string]: unknown };

  let compiled: ValidateFunction | null = null;

  /** The schema compiled once, with `notebook` optional (plain Scalene profiles). */
  export function validator(): ValidateFunction {
    if (compiled === null) {
      const relaxed = {
        ...schema,
        required: (schema.required as string[]).filter(name => name !== 'notebook')
      };
      const ajv = new Ajv2020({ allErrors: false, strict: false, validateFormats: false });
      compiled = ajv.compile(relaxed);
    }
    return compiled;
  }

  /** A newer format is named as such, not as a schema mismatch. */
  export function checkVersion(notebook: unknown): void {
    if (typeof notebook !== 'object' || notebook === null) {
      return;
    }
    const version = (notebook as Json).format_version;
    if (typeof version === 'number' && version > FORMAT_VERSION) {
      throw new ProfileError(
        `notebook.format_version is ${version}, newer than the format this extension reads (${FORMAT_VERSION}); update scalene-lab's JupyterLab extension`
      );
    }
  }

  const TYPE_NAMES: { [key: string]: string } = {
    number: 'a number',
    integer: 'a whole number',
    string: 'text',
    array: 'a list',
    object: 'an object',
    boolean: 'true or false',
    null: 'null'
  };

  function typeName(type: unknown): string {
    const names = (Array.isArray(type) ? type : [type]).map(t => TYPE_NAMES[String(t)] ?? String(t));
    return names.join(' or ');
  }

  function shown(value: unknown): string {
    const text = JSON.stringify(value);
    if (text === undefined) {
      return String(value);
    }
    return text.length > 40 ? `${text.slice(0, 37)}...` : text;
  }

  function valueAt(root: unknown, pointer: string): unknown {
    let node: unknown = root;
    for (const raw of pointer ? pointer.slice(1).split('/') : []) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = typeof node === 'object' && node !== null ? (node as Json)[part] : undefined;
    }
    return node;
  }

  /** The first schema error as a sentence. */
  export function describe(errors: ErrorObject[], root: unknown): string {
    const error = errors[0];
    if (!error) {
      return 'the profile does not match the profile schema';
    }
    const where = fieldPath(error.instancePath);
    const value = valueAt(root, error.instancePath);
    const params = error.params as Json;
    switch (error.keyword) {
      case 'required': {
        const field = String(params.missingProperty);
        return error.instancePath ? `${where}.${field} is missing` : `${field} is missing`;
      }
      case 'type':
        return `${where} should be ${typeName(params.type)}, not ${shown(value)}`;
      case 'minimum':
      case 'exclusiveMinimum':
        return `${where} is ${shown(value)}, below its least possible value ${String(params.limit)}`;
      case 'maximum':
      case 'exclusiveMaximum':
        return `${where} is ${shown(value)}, above its greatest possible value ${String(params.limit)}`;
      case 'enum':
        return `${where} is ${shown(value)}; it should be one of ${(params.allowedValues as unknown[]).map(shown).join(', ')}`;
      case 'const':
        return `${where} is ${shown(value)}; it should be ${shown(params.allowedValue)}`;
      case 'minItems':
        return `${where} should have at least ${String(params.limit)} items`;
      default:
        return `${where} ${error.message ?? 'does not match the profile schema'}`;
    }
  }

  // Rounding in the kernel can push a sum of shares a little over 100.
  const PERCENT_SLACK = 0.5;
  // A petabyte: no line of a notebook allocates, peaks at or copies more.
  const ABSURD_MB = 1e9;
  const MB_FIELDS = [
    'n_peak_mb',
    'n_avg_mb',
    'n_malloc_mb',
    'n_churn_mb',
    'n_growth_mb',
    'n_gpu_peak_memory_mb',
    'n_gpu_avg_memory_mb'
  ];

  /** What the schema cannot express: sums of shares, and sizes no machine has. */
  export function checkMeaning(root: Json): void {
    const files = root.files as { [key: string]: Json };
    let total = 0;
    for (const [key, file] of Object.entries(files)) {
      const at = `files[${JSON.stringify(key)}]`;
      total += file.percent_cpu_time as number;
      for (const field of ['lines', 'functions']) {
        (file[field] as Json[]).forEach((row, i) => checkRow(row, `${at}.${field}[${i}]`));
      }
    }
    if (total > 100 + PERCENT_SLACK) {
      throw new ProfileError(`the sources' percent_cpu_time add up to ${total.toFixed(1)}%, more than the whole run`);
    }
    if ((root.max_footprint_mb as number) > ABSURD_MB) {
      throw new ProfileError(
        `max_footprint_mb is ${shown(root.max_footprint_mb)} MB, more memory than any machine has`
      );
    }
    const notebook = root.notebook as Json | undefined;
    if (notebook !== undefined) {
      const key = notebook.profiled_source as string;
      const sources = notebook.sources as Json;
      if (Object.keys(files).length > 0 && !(key in files) && !(key in sources)) {
        throw new ProfileError(`notebook.profiled_source ${shown(key)} is neither in files nor in notebook.sources`);
      }
    }
  }

  function checkRow(row: Json, at: string): void {
    const time = (row.n_cpu_percent_python as number) + (row.n_cpu_percent_c as number) + (row.n_sys_percent as number);
    if (time > 100 + PERCENT_SLACK) {
      throw new ProfileError(
        `${at} has Python, native and system time adding up to ${time.toFixed(1)}%, more than the whole run`
      );
    }
    for (const field of MB_FIELDS) {
      const value = row[field];
      if (typeof value === 'number' && Math.abs(value) > ABSURD_MB) {
        throw new ProfileError(`${at}.${field} is ${shown(value)} MB, more memory than any machine has`);
      }
    }
  }
}
