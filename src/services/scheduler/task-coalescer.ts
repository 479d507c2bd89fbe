import { MAX_TASKS_PER_MESSAGE, type TaskMessage } from '../../events/task.js';

/** Sends tasks of one group as one task message; resolves once it is stored. */
export type SendTasks = (group: string, tasks: TaskMessage[]) => Promise<void>;

export interface TaskCoalescer {
  /**
   * Queues a task for the end of this turn of the event loop. Resolves once the message carrying
   * it is stored, with whether that message carried other tasks too (it then went out under that
   * message's id, not the task's own).
   */
  publish(group: string, task: TaskMessage): Promise<boolean>;
}

interface Queued {
  task: TaskMessage;
  resolve(shared: boolean): void;
  reject(err: unknown): void;
}

/**
 * The first-attempt tasks of single fires made during one turn of the event loop, sent together
 * at the end of it: per worker group, up to {@link MAX_TASKS_PER_MESSAGE} in one task message. A
 * tick shared by many jobs (say 10,000 cron jobs) fires each job on its own, and sending each fire's
 * task alone cost a message to store, deliver and ack per fire.
 */
export function createTaskCoalescer(send: SendTasks): TaskCoalescer {
  const pending = new Map<string, Queued[]>();
  let flushQueued = false;

  function flush(): void {
    flushQueued = false;
    const groups = [...pending];
    pending.clear();
    for (const [group, queued] of groups) {
      for (let i = 0; i < queued.length; i += MAX_TASKS_PER_MESSAGE) {
        const chunk = queued.slice(i, i + MAX_TASKS_PER_MESSAGE);
        const shared = chunk.length > 1;
        send(
          group,
          chunk.map((q) => q.task),
        ).then(
          () => {
            for (const q of chunk) q.resolve(shared);
          },
          (err: unknown) => {
            for (const q of chunk) q.reject(err);
          },
        );
      }
    }
  }

  return {
    publish(group, task) {
      return new Promise<boolean>((resolve, reject) => {
        let queued = pending.get(group);
        if (!queued) pending.set(group, (queued = []));
        queued.push({ task, resolve, reject });
        if (!flushQueued) {
          flushQueued = true;
          setImmediate(flush);
        }
      });
    },
  };
}
