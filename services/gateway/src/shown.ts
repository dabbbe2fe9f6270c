// A client's value as an error message quotes it: short, and never a walk of an arbitrarily deep structure
// (JSON.stringify of a body nested 10,000 deep overflows the stack).

const MAX_CHARS = 80;

export function shown(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "object" && value !== null) return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text;
}
