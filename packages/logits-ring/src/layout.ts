// The ring file a model runner shares with a co-located sampler (a file in /dev/shm or a memory-backed
// volume): a header naming it, then `slots` slots, each a 64-byte header holding a stamp and `slotBytes` of
// logits. Little-endian throughout.
//
//   [0, 8)   magic "LLMRING1"      [8, 24)  nonce (the handshake reads it back)
//   [24, 28) slot count (u32)      [32, 40) slot data bytes (f64, an integer)
//   slot i:  header at FILE_HEADER_BYTES + i · (SLOT_HEADER_BYTES + slotBytes); its stamp (f64) at +0,
//            data at +SLOT_HEADER_BYTES.
//
// A slot's stamp is 0 while the runner writes it and the step's stamp once its data is complete; a reader
// that finds the expected stamp both before and after reading the data read a whole step, never a mix.

export const MAGIC = "LLMRING1";
export const NONCE_BYTES = 16;
export const FILE_HEADER_BYTES = 64;
export const SLOT_HEADER_BYTES = 64;
/** The stamp of a slot being written. */
export const WRITING = 0;

export interface RingGeometry {
  slots: number;
  /** Data bytes per slot: the largest step (rows × vocabulary × bytes per value) that goes through the ring. */
  slotBytes: number;
}

/** Where a row lies in the ring, as RingRow carries it on the Sample stream. */
export interface RingLocation {
  slot: number;
  stamp: number;
  /** Byte offset from the start of the slot's data. */
  offset: number;
  length: number;
}

export function slotHeaderOffset(geometry: RingGeometry, slot: number): number {
  return FILE_HEADER_BYTES + slot * (SLOT_HEADER_BYTES + geometry.slotBytes);
}

export function fileBytes(geometry: RingGeometry): number {
  return slotHeaderOffset(geometry, geometry.slots);
}
