import type { ScheduleState } from './state.js';

/** A live fold of one partition (jobs and instances), as a scheduler replica keeps it. */
export interface PartitionFold {
  readonly state: ScheduleState;
  /** Resolves once the fold has reached `seq`; rejects after `timeoutMs` or when the fold stops. */
  waitForSeq(seq: number, timeoutMs?: number): Promise<void>;
  /** `seq` is known to be stored: a consumer that does not deliver it is replaced in about a second. */
  expect(seq: number): void;
}

/** The partitions a process folds anyway (its scheduler's, once caught up), for others to read. */
export interface LocalFolds {
  /** The ready fold of a partition, or undefined when the process keeps none now. */
  foldOf(partition: number): PartitionFold | undefined;
  /** Called whenever a partition's fold becomes ready or goes away. */
  onChange(listener: () => void): void;
}
