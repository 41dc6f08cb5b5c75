/**
 * The little XML the Route53 REST API needs, read strictly and namespace-agnostically: elements,
 * text, the five predefined entities and character references, CDATA, comments and processing
 * instructions. No DTDs (nothing to expand, nothing to fetch), no attribute semantics. Anything
 * else is a syntax error, which the server answers as InvalidInput, like Route53's own parser.
 */

export interface XmlElement {
  /** Local name: any namespace prefix is dropped ("r53:Name" -> "Name"). */
  readonly name: string;
  readonly children: readonly XmlElement[];
  /** The element's own character data (entities replaced), children's text excluded. */
  readonly text: string;
}

export class XmlSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'XmlSyntaxError';
  }
}

/** Nesting deeper than this is not an API request; refusing it keeps the parser's memory bounded. */
const MAX_DEPTH = 64;

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*("[^"<]*"|'[^'<]*')/y;
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));/y;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

interface Building {
  readonly qualifiedName: string;
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

function localName(qualified: string): string {
  const colon = qualified.lastIndexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** Replaces entity and character references in character data; a bare "&" is an error. */
function unescapeText(raw: string, at: number): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const amp = raw.indexOf('&', i);
    if (amp < 0) {
      out += raw.slice(i);
      break;
    }
    out += raw.slice(i, amp);
    ENTITY.lastIndex = amp;
    const m = ENTITY.exec(raw);
    if (m === null) throw new XmlSyntaxError('unknown or malformed entity reference', at + amp);
    const [whole, named, decimal, hex] = m;
    if (named !== undefined) {
      out += PREDEFINED[named] ?? '';
    } else {
      const code = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex ?? '', 16);
      if (!isXmlChar(code)) throw new XmlSyntaxError(`character reference to U+${code.toString(16).toUpperCase()} is not allowed in XML`, at + amp);
      out += String.fromCodePoint(code);
    }
    i = amp + whole.length;
  }
  return out;
}

/** Parses one XML document and returns its root element. Throws XmlSyntaxError. */
export function parseXml(input: string): XmlElement {
  const doc = input.startsWith('\ufeff') ? input.slice(1) : input;
  const stack: Building[] = [];
  let root: XmlElement | undefined;
  let i = 0;

  const expect = (literal: string): void => {
    if (!doc.startsWith(literal, i)) throw new XmlSyntaxError(`expected "${literal}"`, i);
    i += literal.length;
  };
  const skipUntil = (terminator: string, what: string): string => {
    const end = doc.indexOf(terminator, i);
    if (end < 0) throw new XmlSyntaxError(`unterminated ${what}`, i);
    const content = doc.slice(i, end);
    i = end + terminator.length;
    return content;
  };

  if (doc.startsWith('<?xml', 0)) {
    i = 5;
    const declaration = skipUntil('?>', 'XML declaration');
    const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(declaration)?.[1];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) throw new XmlSyntaxError(`encoding "${encoding}" is not supported; send UTF-8`, 0);
  }

  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const textEnd = lt < 0 ? doc.length : lt;
    if (textEnd > i) {
      const raw = doc.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (raw.trim() !== '') throw new XmlSyntaxError('text outside the root element', i);
      } else {
        if (raw.includes(']]>')) throw new XmlSyntaxError('"]]>" is not allowed in character data', i + raw.indexOf(']]>'));
        top.text += unescapeText(raw, i);
      }
      i = textEnd;
      continue;
    }
    // At "<".
    if (doc.startsWith('<!--', i)) {
      i += 4;
      const comment = skipUntil('-->', 'comment');
      if (comment.includes('--')) throw new XmlSyntaxError('"--" inside a comment', i);
      continue;
    }
    if (doc.startsWith('<![CDATA[', i)) {
      const top = stack[stack.length - 1];
      if (top === undefined) throw new XmlSyntaxError('CDATA outside the root element', i);
      i += 9;
      top.text += skipUntil(']]>', 'CDATA section');
      continue;
    }
    if (doc.startsWith('<!', i)) throw new XmlSyntaxError('DOCTYPE and other declarations are not allowed', i);
    if (doc.startsWith('<?', i)) {
      i += 2;
      skipUntil('?>', 'processing instruction');
      continue;
    }
    if (doc.startsWith('</', i)) {
      i += 2;
      NAME.lastIndex = i;
      const m = NAME.exec(doc);
      if (m === null) throw new XmlSyntaxError('malformed end tag', i);
      const qualified = m[0];
      i += qualified.length;
      while (i < doc.length && /\s/.test(doc[i] ?? '')) i++;
      expect('>');
      const open = stack.pop();
      if (open === undefined) throw new XmlSyntaxError(`end tag </${qualified}> without a start tag`, i);
      if (open.qualifiedName !== qualified) throw new XmlSyntaxError(`end tag </${qualified}> does not match <${open.qualifiedName}>`, i);
      const element: XmlElement = { name: open.name, children: open.children, text: open.text };
      const parent = stack[stack.length - 1];
      if (parent === undefined) root = element;
      else parent.children.push(element);
      continue;
    }
    // Start tag.
    if (root !== undefined) throw new XmlSyntaxError('more than one root element', i);
    i += 1;
    NAME.lastIndex = i;
    const m = NAME.exec(doc);
    if (m === null) throw new XmlSyntaxError('malformed start tag', i);
    const qualified = m[0];
    i += qualified.length;
    const seen = new Set<string>();
    for (;;) {
      ATTRIBUTE.lastIndex = i;
      const attr = ATTRIBUTE.exec(doc);
      if (attr === null) break;
      const attrName = attr[1] ?? '';
      if (seen.has(attrName)) throw new XmlSyntaxError(`attribute "${attrName}" repeated`, i);
      seen.add(attrName);
      // Checked for well-formedness only: the API carries no meaning in attributes besides xmlns.
      unescapeText((attr[2] ?? '').slice(1, -1), i);
      i += attr[0].length;
    }
    while (i < doc.length && /\s/.test(doc[i] ?? '')) i++;
    const selfClosing = doc.startsWith('/>', i);
    if (selfClosing) i += 2;
    else expect('>');
    if (stack.length >= MAX_DEPTH) throw new XmlSyntaxError(`elements nested deeper than ${MAX_DEPTH}`, i);
    if (selfClosing) {
      const element: XmlElement = { name: localName(qualified), children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent === undefined) root = element;
      else parent.children.push(element);
    } else {
      stack.push({ qualifiedName: qualified, name: localName(qualified), children: [], text: '' });
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`element <${stack[stack.length - 1]?.qualifiedName ?? ''}> is not closed`, doc.length);
  if (root === undefined) throw new XmlSyntaxError('no root element', doc.length);
  return root;
}

/** Character data for element content: the three characters that could end or confuse it. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&gt;'));
}

/** `<name>escaped text</name>`. */
export function textElement(name: string, text: string | number | boolean): string {
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}
