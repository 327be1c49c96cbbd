import { LaneGate, poolLane } from '../../../src/db/lanes';

const tick = () => new Promise((r) => setImmediate(r));

describe('LaneGate: interactive work first, background never starved', () => {
  test('waiting interactive work is served before waiting background work, in arrival order', async () => {
    const gate = new LaneGate(1);
    await gate.acquire('background'); // a projection holds the one connection
    const order: string[] = [];
    const waiters = [
      gate.acquire('background').then(() => order.push('b1')),
      gate.acquire('interactive').then(() => order.push('i1')),
      gate.acquire('interactive').then(() => order.push('i2')),
    ];
    for (let k = 0; k < 3; k++) {
      gate.release();
      await tick();
    }
    await Promise.all(waiters);
    expect(order).toEqual(['i1', 'i2', 'b1']);
  });

  test('after four interactive grants in a row, waiting background work goes next', async () => {
    const gate = new LaneGate(1);
    await gate.acquire('interactive');
    const order: string[] = [];
    const waiters = [gate.acquire('background').then(() => order.push('b'))];
    for (let k = 1; k <= 6; k++) waiters.push(gate.acquire('interactive').then(() => order.push(`i${k}`)));
    for (let k = 0; k < 7; k++) {
      gate.release();
      await tick();
    }
    await Promise.all(waiters);
    // The holder was the first interactive grant: three more, then the background waiter.
    expect(order).toEqual(['i1', 'i2', 'i3', 'b', 'i4', 'i5', 'i6']);
    expect(gate.state()).toEqual({ inUse: 1, interactive: 0, background: 0 });
  });

  test('poolLane releases its place once per checkout, also when the connection fails', async () => {
    const gate = new LaneGate(1);
    let connects = 0;
    const released: unknown[] = [];
    const fakePool = {
      connect: async () => {
        connects++;
        if (connects === 2) throw new Error('server gone');
        return { release: (err?: unknown) => void released.push(err ?? null) };
      },
      end: async () => undefined,
      on: () => undefined,
    };
    const lane = poolLane(fakePool as never, gate, 'interactive');
    const c1 = await lane.connect();
    c1.release();
    c1.release(); // a second release reaches pg (which complains there) but not the gate again
    expect(gate.state().inUse).toBe(0);
    await expect(lane.connect()).rejects.toThrow('server gone');
    expect(gate.state().inUse).toBe(0);
    const c3 = await lane.connect();
    expect(gate.state().inUse).toBe(1);
    c3.release(new Error('broken'));
    expect(gate.state().inUse).toBe(0);
    expect(released).toHaveLength(3);
  });
});
