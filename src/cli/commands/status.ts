import type { Command } from 'commander';
import Table from 'cli-table3';
import type { Runtime } from '../../services/runtime.js';
import { subjects } from '../../events/subjects.js';
import type { CliDeps } from '../deps.js';
import { writeLine } from '../output.js';

interface Member {
  kind: 'scheduler' | 'worker';
  id: string;
  group?: string;
  running?: number;
  capacity?: number;
  folded?: [number, number][];
}

export interface Status {
  members: Member[];
  partitions: {
    partition: number;
    owner?: string;
    lastSeq: number;
    foldedSeq?: number;
    lag?: number;
  }[];
}

/** The scheduler a lease value names; a value that is not a lease's is shown as such, not thrown. */
function leaseOwner(value: string): string {
  try {
    const owner = (JSON.parse(value) as { owner?: unknown } | null)?.owner;
    if (typeof owner === 'string') return owner;
  } catch {
    // below
  }
  return '(not a lease value)';
}

/** Members from the heartbeat bucket, owners from the lease bucket, lag from the stream. */
export async function readStatus(rt: Runtime): Promise<Status> {
  const members: Member[] = [];
  for await (const key of await rt.buckets.heartbeats.keys()) {
    const e = await rt.buckets.heartbeats.get(key);
    if (!e || e.operation !== 'PUT') continue;
    try {
      members.push(e.json<Member>());
    } catch {
      members.push({
        kind: key.startsWith('worker.') ? 'worker' : 'scheduler',
        id: key.slice(key.indexOf('.') + 1),
      });
    }
  }
  const folded = new Map<number, number>();
  for (const m of members) for (const [p, seq] of m.folded ?? []) folded.set(p, seq);
  const partitions: Status['partitions'] = [];
  for (let p = 0; p < rt.partitions; p++) {
    const lease = await rt.buckets.leases.get(`p.${p}`);
    const owner = lease?.operation === 'PUT' ? leaseOwner(lease.string()) : undefined;
    const lastSeq = await rt.store.lastSeq(subjects.partition(rt.names, p));
    const foldedSeq = folded.get(p);
    partitions.push({
      partition: p,
      lastSeq,
      ...(owner && { owner }),
      ...(foldedSeq !== undefined && { foldedSeq, lag: Math.max(0, lastSeq - foldedSeq) }),
    });
  }
  members.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  return { members, partitions };
}

export function registerStatus(program: Command, deps: CliDeps): void {
  program
    .command('status')
    .description('members (schedulers, workers), partition owners and projection lag')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const status = await readStatus(rt);
        const out = (line: string) => writeLine(deps.stdout, line);
        if (o.json) return out(JSON.stringify(status));
        const members = new Table({
          head: ['kind', 'id', 'group', 'running/capacity', 'partitions'],
        });
        for (const m of status.members) {
          members.push([
            m.kind,
            m.id,
            m.group ?? '',
            m.kind === 'worker' ? `${m.running ?? '?'}/${m.capacity ?? '?'}` : '',
            m.kind === 'scheduler' ? String(m.folded?.length ?? 0) : '',
          ]);
        }
        await out(members.toString());
        const parts = new Table({ head: ['partition', 'owner', 'last seq', 'folded', 'lag'] });
        for (const p of status.partitions) {
          parts.push([
            String(p.partition),
            p.owner ?? '(none)',
            String(p.lastSeq),
            String(p.foldedSeq ?? '-'),
            String(p.lag ?? '-'),
          ]);
        }
        await out(parts.toString());
      });
    });
}
