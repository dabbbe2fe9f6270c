// The sampler's side of the ring: positioned reads (pread) into one reused buffer. Attaching checks the
// runner's nonce, which fails on another host (no such file) or another machine's /dev/shm (other bytes).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { LlmError } from "@llm/errors";
import {
  FILE_HEADER_BYTES,
  fileBytes,
  MAGIC,
  NONCE_BYTES,
  type RingGeometry,
  type RingLocation,
  SLOT_HEADER_BYTES,
  slotHeaderOffset,
} from "./layout.js";

export class RingReader {
  private readonly stampBytes = Buffer.alloc(8);
  private buffer = Buffer.alloc(0);

  private constructor(
    private readonly fd: number,
    readonly geometry: RingGeometry,
  ) {}

  /** Opens the runner's ring; throws an Error saying why when it is not the runner's file or not reachable. */
  static attach(path: string, nonce: Uint8Array): RingReader {
    const fd = openSync(path, "r");
    try {
      const header = Buffer.alloc(FILE_HEADER_BYTES);
      readSync(fd, header, 0, FILE_HEADER_BYTES, 0);
      const sameNonce = header.subarray(8, 8 + NONCE_BYTES).equals(nonce);
      if (header.toString("latin1", 0, 8) !== MAGIC || !sameNonce) {
        throw new Error(`${path} is not the runner's ring (another host's or container's file)`);
      }
      const geometry = { slots: header.readUInt32LE(24), slotBytes: header.readDoubleLE(32) };
      if (fstatSync(fd).size < fileBytes(geometry)) throw new Error(`${path} is shorter than its header says`);
      return new RingReader(fd, geometry);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The stamp a slot holds now (WRITING while the runner fills it). */
  stampOf(slot: number): number {
    readSync(this.fd, this.stampBytes, 0, 8, slotHeaderOffset(this.geometry, slot));
    return this.stampBytes.readDoubleLE(0);
  }

  /**
   * The bytes of a step's rows (all in one slot, back to back, as the writer puts them), valid until the
   * next read. Throws UNAVAILABLE when the slot does not hold that step before and after the read: it was
   * rewritten meanwhile (the runner gave up on the step), so the bytes could be torn.
   */
  read(rows: readonly RingLocation[]): Uint8Array[] {
    if (rows.length === 0) return [];
    const { slot, stamp } = rows[0];
    const start = rows[0].offset;
    const end = Math.max(...rows.map((row) => row.offset + row.length));
    if (rows.some((row) => row.slot !== slot || row.stamp !== stamp || row.offset < start)) {
      throw new LlmError("invalid_argument", "the ring rows of a step must lie in one slot with one stamp, in order");
    }
    if (!(slot < this.geometry.slots && end <= this.geometry.slotBytes)) {
      throw new LlmError("invalid_argument", `ring row outside slot ${slot} of ${this.geometry.slots}`);
    }
    if (this.buffer.length < end - start) this.buffer = Buffer.alloc(end - start);
    this.expectStamp(slot, stamp, "before");
    const data = slotHeaderOffset(this.geometry, slot) + SLOT_HEADER_BYTES;
    readSync(this.fd, this.buffer, 0, end - start, data + start);
    this.expectStamp(slot, stamp, "after");
    return rows.map((row) => this.buffer.subarray(row.offset - start, row.offset - start + row.length));
  }

  close(): void {
    closeSync(this.fd);
  }

  private expectStamp(slot: number, stamp: number, when: string): void {
    const found = this.stampOf(slot);
    if (found !== stamp) {
      throw new LlmError(
        "unavailable",
        `ring slot ${slot} holds step ${found}, not ${stamp}, ${when} reading: it was rewritten; retry the request`,
      );
    }
  }
}
