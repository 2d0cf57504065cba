// The rules of the JUnit XML schema most CI systems accept (Jenkins xunit plugin's junit-10.xsd,
// the Ant/Surefire format), as data, and a small validator of them: element nesting, required
// and allowed attributes, the SUREFIRE_TIME pattern of `time`. No network, no XSD engine: the
// rules below are that XSD's, written out (MIT-licensed original by Gregory Boissinot).

interface ElementRule {
  /** attribute name → type ('string' | 'time') */
  attrs: Record<string, 'string' | 'time'>;
  required: string[];
  /** allowed child elements (every content model of this XSD is an unbounded choice, or one repeated element) */
  children: string[];
  /** may hold character data (mixed or simple content) */
  text: boolean;
}

const RERUN = ['rerunFailure', 'rerunError', 'flakyFailure', 'flakyError'];
const detail: ElementRule = { attrs: { type: 'string', message: 'string' }, required: [], children: [], text: true };
const rerun: ElementRule = { attrs: { type: 'string', message: 'string' }, required: ['type'], children: ['stackTrace', 'system-out', 'system-err'], text: true };
const plain: ElementRule = { attrs: {}, required: [], children: [], text: true };

export const JUNIT_RULES: Record<string, ElementRule> = {
  testsuites: { attrs: { name: 'string', time: 'time', tests: 'string', failures: 'string', errors: 'string' }, required: [], children: ['testsuite'], text: false },
  testsuite: {
    attrs: {
      name: 'string', tests: 'string', failures: 'string', errors: 'string', group: 'string', time: 'time', skipped: 'string',
      timestamp: 'string', hostname: 'string', id: 'string', package: 'string', file: 'string', log: 'string', url: 'string',
    },
    required: ['name', 'tests', 'failures', 'errors'],
    children: ['testsuite', 'properties', 'testcase', 'system-out', 'system-err'],
    text: false,
  },
  properties: { attrs: {}, required: [], children: ['property'], text: false },
  property: { attrs: { name: 'string', value: 'string' }, required: ['name', 'value'], children: [], text: false },
  testcase: {
    attrs: { name: 'string', time: 'string', classname: 'string', group: 'string' },
    required: ['name'],
    children: ['skipped', 'error', 'failure', ...RERUN, 'system-out', 'system-err'],
    text: false,
  },
  failure: detail,
  error: detail,
  skipped: detail,
  'system-out': plain,
  'system-err': plain,
  stackTrace: plain,
  ...Object.fromEntries(RERUN.map((r) => [r, rerun])),
};

/** xs:pattern of SUREFIRE_TIME, anchored as XSD patterns are. */
export const SUREFIRE_TIME = /^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$/;

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(s: string, where: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (m, e: string | undefined) => {
    if (e === undefined) throw new Error(`${where}: bare "&"`);
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    if (v === undefined) throw new Error(`${where}: unknown entity &${e};`);
    return v;
  });
}

/** A strict little XML parser: one root, elements, attributes, text, CDATA, comments, the declaration. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    const line = xml.slice(0, i).split('\n').length;
    throw new Error(`XML line ${line}: ${msg}`);
  };
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(xml)) fail('a character XML 1.0 does not allow');
  const skipMisc = () => {
    for (;;) {
      while (i < xml.length && /\s/.test(xml[i]!)) i++;
      if (xml.startsWith('<?', i)) {
        const e = xml.indexOf('?>', i);
        if (e < 0) fail('unterminated <?');
        i = e + 2;
      } else if (xml.startsWith('<!--', i)) {
        const e = xml.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else return;
    }
  };
  const name = () => {
    const m = /^[A-Za-z_:][-A-Za-z0-9_:.]*/.exec(xml.slice(i));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const element = (): XmlElement => {
    if (xml[i] !== '<') fail('expected "<"');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(i))![0].length;
      i += ws;
      if (xml.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (xml[i] === '>') {
        i++;
        break;
      }
      if (ws === 0) fail(`expected whitespace before an attribute of <${el.name}>`);
      const a = name();
      if (xml[i] !== '=') fail(`attribute ${a} without a value`);
      i++;
      const q = xml[i];
      if (q !== '"' && q !== "'") fail(`attribute ${a}: value not quoted`);
      const end = xml.indexOf(q!, i + 1);
      if (end < 0) fail(`attribute ${a}: unterminated value`);
      const raw = xml.slice(i + 1, end);
      if (raw.includes('<')) fail(`attribute ${a}: "<" in a value`);
      if (Object.hasOwn(el.attrs, a)) fail(`attribute ${a} twice on <${el.name}>`);
      el.attrs[a] = unescape(raw, `attribute ${a}`);
      i = end + 1;
    }
    for (;;) {
      if (i >= xml.length) fail(`<${el.name}> not closed`);
      if (xml.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) fail(`</${n}> closes <${el.name}>`);
        while (/\s/.test(xml[i] ?? '')) i++;
        if (xml[i] !== '>') fail('expected ">"');
        i++;
        return el;
      }
      if (xml.startsWith('<![CDATA[', i)) {
        const e = xml.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA');
        el.text += xml.slice(i + 9, e);
        i = e + 3;
      } else if (xml.startsWith('<!--', i)) {
        const e = xml.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (xml[i] === '<') el.children.push(element());
      else {
        const e = xml.indexOf('<', i);
        const raw = xml.slice(i, e < 0 ? xml.length : e);
        if (raw.includes(']]>')) fail('"]]>" in text');
        el.text += unescape(raw, `text of <${el.name}>`);
        i = e < 0 ? xml.length : e;
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < xml.length) fail('content after the root element');
  return root;
}

/** Every violation of the JUnit schema rules in `xml` (empty = valid). */
export function validateJunit(xml: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    return [(e as Error).message];
  }
  const errors: string[] = [];
  if (root.name !== 'testsuites' && root.name !== 'testsuite') errors.push(`root element <${root.name}>: want <testsuites> or <testsuite>`);
  const walk = (el: XmlElement, path: string) => {
    const rule = JUNIT_RULES[el.name];
    if (!rule) {
      errors.push(`${path}: element <${el.name}> is not in the schema`);
      return;
    }
    for (const [a, v] of Object.entries(el.attrs)) {
      const t = rule.attrs[a];
      if (!t) errors.push(`${path}: attribute ${a} is not allowed on <${el.name}>`);
      else if (t === 'time' && !SUREFIRE_TIME.test(v)) errors.push(`${path}: ${a}="${v}" is not a SUREFIRE_TIME`);
    }
    for (const a of rule.required) if (!Object.hasOwn(el.attrs, a)) errors.push(`${path}: <${el.name}> needs attribute ${a}`);
    if (!rule.text && el.text.trim() !== '') errors.push(`${path}: <${el.name}> may not hold text`);
    el.children.forEach((c, k) => {
      if (!rule.children.includes(c.name)) errors.push(`${path}: <${c.name}> may not appear in <${el.name}>`);
      walk(c, `${path}/${c.name}[${k}]`);
    });
  };
  walk(root, root.name);
  return errors;
}
