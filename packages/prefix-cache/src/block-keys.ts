// Chained block keys (vLLM's prefix-caching scheme): a block's key commits to every token before it,
// so equal keys mean equal prefixes, and every node computes the same keys for the same request.
//
// Byte encoding of key_i = SHA-256 over, in order:
//   parent      32 bytes: key_{i-1}, or 32 zero bytes for the first block
//   model_id    u32 little-endian byte length, then UTF-8 bytes
//   cache_salt  u32 little-endian byte length, then UTF-8 bytes ("" when the request has none)
//   tokens      u32 little-endian count, then each token id as u32 little-endian
// Keys are handed out as lowercase hex (64 characters).
import { createHash } from "node:crypto";

export const DEFAULT_BLOCK_SIZE = 16;

const ROOT_PARENT = Buffer.alloc(32);

export interface BlockKeyScope {
  modelId: string;
  /** Isolates tenants: blocks written under one salt are never found under another. */
  cacheSalt?: string;
  blockSize?: number;
}

/** Keys of the FULL blocks of `tokenIds` (a trailing partial block has no key). */
export function blockKeys(tokenIds: ArrayLike<number>, scope: BlockKeyScope): string[] {
  const blockSize = scope.blockSize ?? DEFAULT_BLOCK_SIZE;
  const header = Buffer.concat([lengthPrefixed(scope.modelId), lengthPrefixed(scope.cacheSalt ?? "")]);
  const keys: string[] = [];
  let parent = ROOT_PARENT;
  for (let start = 0; start + blockSize <= tokenIds.length; start += blockSize) {
    const tokens = Buffer.alloc(4 + 4 * blockSize);
    tokens.writeUInt32LE(blockSize, 0);
    for (let i = 0; i < blockSize; i++) tokens.writeUInt32LE(tokenIds[start + i], 4 + 4 * i);
    parent = createHash("sha256").update(parent).update(header).update(tokens).digest();
    keys.push(parent.toString("hex"));
  }
  return keys;
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}
