// Group commit: writes of one kind that arrive while an earlier one is in flight are collected and
// written together by the next statement, as databases group their WAL flushes. With few connections
// (the embedded PGlite serves one) a burst of single-row writes otherwise queues behind itself, each
// paying a whole round trip; grouped, the burst costs one round trip per group. At low load nothing
// waits: a write with nothing in flight goes at once, alone.
//
// A failing group never fails its neighbours: when a group of several fails, each of its items is
// written again on its own, so only the bad one sees the error.

export class GroupCommit<I, O> {
  private readonly queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = false;

  /**
   * @param write writes a group, returning one result per item, in order
   * @param maxGroup the most items in one statement
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxGroup = 50,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.maxGroup);
        try {
          const out = await this.writeChecked(group.map((g) => g.item));
          group.forEach((g, i) => g.resolve(out[i]!));
        } catch (err) {
          if (group.length === 1) {
            group[0]!.reject(err);
            continue;
          }
          for (const g of group) {
            try {
              g.resolve((await this.writeChecked([g.item]))[0]!);
            } catch (e) {
              g.reject(e);
            }
          }
        }
      }
    } finally {
      this.inFlight = false;
    }
  }

  private async writeChecked(items: I[]): Promise<O[]> {
    const out = await this.write(items);
    if (out.length !== items.length) throw new Error(`group write returned ${out.length} results for ${items.length} items`);
    return out;
  }
}
