// The TypeScript types of a config file as users write it (`UserConfig` and the
// interfaces it uses), derived from CONFIG_JSON_SCHEMA so the schema is the one
// place a config key is written. Each field's JSDoc is the schema's
// `description`, with its `default` and `examples`, so `defineConfig` users see
// the same words on hover as editors show for berth.config.json.
// scripts/gen-schema.mjs writes the result to src/config/user-config.generated.ts.
import { isDeepStrictEqual } from 'node:util';

/**
 * The interfaces to write, in order, each at a JSON pointer into the schema; a
 * `$ref` to (or a schema at) one of these pointers is written as the name. The
 * schema has no node for the settings an environment may override (the top level
 * and each environment spread the same properties), so that interface is the
 * properties its two schemas share, equal; each of them extends it.
 */
export const INTERFACES = [
  { name: 'UserPortRange', at: '/$defs/range' },
  { name: 'UserHealthConfig', at: '/$defs/health' },
  { name: 'UserReadyConfig', at: '/$defs/ready' },
  { name: 'UserServiceConfig', at: '/$defs/service' },
  {
    name: 'UserOverridableSettings',
    sharedBy: ['', '/properties/environments/additionalProperties'],
    description:
      'Settings an environment may override: the keys the top level and `environments.<name>` share.',
  },
  {
    name: 'UserEnvironmentConfig',
    at: '/properties/environments/additionalProperties',
    extends: 'UserOverridableSettings',
  },
  { name: 'UserConfig', at: '', extends: 'UserOverridableSettings' },
];

