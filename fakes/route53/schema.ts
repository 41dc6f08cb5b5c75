import { XMLNS, invalidXml } from './api-error.js';
import type { XmlElement } from './xml.js';

/**
 * Reading request documents the way Route53's schema validator does: children in the order the
 * XSD lists them, required ones present, simple elements without children. Violations are
 * InvalidInput "Invalid XML ; cvc-..." like the real service's.
 */

export interface Member {
  readonly name: string;
  readonly required?: boolean;
  /** May occur more than once (maxOccurs unbounded). */
  readonly repeated?: boolean;
}

function expected(members: readonly Member[]): string {
  return `One of '{${members.map((m) => `"${XMLNS}":${m.name}`).join(', ')}}' is expected.`;
}

function elementOnly(parent: XmlElement): void {
  if (parent.text.trim() !== '') {
    throw invalidXml(`cvc-complex-type.2.3: Element '${parent.name}' cannot have character [children], because the type's content type is element-only.`);
  }
}

/**
 * The children of `parent` by name, checked against an XSD sequence (or, with `anyOrder`, an
 * xs:all group, where each member occurs at most once in any order).
 */
export function readChildren(parent: XmlElement, members: readonly Member[], anyOrder = false): Map<string, XmlElement[]> {
  elementOnly(parent);
  const found = new Map<string, XmlElement[]>();
  let cursor = 0;
  for (const child of parent.children) {
    let index = -1;
    if (anyOrder) {
      index = members.findIndex((m) => m.name === child.name && (found.get(m.name)?.length ?? 0) === 0);
    } else {
      for (let i = cursor; i < members.length; i++) {
        const member = members[i];
        if (member === undefined) break;
        const count = found.get(member.name)?.length ?? 0;
        if (member.name === child.name && (count === 0 || member.repeated === true)) {
          index = i;
          break;
        }
        // A required member not yet seen cannot be skipped.
        if (member.required === true && count === 0) break;
      }
    }
    if (index < 0) {
      const remaining = anyOrder ? members.filter((m) => (found.get(m.name)?.length ?? 0) === 0) : members.slice(cursor);
      const hint = remaining.length === 0 ? '' : ` ${expected(remaining)}`;
      throw invalidXml(`cvc-complex-type.2.4.a: Invalid content was found starting with element '${child.name}'.${hint}`);
    }
    cursor = index;
    const list = found.get(child.name) ?? [];
    list.push(child);
    found.set(child.name, list);
  }
  const missing = members.filter((m) => m.required === true && (found.get(m.name)?.length ?? 0) === 0);
  if (missing.length > 0) {
    throw invalidXml(`cvc-complex-type.2.4.b: The content of element '${parent.name}' is not complete. ${expected(missing)}`);
  }
  return found;
}

/** The text of a simple element (one that may not have child elements). */
export function leafText(element: XmlElement): string {
  if (element.children.length > 0) {
    throw invalidXml(`cvc-type.3.1.2: Element '${element.name}' is a simple type, so it must have no element information item [children].`);
  }
  return element.text;
}

export function optionalText(found: Map<string, XmlElement[]>, name: string): string | undefined {
  const element = found.get(name)?.[0];
  return element === undefined ? undefined : leafText(element);
}

export function requiredText(found: Map<string, XmlElement[]>, name: string): string {
  const element = found.get(name)?.[0];
  if (element === undefined) throw invalidXml(`cvc-complex-type.2.4.b: element '${name}' is missing.`);
  return leafText(element);
}

export function enumValue<T extends string>(text: string, allowed: readonly T[]): T {
  const match = allowed.find((a) => a === text);
  if (match === undefined) {
    throw invalidXml(
      `cvc-enumeration-valid: Value '${text}' is not facet-valid with respect to enumeration '[${allowed.join(', ')}]'. It must be a value from the enumeration.`,
    );
  }
  return match;
}

/** xs:long/xs:int style integers within [min, max]. */
export function integerValue(text: string, min: number, max: number, typeName: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw invalidXml(`cvc-datatype-valid.1.2.1: '${text}' is not a valid value for 'integer'.`);
  const value = Number(trimmed);
  if (value < min) throw invalidXml(`cvc-minInclusive-valid: Value '${text}' is not facet-valid with respect to minInclusive '${min}' for type '${typeName}'.`);
  if (value > max) throw invalidXml(`cvc-maxInclusive-valid: Value '${text}' is not facet-valid with respect to maxInclusive '${max}' for type '${typeName}'.`);
  return value;
}

export function booleanValue(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === 'true' || trimmed === '1') return true;
  if (trimmed === 'false' || trimmed === '0') return false;
  throw invalidXml(`cvc-datatype-valid.1.2.1: '${text}' is not a valid value for 'boolean'.`);
}

/** xs:string with maxLength. */
export function boundedText(text: string, min: number, max: number, typeName: string): string {
  if (text.length < min) throw invalidXml(`cvc-minLength-valid: Value '${text}' with length = '${text.length}' is not facet-valid with respect to minLength '${min}' for type '${typeName}'.`);
  if (text.length > max) throw invalidXml(`cvc-maxLength-valid: Value '${text}' with length = '${text.length}' is not facet-valid with respect to maxLength '${max}' for type '${typeName}'.`);
  return text;
}
