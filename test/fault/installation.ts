import { afterAll, beforeAll } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { silent } from '../scheduler/helpers.js';
import { uniquePrefix, type NatsTestCluster } from '../support/nats.js';
import { defaultLogDir, ensureBuilt, killAll } from './processes.js';

/** What a fault test file runs its processes in: set in its beforeAll. */
export interface FaultInstallation {
  /** The harness's own runtime (replicas 3), for commands and reading the stream. */
  readonly rt: Runtime;
  readonly prefix: string;
  /** Where the children's output goes: FAULT_LOG_DIR, else $TMPDIR/jetsched-fault/<prefix>. */
  readonly logDir: string;
}

/**
 * A fresh installation (its own prefix) on the file's cluster, with the CLI built for the child
 * processes; after the file, every child is SIGKILLed and the runtime closed.
 */
export function useFaultInstallation(cluster: NatsTestCluster, label: string): FaultInstallation {
  let made: FaultInstallation | undefined;
  beforeAll(async () => {
    const build = ensureBuilt();
    if (build.warning) console.warn(`[fault] ${build.warning}`);
    const prefix = uniquePrefix(label);
    const logDir = process.env['FAULT_LOG_DIR'] ?? defaultLogDir(prefix);
    const rt = await openRuntime({
      nats: { servers: cluster.url },
      prefix,
      replicas: 3,
      log: silent,
    });
    made = { rt, prefix, logDir };
  });
  afterAll(async () => {
    await killAll();
    await made?.rt.close();
  });
  const get = (): FaultInstallation => {
    if (!made) throw new Error('the fault installation is made in beforeAll: use it inside tests');
    return made;
  };
  return {
    get rt() {
      return get().rt;
    },
    get prefix() {
      return get().prefix;
    },
    get logDir() {
      return get().logDir;
    },
  };
}