const WIDTH = 110;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The schema at a JSON pointer (`''` is the root, `/$defs/range` a definition). */
function at(schema, pointer) {
  let node = schema;
  for (const part of pointer.split('/').slice(1)) {
    node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  if (node === undefined) throw new Error(`config-types: nothing at #${pointer}`);
  return node;
}

/** A literal of an `enum` as TypeScript (single quotes, as the house formatter writes them). */
function literal(value) {
  if (typeof value !== 'string') return JSON.stringify(value);
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** `A | B` as an array's element: `(A | B)[]`. */
const element = (type) => (type.includes(' | ') ? `(${type})[]` : `${type}[]`);

/** A JSDoc block at `indent`, from `lines` of text (wrapped at WIDTH), or nothing when there is no text. */
function jsdoc(lines, indent) {
  const text = lines.filter((l) => l !== undefined).map((l) => l.replaceAll('*/', '*\\/'));
  if (text.length === 0) return [];
  const single = `${indent}/** ${text[0]} */`;
  if (text.length === 1 && single.length <= WIDTH) return [single];
  const out = [`${indent}/**`];
  for (const line of text) {
    let current = '';
    for (const word of line.split(' ')) {
      if (current && `${indent} * ${current} ${word}`.length > WIDTH) {
        out.push(`${indent} * ${current}`);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    out.push(`${indent} * ${current}`);
  }
  out.push(`${indent} */`);
  return out;
}

/** An integer's bounds in words, for the hover (the schema checks them). */
function bounds({ type, minimum, maximum }) {
  if (type !== 'integer') return undefined;
  if (minimum !== undefined && maximum !== undefined) return `Between ${minimum} and ${maximum}.`;
  if (minimum !== undefined) return `At least ${minimum}.`;
  return maximum === undefined ? undefined : `At most ${maximum}.`;
}

/** A field's documentation: its description and bounds, then its default and examples. */
function fieldDoc(node, target) {
  return [
    node.description ?? target.description,
    bounds({ ...target, ...node }),
    'default' in node ? `@default ${JSON.stringify(node.default)}` : undefined,
    ...(node.examples ?? []).map((example) => `@example ${JSON.stringify(example)}`),
  ];
}

/**
 * The TypeScript source of the types of `schema`: one exported interface per
 * entry of `interfaces`, with each field's JSDoc from the schema.
 */
export function configTypes(schema, interfaces = INTERFACES) {
  const named = new Map(interfaces.filter((i) => i.at !== undefined).map((i) => [i.at, i.name]));

  /** The type of the schema at `pointer`: a named one's name, else its type written out. */
  function typeOf(pointer) {
    if (named.has(pointer)) return named.get(pointer);
    const node = at(schema, pointer);
    if (node.$ref !== undefined) {
      if (!node.$ref.startsWith('#')) throw new Error(`config-types: #${pointer}: only local $refs`);
      return typeOf(node.$ref.slice(1));
    }
    if (node.enum !== undefined) return node.enum.map(literal).join(' | ');
    if (node.oneOf !== undefined)
      return node.oneOf.map((_, i) => typeOf(`${pointer}/oneOf/${i}`)).join(' | ');
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        return element(typeOf(`${pointer}/items`));
      case 'object':
        if (node.properties !== undefined) {
          throw new Error(`config-types: #${pointer} has properties: give it a name in INTERFACES`);
        }
        return typeof node.additionalProperties === 'object'
          ? `Record<string, ${typeOf(`${pointer}/additionalProperties`)}>`
          : 'Record<string, unknown>';
      default:
        throw new Error(`config-types: #${pointer}: no type, enum, oneOf or $ref to write`);
    }
  }

  /** The field lines of the properties `keys` of the object schema at `pointer`. */
  function fields(pointer, keys) {
    const node = at(schema, pointer);
    const required = new Set(node.required ?? []);
    const lines = [];
    for (const key of keys) {
      const child = `${pointer}/properties/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      const property = at(schema, child);
      const target = property.$ref === undefined ? property : at(schema, property.$ref.slice(1));
      lines.push(...jsdoc(fieldDoc(property, target), '  '));
      const name = IDENTIFIER.test(key) ? key : literal(key);
      lines.push(`  ${name}${required.has(key) ? '' : '?'}: ${typeOf(child)};`);
    }
    return lines;
  }

  /** The keys that the object schemas at `pointers` all have, with equal schemas, equally required. */
  function shared(name, pointers) {
    const schemas = pointers.map((p) => at(schema, p));
    const key = (s, k) => [s.properties?.[k], (s.required ?? []).includes(k)];
    const keys = Object.keys(schemas[0].properties ?? {}).filter((k) =>
      schemas.every((s) => isDeepStrictEqual(key(s, k), key(schemas[0], k))),
    );
    if (keys.length === 0) throw new Error(`config-types: ${name}: the schemas share no property`);
    return keys;
  }

  const bases = new Map(); // a base's name -> its entry and keys
  const blocks = [];
  for (const entry of interfaces) {
    let pointer = entry.at;
    let keys;
    if (entry.sharedBy !== undefined) {
      pointer = entry.sharedBy[0];
      keys = shared(entry.name, entry.sharedBy);
      bases.set(entry.name, { entry, keys });
    } else {
      const base = entry.extends === undefined ? { keys: [] } : bases.get(entry.extends);
      if (base === undefined || (base.entry && !base.entry.sharedBy.includes(pointer))) {
        throw new Error(
          `config-types: ${entry.name} extends ${entry.extends}, which is not shared by its schema`,
        );
      }
      keys = Object.keys(at(schema, pointer).properties ?? {}).filter((k) => !base.keys.includes(k));
    }
    const description = entry.description ?? at(schema, pointer).description;
    const heritage = entry.extends === undefined ? '' : ` extends ${entry.extends}`;
    blocks.push(
      [
        ...jsdoc([description], ''),
        `export interface ${entry.name}${heritage} {`,
        ...fields(pointer, keys),
        '}',
      ].join('\n'),
    );
  }
  return [
    '// Generated by scripts/gen-schema.mjs from CONFIG_JSON_SCHEMA (src/config/schema.ts): do not edit.',
    '// Edit the schema, then run `npm run gen:schema`; src/config/schema.test.ts fails while this file is stale.',
    '',
    `${blocks.join('\n\n')}\n`,
  ].join('\n');
}
