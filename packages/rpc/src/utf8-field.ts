// Which string field of an undecodable request is not UTF-8: protobuf-es only says "invalid UTF-8", and a
// client needs the field's name to fix its request.
import { isUtf8 } from "node:buffer";
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/**
 * The path of the first string field in `bytes` (a `schema` message) holding bytes that are not UTF-8, named as
 * the API's error messages name fields (`prompt.chat.messages[1].content`; a oneof member under its oneof's
 * name); undefined when there is none or the bytes are not even a well-formed message.
 */
export function invalidUtf8Field(schema: DescMessage, bytes: Uint8Array): string | undefined {
  try {
    return search(schema, bytes);
  } catch {
    return undefined; // truncated or malformed: the decoder's own message says so
  }
}

function search(schema: DescMessage, bytes: Uint8Array): string | undefined {
  const reader = new BinaryReader(bytes);
  const seen = new Map<number, number>(); // occurrences of each repeated field, for its index
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    const field = schema.fields.find((f) => f.number === number);
    if (!field || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType, number);
      continue;
    }
    const value = reader.bytes();
    const index = seen.get(number) ?? 0;
    seen.set(number, index + 1);
    const found = problemIn(field, value);
    if (found !== undefined) return `${nameOf(field, index)}${found}`;
  }
  return undefined;
}

/** "" when `value` itself is the bad string, a sub-path when the bad string is inside it, undefined if none. */
function problemIn(field: DescField, value: Uint8Array): string | undefined {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  if (kind === "scalar" && field.scalar === ScalarType.STRING) return isUtf8(value) ? undefined : "";
  if (kind === "message" && field.message) {
    const inner = search(field.message, value);
    return inner === undefined ? undefined : `.${inner}`;
  }
  if (field.fieldKind === "map") {
    // An entry is a message of key (1) and value (2); a bad key or string value names the map.
    const reader = new BinaryReader(value);
    while (reader.pos < reader.len) {
      const [, wireType] = reader.tag();
      if (wireType !== WireType.LengthDelimited) {
        reader.skip(wireType);
        continue;
      }
      const part = reader.bytes();
      if (field.mapKind !== "message" && !isUtf8(part)) return "";
      if (field.mapKind === "message" && field.message) {
        const inner = search(field.message, part);
        if (inner !== undefined) return `.${inner}`;
      }
    }
  }
  return undefined;
}

function nameOf(field: DescField, index: number): string {
  const name = field.oneof ? `${field.oneof.name}.${field.name}` : field.name;
  return field.fieldKind === "list" ? `${name}[${index}]` : name;
}
