// The runner's side of the ring: one file per Sample stream, written with positioned writes (pwritev), no
// native addon. The file is unlinked once the sampler answered the offer: both processes keep their open
// descriptors, and nothing is left in /dev/shm when either of them dies.
import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, openSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { join } from "node:path";
import {
  FILE_HEADER_BYTES,
  fileBytes,
  MAGIC,
  NONCE_BYTES,
  type RingGeometry,
  type RingLocation,
  SLOT_HEADER_BYTES,
  slotHeaderOffset,
  WRITING,
} from "./layout.js";

export class RingWriter {
  readonly nonce = randomBytes(NONCE_BYTES);
  private readonly fd: number;
  private readonly stampBytes = Buffer.alloc(8);
  private nextSlot = 0;
  private nextStamp = 1;
  private linked = true;

  /** Creates the ring file in `dir` (throws if it cannot: the caller falls back to the network). */
  constructor(
    dir: string,
    readonly geometry: RingGeometry,
    readonly path = join(dir, `llm-logits-${process.pid}-${randomBytes(6).toString("hex")}`),
  ) {
    // Readable by others: a sidecar may run as another user (the CUDA runner image is 10001, the sampler 1000).
    this.fd = openSync(path, "wx+", 0o644);
    try {
      ftruncateSync(this.fd, fileBytes(geometry));
      const header = Buffer.alloc(FILE_HEADER_BYTES);
      header.write(MAGIC, 0, "latin1");
      this.nonce.copy(header, 8);
      header.writeUInt32LE(geometry.slots, 24);
      header.writeDoubleLE(geometry.slotBytes, 32);
      writeSync(this.fd, header, 0, header.length, 0);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Whether a step of `bytes` fits in one slot. */
  fits(bytes: number): boolean {
    return bytes <= this.geometry.slotBytes;
  }

  /** Writes a step's rows back to back into the next slot; returns where each lies. */
  writeStep(rows: readonly Uint8Array[]): RingLocation[] {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % this.geometry.slots;
    const stamp = this.nextStamp++;
    const header = slotHeaderOffset(this.geometry, slot);
    this.writeStamp(header, WRITING);
    writevSync(this.fd, rows as Uint8Array[], header + SLOT_HEADER_BYTES);
    this.writeStamp(header, stamp);
    let offset = 0;
    return rows.map((row) => {
      const location = { slot, stamp, offset, length: row.byteLength };
      offset += row.byteLength;
      return location;
    });
  }

  /** Removes the file's name (open descriptors keep working). */
  unlink(): void {
    if (!this.linked) return;
    this.linked = false;
    unlinkSync(this.path);
  }

  close(): void {
    if (this.linked) this.unlink();
    closeSync(this.fd);
  }

  private writeStamp(position: number, stamp: number): void {
    this.stampBytes.writeDoubleLE(stamp, 0);
    writeSync(this.fd, this.stampBytes, 0, 8, position);
  }
}
