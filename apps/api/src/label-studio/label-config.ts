import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { InputKind } from '@labelloop/db';

/**
 * What labelloop needs from a Label Studio label config (the raw XML LS sends as `schema` / `label_config`):
 * the one `<Choices>` control, the object tag it labels and the task data key that object reads.
 */
export interface LabelConfig {
  /** `name` of the `<Choices>` control: a prediction's `from_name`. */
  fromName: string;
  /** `name` of the object tag the control labels: a prediction's `to_name`. */
  toName: string;
  objectType: 'Text' | 'Image';
  inputKind: Extract<InputKind, 'text' | 'image'>;
  /** The key in `task.data` the object reads (`value="$text"` → `text`). */
  dataKey: string;
  /** Choice values in config order (`alias` wins over `value`, as in Label Studio). */
  choices: string[];
}

/** A label config labelloop cannot serve; the message names the problem. */
export class LabelConfigError extends Error {}

/** Object tags whose content labelloop can classify, by tag name. */
const OBJECT_KINDS: Record<string, LabelConfig['inputKind']> = {
  Text: 'text',
  HyperText: 'text',
  Image: 'image',
};

interface Tag {
  name: string;
  attributes: Record<string, string>;
  children: Tag[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  parseAttributeValue: false,
  parseTagValue: false,
});

export function parseLabelConfig(xml: unknown): LabelConfig {
  if (typeof xml !== 'string' || xml.trim() === '') throw new LabelConfigError('label config is empty');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new LabelConfigError(`label config is not valid XML: ${msg} (line ${line}, column ${col})`);
  }
  const tags = flatten(toTags(parser.parse(xml) as unknown[]));
  const controls = tags.filter((tag) => tag.name === 'Choices');
  if (controls.length === 0) {
    throw new LabelConfigError(
      'label config has no <Choices> control: labelloop serves classification projects (one <Choices>)',
    );
  }
  if (controls.length > 1) {
    const names = controls.map((c) => c.attributes.name ?? '?').join(', ');
    throw new LabelConfigError(
      `label config has ${controls.length} <Choices> controls (${names}); labelloop serves exactly one`,
    );
  }
  const control = controls[0];
  const fromName = control.attributes.name;
  if (!fromName) throw new LabelConfigError('<Choices> has no name attribute');
  const targets = (control.attributes.toName ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (targets.length === 0)
    throw new LabelConfigError(`<Choices name="${fromName}"> has no toName attribute`);
  const object = tags.find((tag) => targets.includes(tag.attributes.name ?? '') && tag.name in OBJECT_KINDS);
  if (!object) {
    throw new LabelConfigError(
      `<Choices name="${fromName}"> toName="${targets.join(',')}" names no <Text>, <HyperText> or <Image> tag`,
    );
  }
  const value = object.attributes.value ?? '';
  if (!/^\$[A-Za-z0-9_$-]+$/.test(value)) {
    throw new LabelConfigError(
      `<${object.name} name="${object.attributes.name}"> value must be a task data reference like "$text", got ${JSON.stringify(value)}`,
    );
  }
  const choices = flatten(control.children)
    .filter((tag) => tag.name === 'Choice')
    .map((tag) => tag.attributes.alias ?? tag.attributes.value ?? '');
  if (choices.some((choice) => choice.startsWith('$')) || control.attributes.value?.startsWith('$')) {
    throw new LabelConfigError(
      `<Choices name="${fromName}"> uses dynamic choices; labelloop needs a fixed set of <Choice> values`,
    );
  }
  if (choices.length === 0) throw new LabelConfigError(`<Choices name="${fromName}"> has no <Choice> values`);
  if (choices.some((choice) => choice.trim() === '')) {
    throw new LabelConfigError(`<Choices name="${fromName}"> has a <Choice> without a value`);
  }
  const duplicate = choices.find((choice, index) => choices.indexOf(choice) !== index);
  if (duplicate !== undefined) {
    throw new LabelConfigError(`<Choices name="${fromName}"> lists the choice "${duplicate}" twice`);
  }
  return {
    fromName,
    toName: object.attributes.name,
    objectType: OBJECT_KINDS[object.name] === 'image' ? 'Image' : 'Text',
    inputKind: OBJECT_KINDS[object.name],
    dataKey: value.slice(1),
    choices,
  };
}

/** preserveOrder output: `[{ Tag: [children], ':@': {attributes} }, { '#text': ... }, ...]`. */
function toTags(nodes: unknown[]): Tag[] {
  const tags: Tag[] = [];
  for (const node of nodes) {
    const entry = node as Record<string, unknown>;
    const name = Object.keys(entry).find((key) => key !== ':@' && !key.startsWith('#'));
    if (!name) continue;
    tags.push({
      name,
      attributes: (entry[':@'] as Record<string, string> | undefined) ?? {},
      children: toTags((entry[name] as unknown[]) ?? []),
    });
  }
  return tags;
}

/** Every tag of the tree, in document order. */
function flatten(tags: Tag[]): Tag[] {
  return tags.flatMap((tag) => [tag, ...flatten(tag.children)]);
}
