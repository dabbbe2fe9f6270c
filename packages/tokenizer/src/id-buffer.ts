/** A growable list of token ids backed by a Uint32Array (no boxing, amortised O(1) appends). */
export class IdBuffer {
  private data: Uint32Array;
  length = 0;

  constructor(initialCapacity: number) {
    this.data = new Uint32Array(Math.max(16, initialCapacity));
  }

  push(id: number): void {
    if (this.length === this.data.length) this.grow(1);
    this.data[this.length++] = id;
  }

  pushAll(ids: Uint32Array): void {
    if (this.length + ids.length > this.data.length) this.grow(ids.length);
    const data = this.data;
    let at = this.length;
    for (let i = 0; i < ids.length; i++) data[at++] = ids[i];
    this.length = at;
  }

  /** The ids as an exactly-sized array (a copy, so the buffer's spare capacity is not kept alive). */
  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }

  private grow(extra: number): void {
    const grown = new Uint32Array(Math.max(this.data.length * 2, this.length + extra));
    grown.set(this.data);
    this.data = grown;
  }
}
